//! MLP: a multilayer perceptron on the flattened input window and exogenous variables
//! (NeuralForecast's `MLP`).
//!
//! `ŷ = W_out · relu(W_k · … relu(W_1 · [y_{t-L..t} | X_hist | X_futr | S]))`, reshaped to `[h, outputs]`.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// MLP's own options.
#[derive(Clone, Debug)]
pub struct MlpOptions {
    pub num_layers: usize,
    pub hidden_size: usize,
}

pub struct Mlp {
    h: usize,
    outputs: usize,
    layers: Vec<Linear>,
    out: Linear,
}

/// Inputs of the first layer: the window, then each exogenous variable over its span (saturating,
/// so that absurd sizes are refused by the memory check rather than wrapped).
fn first_in(c: &CommonOptions) -> usize {
    let (l, h) = (c.input_size, c.h);
    let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
    l.saturating_add(nx.saturating_mul(l)).saturating_add(nf.saturating_mul(l.saturating_add(h))).saturating_add(ns)
}

impl Spec for MlpOptions {
    const CLASS: &'static str = "MLP";
    const DEFAULTS: Defaults = Defaults::BASE;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Mlp;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(MlpOptions { num_layers: r.usize_min("numLayers", 2, 1)?, hidden_size: r.usize_min("hiddenSize", 1024, 1)? })
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([("numLayers", json!(self.num_layers)), ("hiddenSize", json!(self.hidden_size))])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (i, hs, o, n) = (first_in(c) as f64, self.hidden_size as f64, c.h as f64 * outputs as f64, self.num_layers as f64);
        Footprint {
            params: (i + 1.0) * hs + (n - 1.0) * (hs + 1.0) * hs + (hs + 1.0) * o,
            // The input, and each layer's output before and after its activation.
            per_window: i + 2.0 * n * hs + o,
        }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Mlp {
        let mut layers = vec![Linear::new(first_in(c), self.hidden_size, true, rng)];
        for _ in 1..self.num_layers {
            layers.push(Linear::new(self.hidden_size, self.hidden_size, true, rng));
        }
        let out = Linear::new(self.hidden_size, c.h * outputs, true, rng);
        Mlp { h: c.h, outputs, layers, out }
    }
}

impl Module for Mlp {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "mlp"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

impl Network for Mlp {
    fn forward(&self, batch: &Batch, _ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        let mut parts = vec![batch.insample_y.clone()];
        for x in [&batch.hist_exog, &batch.futr_exog, &batch.stat_exog].into_iter().flatten() {
            parts.push(x.reshape(&[b, usize::MAX]));
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 1) };
        for layer in &self.layers {
            x = layer.forward(&x).relu();
        }
        self.out.forward(&x).reshape(&[b, self.h, self.outputs])
    }
    fn rows_independent(&self) -> bool {
        true
    }
}

//! MLPMultivariate: NeuralForecast's MLP over all series at once. The windows of every series,
//! their exogenous variables and the statics are flattened into one vector per time window,
//! `num_layers × (Linear → ReLU)`, and one Linear emits `h` steps of every series.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{multivariate, Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

#[derive(Clone, Debug)]
pub struct MlpMultivariateOptions {
    pub num_layers: usize,
    pub hidden_size: usize,
}

pub struct MlpMultivariate {
    h: usize,
    layers: Vec<Linear>,
    out: Linear,
}

/// Inputs of the first layer: per series, the window, each exogenous variable over its span and
/// the statics.
fn first_in(c: &CommonOptions) -> usize {
    let (l, h, n) = (c.input_size, c.h, c.n_series.unwrap_or(1));
    n * (l + c.hist_exog_list.len() * l + c.futr_exog_list.len() * (l + h) + c.stat_exog_list.len())
}

impl Spec for MlpMultivariateOptions {
    const CLASS: &'static str = "MLPMultivariate";
    const DEFAULTS: Defaults = multivariate::DEFAULTS;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: true };
    type Net = MlpMultivariate;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(MlpMultivariateOptions { num_layers: r.usize_min("numLayers", 2, 1)?, hidden_size: r.usize_min("hiddenSize", 1024, 1)? })
    }
    fn check(&self, c: &CommonOptions) -> Result<()> {
        multivariate::check(Self::CLASS, Self::CAPABILITIES, c)
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([("numLayers", json!(self.num_layers)), ("hiddenSize", json!(self.hidden_size))])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let n = c.n_series.unwrap_or(1) as f64;
        let (i, hs, o, k) = (first_in(c) as f64, self.hidden_size as f64, c.h as f64 * outputs as f64 * n, self.num_layers as f64);
        Footprint { params: (i + 1.0) * hs + (k - 1.0) * (hs + 1.0) * hs + (hs + 1.0) * o, per_window: i + 2.0 * k * hs + o }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> MlpMultivariate {
        let n = c.n_series.unwrap_or(1);
        let mut layers = vec![Linear::new(first_in(c), self.hidden_size, true, rng)];
        for _ in 1..self.num_layers {
            layers.push(Linear::new(self.hidden_size, self.hidden_size, true, rng));
        }
        let out = Linear::new(self.hidden_size, c.h * outputs * n, true, rng);
        MlpMultivariate { h: c.h, layers, out }
    }
}

impl Module for MlpMultivariate {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "mlp"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

impl Network for MlpMultivariate {
    /// `insample_y [B, L, N]`, `hist_exog [B, X, L, N]`, `futr_exog [B, F, L + h, N]`,
    /// `stat_exog [N, S]` → `[B, h, N·m]`.
    fn forward(&self, batch: &Batch, _ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        let mut parts = vec![batch.insample_y.reshape(&[b, usize::MAX])];
        for x in [&batch.hist_exog, &batch.futr_exog].into_iter().flatten() {
            parts.push(x.reshape(&[b, usize::MAX]));
        }
        if let Some(s) = &batch.stat_exog {
            // The same statics for every window: [N, S] → [B, N·S].
            parts.push(s.reshape(&[1, s.numel()]).broadcast_to(&[b, s.numel()]));
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 1) };
        for layer in &self.layers {
            x = layer.forward(&x).relu();
        }
        self.out.forward(&x).reshape(&[b, self.h, usize::MAX])
    }
}

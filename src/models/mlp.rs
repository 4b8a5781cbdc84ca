//! MLP: a multilayer perceptron on the flattened input window and exogenous variables
//! (NeuralForecast's `MLP`).
//!
//! `ŷ = W_out · relu(W_k · … relu(W_1 · [y_{t-L..t} | X_hist | X_futr | S]))`, reshaped to `[h, outputs]`.

use serde_json::{json, Value};

use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Model};
use crate::error::Result;
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub const DEFAULTS: Defaults =
    Defaults { max_steps: 1000, learning_rate: 1e-3, num_lr_decays: -1, windows_batch_size: 1024, inference_windows_batch_size: None, scaler_type: "identity" };

pub struct Mlp {
    common: CommonOptions,
    num_layers: usize,
    hidden_size: usize,
    outputs: usize,
    layers: Vec<Linear>,
    out: Linear,
}

impl Mlp {
    pub fn from_options(options: &Value, outputs: usize) -> Result<Mlp> {
        let mut r = OptionReader::new("MLP", options)?;
        let common = CommonOptions::read(&mut r, DEFAULTS)?;
        let num_layers = r.usize_min("numLayers", 2, 1)?;
        let hidden_size = r.usize_min("hiddenSize", 1024, 1)?;
        r.finish()?;
        let (l, h) = (common.input_size, common.h);
        let first_in = l
            + common.hist_exog_list.len() * l
            + common.futr_exog_list.len() * (l + h)
            + common.stat_exog_list.len();
        let mut rng = Rng::seed(common.random_seed);
        let mut layers = vec![Linear::new(first_in, hidden_size, true, &mut rng)];
        for _ in 1..num_layers {
            layers.push(Linear::new(hidden_size, hidden_size, true, &mut rng));
        }
        let out = Linear::new(hidden_size, h * outputs, true, &mut rng);
        Ok(Mlp { common, num_layers, hidden_size, outputs, layers, out })
    }
}

impl Module for Mlp {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "mlp"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

impl Model for Mlp {
    fn class_name(&self) -> &'static str {
        "MLP"
    }
    fn common(&self) -> &CommonOptions {
        &self.common
    }
    fn options_json(&self) -> Value {
        let mut v = self.common.to_json();
        v["numLayers"] = json!(self.num_layers);
        v["hiddenSize"] = json!(self.hidden_size);
        v
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false }
    }
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
        self.out.forward(&x).reshape(&[b, self.common.h, self.outputs])
    }
}

//! DeepNPTS (Rangapuram et al., 2023; NeuralForecast's `DeepNPTS`): an MLP reads the window and
//! its exogenous values and gives, for every horizon step, softmax weights over the `inputSize`
//! past values; the forecast is their weighted average, `ŷ_{t+k} = Σ_τ softmax_τ(w_k)·y_τ`.
//!
//! As NeuralForecast 3.3.0 this is the deterministic point-forecast version (the paper's sampling
//! from the weighted empirical distribution is not done), so only point losses are accepted.
//! Deviations from NeuralForecast, where it would fail obscurely or silently:
//! - a DistributionLoss `loss` is refused even when its distribution has one parameter (Poisson),
//!   which NeuralForecast lets through although its forecast is not a distribution's parameter;
//! - `nLayers` must be >= 1 (with 0 NeuralForecast's single Linear expects `hiddenSize` inputs).

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, BatchNorm1d, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

const CLASS: &str = "DeepNPTS";

/// DeepNPTS's own options.
#[derive(Clone, Debug)]
pub struct DeepNptsOptions {
    pub hidden_size: usize,
    pub batch_norm: bool,
    pub dropout: f64,
    pub n_layers: usize,
}

/// Inputs of the MLP: per history step the target, future and historical exogenous values; the
/// statics; the future exogenous values over the horizon (saturating: absurd sizes are refused by
/// the memory check, not wrapped).
fn input_dim(c: &CommonOptions) -> usize {
    let (l, h) = (c.input_size, c.h);
    let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
    l.saturating_mul(1 + nf + nx).saturating_add(ns).saturating_add(h.saturating_mul(nf))
}

impl Spec for DeepNptsOptions {
    const CLASS: &'static str = CLASS;
    const DEFAULTS: Defaults = Defaults { num_lr_decays: 3, scaler_type: "standard", valid_loss: Some("MAE"), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = DeepNpts;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(DeepNptsOptions {
            hidden_size: r.usize_min("hiddenSize", 32, 1)?,
            batch_norm: r.bool("batchNorm", true)?,
            dropout: r.f64_in("dropout", 0.1, 0.0, 1.0, false)?,
            n_layers: r.usize_min("nLayers", 2, 1)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        if c.exclude_insample_y == Some(true) {
            return Err(Error::type_err(format!("{CLASS} option 'excludeInsampleY': {CLASS} has no possibility for excluding y (its forecast is a weighted average of the window's values)")));
        }
        let loss = c.loss();
        if loss.outputs() > 1 || loss.is_distribution() {
            return Err(Error::type_err(format!(
                "{CLASS} only supports point loss functions (MAE, MSE, etc) as loss function (option 'loss' is {})",
                loss.class_name()
            )));
        }
        if c.valid_loss().is_distribution() {
            return Err(Error::type_err(format!("{CLASS} only supports point loss functions (MAE, MSE, etc) as valid loss function (option 'validLoss')")));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hiddenSize", json!(self.hidden_size)),
            ("batchNorm", json!(self.batch_norm)),
            ("dropout", json!(self.dropout)),
            ("nLayers", json!(self.n_layers)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, _outputs: usize) -> Footprint {
        let (i, hs, n, lh) = (input_dim(c) as f64, self.hidden_size as f64, self.n_layers as f64, c.input_size as f64 * c.h as f64);
        // Weight, bias and the two running statistics of each BatchNorm.
        let norm = if self.batch_norm { 4.0 * hs } else { 0.0 };
        let params = (i + 1.0) * hs + (n - 1.0) * (hs + 1.0) * hs + n * norm + (hs + 1.0) * lh;
        // The input; per layer its output, activation, norm and dropout; logits, weights and the forecast.
        let per_window = i + 4.0 * n * hs + 2.0 * lh + c.h as f64;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, _outputs: usize, rng: &mut Rng) -> DeepNpts {
        let hs = self.hidden_size;
        let layers = (0..self.n_layers)
            .map(|i| Layer {
                linear: Linear::new(if i == 0 { input_dim(c) } else { hs }, hs, true, rng),
                norm: self.batch_norm.then(|| BatchNorm1d::new(hs)),
            })
            .collect();
        let out = Linear::new(hs, c.input_size * c.h, true, rng);
        DeepNpts { h: c.h, dropout: self.dropout as f32, layers, out }
    }
}

/// One `Linear → ReLU → BatchNorm1d → Dropout` unit of NeuralForecast's Sequential.
struct Layer {
    linear: Linear,
    norm: Option<BatchNorm1d>,
}

/// The DeepNPTS network.
pub struct DeepNpts {
    h: usize,
    dropout: f32,
    layers: Vec<Layer>,
    out: Linear,
}

impl DeepNpts {
    /// Index of each module in NeuralForecast's `deepnptsnetwork` Sequential (ReLU and Dropout
    /// hold no weights but take a place).
    fn sequential_indices(&self) -> (Vec<(usize, Option<usize>)>, usize) {
        let mut at = 0;
        let mut indices = Vec::new();
        for layer in &self.layers {
            let linear = at;
            at += 2;
            let norm = layer.norm.as_ref().map(|_| {
                at += 1;
                at - 1
            });
            if self.dropout > 0.0 {
                at += 1;
            }
            indices.push((linear, norm));
        }
        (indices, at)
    }
}

impl Module for DeepNpts {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        let net = join(prefix, "deepnptsnetwork");
        let (indices, out) = self.sequential_indices();
        for (layer, (linear, norm)) in self.layers.iter().zip(indices) {
            layer.linear.visit(&join(&net, &linear.to_string()), f);
            if let (Some(bn), Some(i)) = (&layer.norm, norm) {
                bn.visit(&join(&net, &i.to_string()), f);
            }
        }
        self.out.visit(&join(&net, &out.to_string()), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        let net = join(prefix, "deepnptsnetwork");
        let (indices, _) = self.sequential_indices();
        for (layer, (_, norm)) in self.layers.iter().zip(indices) {
            if let (Some(bn), Some(i)) = (&layer.norm, norm) {
                bn.visit_buffers(&join(&net, &i.to_string()), f);
            }
        }
    }
}

impl Network for DeepNpts {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let y = &batch.insample_y;
        let (b, l) = (y.dim(0), y.dim(1));
        // Per history step `[y | futr | hist]`, flattened step-major as NeuralForecast's reshape.
        let mut steps = vec![y.reshape(&[b, l, 1])];
        if let Some(f) = &batch.futr_exog {
            steps.push(f.narrow(1, 0, l));
        }
        if let Some(x) = &batch.hist_exog {
            steps.push(x.clone());
        }
        let per_step = if steps.len() == 1 { steps.pop().unwrap() } else { Tensor::concat(&steps, 2) };
        let mut parts = vec![per_step.reshape(&[b, usize::MAX])];
        if let Some(s) = &batch.stat_exog {
            parts.push(s.clone());
        }
        if let Some(f) = &batch.futr_exog {
            parts.push(f.narrow(1, l, self.h).reshape(&[b, usize::MAX]));
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 1) };
        for layer in &self.layers {
            x = layer.linear.forward(&x).relu();
            if let Some(bn) = &layer.norm {
                x = bn.forward(&x, ctx.train);
            }
            x = x.dropout(self.dropout, ctx.train, ctx.rng);
        }
        // Logits `[B, L, h]` (NeuralForecast's layout), softmax over the history for each step.
        let weights = self.out.forward(&x).reshape(&[b, l, self.h]).transpose(1, 2).softmax();
        weights.matmul(&y.reshape(&[b, l, 1]))
    }
}

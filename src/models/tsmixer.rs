//! TSMixer (Chen et al., 2023) as NeuralForecast builds it: all series' windows, RevIN-normalised
//! per series (`revin`), go through `nBlock` mixing layers, each a temporal MLP (mixing time
//! steps, shared across series) and a feature MLP (mixing series, shared across time steps),
//! with BatchNorm over the flattened (series × time) features and residual connections; one
//! Linear maps the input length to the horizon.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{multivariate, Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, BatchNorm1d, Ctx, Linear, Module, RevinMultivariate};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast's TSMixer BatchNorm settings.
const BN_EPS: f32 = 1e-3;
const BN_MOMENTUM: f32 = 0.01;

#[derive(Clone, Debug)]
pub struct TsMixerOptions {
    pub n_block: usize,
    pub ff_dim: usize,
    pub dropout: f64,
    pub revin: bool,
}

/// Mixes time steps: `x + dropout(relu(Linear_L(BN(x))))` applied to each series' window.
struct TemporalMixing {
    norm: BatchNorm1d,
    lin: Linear,
}

/// Mixes series: `x + dropout(Linear_ff→N(dropout(relu(Linear_N→ff(BN(x))))))` at each time step.
struct FeatureMixing {
    norm: BatchNorm1d,
    lin_1: Linear,
    lin_2: Linear,
}

struct MixingLayer {
    temporal: TemporalMixing,
    feature: FeatureMixing,
}

pub struct TsMixer {
    h: usize,
    dropout: f32,
    norm: Option<RevinMultivariate>,
    layers: Vec<MixingLayer>,
    out: Linear,
}

impl Spec for TsMixerOptions {
    const CLASS: &'static str = "TSMixer";
    const DEFAULTS: Defaults = multivariate::DEFAULTS;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: true };
    type Net = TsMixer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(TsMixerOptions {
            n_block: r.usize_min("nBlock", 2, 1)?,
            ff_dim: r.usize_min("ffDim", 64, 1)?,
            dropout: r.f64_in("dropout", 0.9, 0.0, 1.0, false)?,
            revin: r.bool("revin", true)?,
        })
    }
    fn check(&self, c: &CommonOptions) -> Result<()> {
        multivariate::check(Self::CLASS, Self::CAPABILITIES, c)
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("nBlock", json!(self.n_block)),
            ("ffDim", json!(self.ff_dim)),
            ("dropout", json!(self.dropout)),
            ("revin", json!(self.revin)),
        ])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (n, l, ff, k) = (c.n_series.unwrap_or(1) as f64, c.input_size as f64, self.ff_dim as f64, self.n_block as f64);
        // Two BatchNorms over N·L features (weight, bias, running mean and variance), the
        // temporal Linear, the two feature Linears.
        let per_block = 8.0 * n * l + (l + 1.0) * l + (n + 1.0) * ff + (ff + 1.0) * n;
        Footprint {
            params: k * per_block + (l + 1.0) * c.h as f64 * outputs as f64 + if self.revin { 2.0 * n } else { 0.0 },
            // Per block: norms, linear outputs, activations and dropout masks over [L, N] and [L, ff].
            per_window: k * (8.0 * n * l + 3.0 * l * ff) + 2.0 * n * c.h as f64 * outputs as f64,
        }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> TsMixer {
        let (n, l) = (c.n_series.unwrap_or(1), c.input_size);
        let norm = self.revin.then(|| RevinMultivariate::new(n));
        let layers = (0..self.n_block)
            .map(|_| MixingLayer {
                temporal: TemporalMixing { norm: BatchNorm1d::with(n * l, BN_EPS, BN_MOMENTUM), lin: Linear::new(l, l, true, rng) },
                feature: FeatureMixing {
                    norm: BatchNorm1d::with(n * l, BN_EPS, BN_MOMENTUM),
                    lin_1: Linear::new(n, self.ff_dim, true, rng),
                    lin_2: Linear::new(self.ff_dim, n, true, rng),
                },
            })
            .collect();
        let out = Linear::new(l, c.h * outputs, true, rng);
        TsMixer { h: c.h, dropout: self.dropout as f32, norm, layers, out }
    }
}

impl TemporalMixing {
    fn forward(&self, x: &Tensor, p: f32, ctx: &mut Ctx) -> Tensor {
        let (b, l, n) = (x.dim(0), x.dim(1), x.dim(2));
        let z = x.permute(&[0, 2, 1]).reshape(&[b, n * l]);
        let z = self.norm.forward(&z, ctx.train).reshape(&[b, n, l]);
        let z = self.lin.forward(&z).relu().permute(&[0, 2, 1]);
        z.dropout(p, ctx.train, ctx.rng).add(x)
    }
}

impl FeatureMixing {
    fn forward(&self, x: &Tensor, p: f32, ctx: &mut Ctx) -> Tensor {
        let (b, l, n) = (x.dim(0), x.dim(1), x.dim(2));
        let z = self.norm.forward(&x.reshape(&[b, l * n]), ctx.train).reshape(&[b, l, n]);
        let z = self.lin_1.forward(&z).relu().dropout(p, ctx.train, ctx.rng);
        self.lin_2.forward(&z).dropout(p, ctx.train, ctx.rng).add(x)
    }
}

impl Module for TsMixer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(norm) = &self.norm {
            norm.visit(&join(prefix, "norm"), f);
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let p = join(prefix, &format!("mixing_layers.{i}"));
            layer.temporal.norm.visit(&join(&p, "temporal_mixer.temporal_norm"), f);
            layer.temporal.lin.visit(&join(&p, "temporal_mixer.temporal_lin"), f);
            layer.feature.norm.visit(&join(&p, "feature_mixer.feature_norm"), f);
            layer.feature.lin_1.visit(&join(&p, "feature_mixer.feature_lin_1"), f);
            layer.feature.lin_2.visit(&join(&p, "feature_mixer.feature_lin_2"), f);
        }
        self.out.visit(&join(prefix, "out"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (i, layer) in self.layers.iter().enumerate() {
            let p = join(prefix, &format!("mixing_layers.{i}"));
            layer.temporal.norm.visit_buffers(&join(&p, "temporal_mixer.temporal_norm"), f);
            layer.feature.norm.visit_buffers(&join(&p, "feature_mixer.feature_norm"), f);
        }
    }
}

impl Network for TsMixer {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let x = &batch.insample_y;
        let b = x.dim(0);
        let (mut x, stats) = match &self.norm {
            Some(norm) => {
                let (y, s) = norm.norm(x);
                (y, Some(s))
            }
            None => (x.clone(), None),
        };
        for layer in &self.layers {
            x = layer.temporal.forward(&x, self.dropout, ctx);
            x = layer.feature.forward(&x, self.dropout, ctx);
        }
        // [B, L, N] → [B, N, h·m] → [B, h·m, N], denormalised per series.
        let mut y = self.out.forward(&x.permute(&[0, 2, 1])).permute(&[0, 2, 1]);
        if let (Some(norm), Some(s)) = (&self.norm, &stats) {
            y = norm.denorm(&y, s);
        }
        y.reshape(&[b, self.h, usize::MAX])
    }
}

//! TSMixerx (Chen et al., 2023) as NeuralForecast builds it: TSMixer with exogenous variables.
//! The RevIN-normalised windows of all series and their historic and future exogenous variables
//! are projected from the input length to the horizon, mixed into `ffDim` features, joined by the
//! mixed future horizon values and statics, and passed through mixing layers that work on
//! `[h, features]` with post-residual LayerNorm over both axes; with statics every block
//! re-injects them through its own feature mixer.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{multivariate, Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, Ctx, LayerNorm, Linear, Module, RevinMultivariate};
use crate::rng::Rng;
use crate::tensor::Tensor;

#[derive(Clone, Debug)]
pub struct TsMixerxOptions {
    pub n_block: usize,
    pub ff_dim: usize,
    pub dropout: f64,
    pub revin: bool,
}

/// `LayerNorm_{h,C}(x + dropout(relu(Linear_h(x))))`, mixing the horizon steps of each feature.
struct TemporalMixing {
    lin: Linear,
    norm: LayerNorm,
}

/// `LayerNorm_{h,out}(proj(x) + dropout(Linear_ff→out(dropout(relu(Linear_in→ff(x))))))`, `proj`
/// a Linear only when in ≠ out.
struct FeatureMixing {
    lin_1: Linear,
    lin_2: Linear,
    project_residual: Option<Linear>,
    norm: LayerNorm,
}

struct MixingLayer {
    /// Present in blocks that re-inject the statics.
    stat: Option<FeatureMixing>,
    temporal: TemporalMixing,
    feature: FeatureMixing,
}

pub struct TsMixerx {
    h: usize,
    dropout: f32,
    norm: Option<RevinMultivariate>,
    temporal_projection: Linear,
    feature_mixer_hist: FeatureMixing,
    feature_mixer_futr: Option<FeatureMixing>,
    feature_mixer_stat: Option<FeatureMixing>,
    first_mixing: MixingLayer,
    blocks: Vec<MixingLayer>,
    out: Linear,
}

impl TemporalMixing {
    fn new(features: usize, h: usize, rng: &mut Rng) -> Self {
        TemporalMixing { lin: Linear::new(h, h, true, rng), norm: LayerNorm::over(&[h, features]) }
    }
    fn forward(&self, x: &Tensor, p: f32, ctx: &mut Ctx) -> Tensor {
        let z = self.lin.forward(&x.permute(&[0, 2, 1])).relu().permute(&[0, 2, 1]);
        self.norm.forward(&z.dropout(p, ctx.train, ctx.rng).add(x))
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.lin.visit(&join(prefix, "temporal_lin"), f);
        self.norm.visit(&join(prefix, "temporal_norm"), f);
    }
}

impl FeatureMixing {
    fn new(in_features: usize, out_features: usize, h: usize, ff_dim: usize, rng: &mut Rng) -> Self {
        let lin_1 = Linear::new(in_features, ff_dim, true, rng);
        let lin_2 = Linear::new(ff_dim, out_features, true, rng);
        let project_residual = (in_features != out_features).then(|| Linear::new(in_features, out_features, true, rng));
        FeatureMixing { lin_1, lin_2, project_residual, norm: LayerNorm::over(&[h, out_features]) }
    }
    fn forward(&self, x: &Tensor, p: f32, ctx: &mut Ctx) -> Tensor {
        let z = self.lin_1.forward(x).relu().dropout(p, ctx.train, ctx.rng);
        let z = self.lin_2.forward(&z).dropout(p, ctx.train, ctx.rng);
        let residual = self.project_residual.as_ref().map_or_else(|| x.clone(), |proj| proj.forward(x));
        self.norm.forward(&z.add(&residual))
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.lin_1.visit(&join(prefix, "feature_lin_1"), f);
        self.lin_2.visit(&join(prefix, "feature_lin_2"), f);
        if let Some(p) = &self.project_residual {
            p.visit(&join(prefix, "project_residual"), f);
        }
        self.norm.visit(&join(prefix, "feature_norm"), f);
    }
}

impl MixingLayer {
    /// `stat_exog`: the statics repeated over the horizon, `[B, h, N·S]`, for re-injecting blocks.
    fn forward(&self, x: &Tensor, stat_exog: Option<&Tensor>, p: f32, ctx: &mut Ctx) -> Tensor {
        let x = match (&self.stat, stat_exog) {
            (Some(mixer), Some(s)) => Tensor::concat(&[x.clone(), mixer.forward(s, p, ctx)], 2),
            _ => x.clone(),
        };
        let x = self.temporal.forward(&x, p, ctx);
        self.feature.forward(&x, p, ctx)
    }
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(s) = &self.stat {
            s.visit(&join(prefix, "feature_mixer_stat"), f);
        }
        self.temporal.visit(&join(prefix, "temporal_mixer"), f);
        self.feature.visit(&join(prefix, "feature_mixer"), f);
    }
}

impl Spec for TsMixerxOptions {
    const CLASS: &'static str = "TSMixerx";
    const DEFAULTS: Defaults = multivariate::DEFAULTS;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: true };
    type Net = TsMixerx;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(TsMixerxOptions {
            n_block: r.usize_min("nBlock", 2, 1)?,
            ff_dim: r.usize_min("ffDim", 64, 1)?,
            dropout: r.f64_in("dropout", 0.0, 0.0, 1.0, false)?,
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
        let (n, l, h, ff, k) = (c.n_series.unwrap_or(1) as f64, c.input_size as f64, c.h as f64, self.ff_dim as f64, self.n_block as f64);
        let (x, fx, s) = (c.hist_exog_list.len() as f64, c.futr_exog_list.len() as f64, c.stat_exog_list.len() as f64);
        // A feature mixer in → out: two Linears, the residual projection, the LayerNorm.
        let mixer = |i: f64, o: f64| (i + 1.0) * ff + (ff + 1.0) * o + if i != o { (i + 1.0) * o } else { 0.0 } + 2.0 * h * o;
        let mixing = |i: f64| (h + 1.0) * h + 2.0 * h * i + mixer(i, ff);
        let inputs = 1.0 + x + fx;
        let stat_block = if s > 0.0 { mixer(s * n, ff) } else { 0.0 };
        let wide = if s > 0.0 { 2.0 * ff } else { ff };
        let first_k = 1.0 + f64::from(fx > 0.0) + f64::from(s > 0.0);
        Footprint {
            params: if self.revin { 2.0 * n } else { 0.0 }
                + (l + 1.0) * h
                + mixer(inputs * n, ff)
                + if fx > 0.0 { mixer(fx * n, ff) } else { 0.0 }
                + stat_block
                + mixing(first_k * ff)
                + k * (stat_block + mixing(wide))
                + (ff + 1.0) * n * outputs as f64,
            // The window and its projection, then per mixing layer a handful of [h, 2·ff] tensors.
            per_window: inputs * n * (2.0 * l + h) + (k + 1.0) * 10.0 * h * (first_k * ff).max(wide) + h * n * outputs as f64,
        }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> TsMixerx {
        let (n, l, h, ff) = (c.n_series.unwrap_or(1), c.input_size, c.h, self.ff_dim);
        let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
        let norm = self.revin.then(|| RevinMultivariate::new(n));
        let temporal_projection = Linear::new(l, h, true, rng);
        let feature_mixer_hist = FeatureMixing::new(n * (1 + nx + nf), ff, h, ff, rng);
        let feature_mixer_futr = (nf > 0).then(|| FeatureMixing::new(n * nf, ff, h, ff, rng));
        let feature_mixer_stat = (ns > 0).then(|| FeatureMixing::new(n * ns, ff, h, ff, rng));
        let first_k = 1 + usize::from(nf > 0) + usize::from(ns > 0);
        let mixing = |stat: bool, rng: &mut Rng| {
            let stat_mixer = stat.then(|| FeatureMixing::new(n * ns, ff, h, ff, rng));
            let width = if stat { 2 * ff } else { ff };
            MixingLayer { stat: stat_mixer, temporal: TemporalMixing::new(width, h, rng), feature: FeatureMixing::new(width, ff, h, ff, rng) }
        };
        let first_mixing = MixingLayer { stat: None, temporal: TemporalMixing::new(first_k * ff, h, rng), feature: FeatureMixing::new(first_k * ff, ff, h, ff, rng) };
        let blocks = (0..self.n_block).map(|_| mixing(ns > 0, rng)).collect();
        let out = Linear::new(ff, outputs * n, true, rng);
        TsMixerx { h, dropout: self.dropout as f32, norm, temporal_projection, feature_mixer_hist, feature_mixer_futr, feature_mixer_stat, first_mixing, blocks, out }
    }
}

impl Module for TsMixerx {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(norm) = &self.norm {
            norm.visit(&join(prefix, "norm"), f);
        }
        self.temporal_projection.visit(&join(prefix, "temporal_projection"), f);
        self.feature_mixer_hist.visit(&join(prefix, "feature_mixer_hist"), f);
        if let Some(m) = &self.feature_mixer_futr {
            m.visit(&join(prefix, "feature_mixer_futr"), f);
        }
        if let Some(m) = &self.feature_mixer_stat {
            m.visit(&join(prefix, "feature_mixer_stat"), f);
        }
        self.first_mixing.visit(&join(prefix, "first_mixing"), f);
        for (i, block) in self.blocks.iter().enumerate() {
            block.visit(&join(prefix, &format!("mixing_block.{i}")), f);
        }
        self.out.visit(&join(prefix, "out"), f);
    }
}

impl Network for TsMixerx {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (b, l, n) = (batch.insample_y.dim(0), batch.insample_y.dim(1), batch.insample_y.dim(2));
        let (h, p) = (self.h, self.dropout);
        let (y, stats) = match &self.norm {
            Some(norm) => {
                let (y, s) = norm.norm(&batch.insample_y);
                (y, Some(s))
            }
            None => (batch.insample_y.clone(), None),
        };
        // [B, 1 + X + F, L, N]: y, historic exogenous, future exogenous over the input.
        let mut channels = vec![y.unsqueeze(1)];
        if let Some(x) = &batch.hist_exog {
            channels.push(x.clone());
        }
        if let Some(f) = &batch.futr_exog {
            channels.push(f.narrow(2, 0, l));
        }
        let x = if channels.len() == 1 { channels.pop().unwrap() } else { Tensor::concat(&channels, 1) };
        // Project time L → h, then [B, h, (1 + X + F)·N].
        let x = self.temporal_projection.forward(&x.permute(&[0, 1, 3, 2])).permute(&[0, 3, 1, 2]).reshape(&[b, h, usize::MAX]);
        let mut parts = vec![self.feature_mixer_hist.forward(&x, p, ctx)];
        if let (Some(mixer), Some(f)) = (&self.feature_mixer_futr, &batch.futr_exog) {
            // The future exogenous over the horizon: [B, F, h, N] → [B, h, F·N].
            let fh = f.narrow(2, l, h).permute(&[0, 2, 1, 3]).reshape(&[b, h, usize::MAX]);
            parts.push(mixer.forward(&fh, p, ctx));
        }
        // Statics [N, S] → [B, h, N·S], the same for every window and step.
        let stat = batch.stat_exog.as_ref().map(|s| s.reshape(&[1, 1, s.numel()]).broadcast_to(&[b, h, s.numel()]));
        if let (Some(mixer), Some(s)) = (&self.feature_mixer_stat, &stat) {
            parts.push(mixer.forward(s, p, ctx));
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 2) };
        x = self.first_mixing.forward(&x, None, p, ctx);
        for block in &self.blocks {
            x = block.forward(&x, stat.as_ref(), p, ctx);
        }
        let y = self.out.forward(&x);
        match (&self.norm, &stats) {
            // [B, h, m·N] → [B, h·m, N] → denormalised per series → [B, h, m·N].
            (Some(norm), Some(s)) => norm.denorm(&y.reshape(&[b, usize::MAX, n]), s).reshape(&[b, h, usize::MAX]),
            _ => y,
        }
    }
}

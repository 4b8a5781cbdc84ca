//! TiDE (Das et al., 2024; NeuralForecast's `TiDE`): a dense encoder/decoder of residual MLP
//! blocks. Exogenous inputs are projected per time step to `temporalWidth` values; the encoder reads
//! `[y | hist projection | future projection (history and horizon) | statics]`, the decoder gives
//! `decoderOutputDim` values per horizon step, a temporal decoder maps each step (with its future
//! projection) to the loss's outputs, and a global linear skip from the look-back is added.
//!
//! As in NeuralForecast, the temporal decoder's LayerNorm (with `layernorm`, the default) runs
//! over the loss's outputs: with a one-output loss it normalises a single value, so that block
//! contributes only its bias and the forecast is the global skip plus a constant.
//!
//! Deviations from NeuralForecast:
//! - with future but no historical exogenous variables NeuralForecast also builds a historical
//!   projection of input size 0 that its forward never uses; we do not, so the parameter count is
//!   smaller by those unused weights while forecasts are the same;
//! - `numEncoderLayers` and `numDecoderLayers` must be >= 1 (with 0 NeuralForecast's forward fails
//!   with a shape error unless the sizes happen to line up).

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, Ctx, LayerNorm, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast's `MLPResidual`: `norm(dropout(lin2(relu(lin1(x)))) + skip(x))` over the last
/// axis, the LayerNorm only with `layernorm`.
pub struct MlpResidual {
    norm: Option<LayerNorm>,
    lin1: Linear,
    lin2: Linear,
    skip: Linear,
    dropout: f32,
}

impl MlpResidual {
    pub fn new(input: usize, hidden: usize, output: usize, dropout: f32, layernorm: bool, rng: &mut Rng) -> MlpResidual {
        let norm = layernorm.then(|| LayerNorm::new(output));
        let lin1 = Linear::new(input, hidden, true, rng);
        let lin2 = Linear::new(hidden, output, true, rng);
        let skip = Linear::new(input, output, true, rng);
        MlpResidual { norm, lin1, lin2, skip, dropout }
    }

    /// Weights of a block, counted from its sizes.
    fn params(input: f64, hidden: f64, output: f64, layernorm: bool) -> f64 {
        (input + 1.0) * hidden + (hidden + 1.0) * output + (input + 1.0) * output + if layernorm { 2.0 * output } else { 0.0 }
    }

    /// Values one row keeps for backward: input, hidden before and after relu, and the output
    /// through dropout, skip, sum and norm.
    fn activations(input: f64, hidden: f64, output: f64) -> f64 {
        input + 2.0 * hidden + 5.0 * output
    }

    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let y = self.lin2.forward(&self.lin1.forward(x).relu()).dropout(self.dropout, ctx.train, ctx.rng).add(&self.skip.forward(x));
        match &self.norm {
            Some(norm) => norm.forward(&y),
            None => y,
        }
    }
}

impl Module for MlpResidual {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(norm) = &self.norm {
            norm.visit(&join(prefix, "norm"), f);
        }
        self.lin1.visit(&join(prefix, "lin1"), f);
        self.lin2.visit(&join(prefix, "lin2"), f);
        self.skip.visit(&join(prefix, "skip"), f);
    }
}

/// TiDE's own options.
#[derive(Clone, Debug)]
pub struct TideOptions {
    pub hidden_size: usize,
    pub decoder_output_dim: usize,
    pub temporal_decoder_dim: usize,
    pub dropout: f64,
    pub layernorm: bool,
    pub num_encoder_layers: usize,
    pub num_decoder_layers: usize,
    pub temporal_width: usize,
}

/// The sizes every part is built from, as f64 so that absurd options cannot overflow.
struct Sizes {
    l: f64,
    h: f64,
    x: f64,
    f: f64,
    s: f64,
    tw: f64,
}

impl Sizes {
    fn of(c: &CommonOptions, tw: usize) -> Sizes {
        let n = |v: usize| v as f64;
        Sizes { l: n(c.input_size), h: n(c.h), x: n(c.hist_exog_list.len()), f: n(c.futr_exog_list.len()), s: n(c.stat_exog_list.len()), tw: n(tw) }
    }

    /// Inputs of the dense encoder: the window, each projection flattened over its span, statics.
    fn encoder_input(&self) -> f64 {
        let on = |n: f64| if n > 0.0 { 1.0 } else { 0.0 };
        self.l + on(self.x) * self.l * self.tw + on(self.f) * (self.l + self.h) * self.tw + self.s
    }
}

impl Spec for TideOptions {
    const CLASS: &'static str = "TiDE";
    const DEFAULTS: Defaults = Defaults::BASE;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Tide;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(TideOptions {
            hidden_size: r.usize_min("hiddenSize", 512, 1)?,
            decoder_output_dim: r.usize_min("decoderOutputDim", 32, 1)?,
            temporal_decoder_dim: r.usize_min("temporalDecoderDim", 128, 1)?,
            dropout: r.f64_in("dropout", 0.3, 0.0, 1.0, false)?,
            layernorm: r.bool("layernorm", true)?,
            num_encoder_layers: r.usize_min("numEncoderLayers", 1, 1)?,
            num_decoder_layers: r.usize_min("numDecoderLayers", 1, 1)?,
            temporal_width: r.usize_min("temporalWidth", 4, 1)?,
        })
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hiddenSize", json!(self.hidden_size)),
            ("decoderOutputDim", json!(self.decoder_output_dim)),
            ("temporalDecoderDim", json!(self.temporal_decoder_dim)),
            ("dropout", json!(self.dropout)),
            ("layernorm", json!(self.layernorm)),
            ("numEncoderLayers", json!(self.num_encoder_layers)),
            ("numDecoderLayers", json!(self.num_decoder_layers)),
            ("temporalWidth", json!(self.temporal_width)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let s = Sizes::of(c, self.temporal_width);
        let (hid, dod, tdd, o, ln) = (self.hidden_size as f64, self.decoder_output_dim as f64, self.temporal_decoder_dim as f64, outputs as f64, self.layernorm);
        let (enc, dec) = (self.num_encoder_layers as f64, self.num_decoder_layers as f64);
        let (p, a) = (MlpResidual::params, MlpResidual::activations);
        let mut params = 0.0;
        let mut per_window = 0.0;
        // (rows, input, hidden, output, count) of every block.
        let temporal_in = dod + if s.f > 0.0 { s.tw } else { 0.0 };
        let mut blocks = vec![
            (1.0, s.encoder_input(), hid, hid, 1.0),
            (1.0, hid, hid, hid, enc - 1.0),
            (1.0, hid, hid, hid, dec - 1.0),
            (1.0, hid, hid, dod * s.h, 1.0),
            (s.h, temporal_in, tdd, o, 1.0),
        ];
        if s.x > 0.0 {
            blocks.push((s.l, s.x, hid, s.tw, 1.0));
        }
        if s.f > 0.0 {
            blocks.push((s.l + s.h, s.f, hid, s.tw, 1.0));
        }
        for (rows, i, hd, out, n) in blocks {
            params += n * p(i, hd, out, ln);
            per_window += n * rows * a(i, hd, out);
        }
        // The global skip, and its sum with the temporal decoder's output.
        params += (s.l + 1.0) * s.h * o;
        per_window += 2.0 * s.h * o;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Tide {
        let (l, h, tw, hid) = (c.input_size, c.h, self.temporal_width, self.hidden_size);
        let (nx, nf) = (c.hist_exog_list.len(), c.futr_exog_list.len());
        let (dropout, ln) = (self.dropout as f32, self.layernorm);
        let block = |i, hd, o, rng: &mut Rng| MlpResidual::new(i, hd, o, dropout, ln, rng);
        // NeuralForecast's construction order, so that the seeded stream fills the same parts.
        let hist_projection = (nx > 0).then(|| block(nx, hid, tw, rng));
        let futr_projection = (nf > 0).then(|| block(nf, hid, tw, rng));
        let encoder_in = Sizes::of(c, tw).encoder_input() as usize;
        let encoder = (0..self.num_encoder_layers).map(|i| block(if i == 0 { encoder_in } else { hid }, hid, hid, rng)).collect();
        let last = self.num_decoder_layers - 1;
        let decoder = (0..self.num_decoder_layers).map(|i| block(hid, hid, if i == last { self.decoder_output_dim * h } else { hid }, rng)).collect();
        let temporal_in = self.decoder_output_dim + if nf > 0 { tw } else { 0 };
        let temporal_decoder = block(temporal_in, self.temporal_decoder_dim, outputs, rng);
        let global_skip = Linear::new(l, h * outputs, true, rng);
        Tide { h, outputs, hist_projection, futr_projection, encoder, decoder, temporal_decoder, global_skip }
    }
}

/// The TiDE network.
pub struct Tide {
    h: usize,
    outputs: usize,
    hist_projection: Option<MlpResidual>,
    futr_projection: Option<MlpResidual>,
    encoder: Vec<MlpResidual>,
    decoder: Vec<MlpResidual>,
    temporal_decoder: MlpResidual,
    global_skip: Linear,
}

impl Module for Tide {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(p) = &self.hist_projection {
            p.visit(&join(prefix, "hist_exog_projection"), f);
        }
        if let Some(p) = &self.futr_projection {
            p.visit(&join(prefix, "futr_exog_projection"), f);
        }
        self.encoder.visit(&join(prefix, "dense_encoder"), f);
        self.decoder.visit(&join(prefix, "dense_decoder"), f);
        self.temporal_decoder.visit(&join(prefix, "temporal_decoder"), f);
        self.global_skip.visit(&join(prefix, "global_skip"), f);
    }
}

impl Network for Tide {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let y = &batch.insample_y;
        let (b, l) = (y.dim(0), y.dim(1));
        let skip = self.global_skip.forward(y).reshape(&[b, self.h, self.outputs]);
        let mut parts = vec![y.clone()];
        if let (Some(p), Some(x)) = (&self.hist_projection, &batch.hist_exog) {
            parts.push(p.forward(x, ctx).reshape(&[b, usize::MAX]));
        }
        // `[B, L + h, temporalWidth]`; its horizon part joins the temporal decoder's input.
        let futr = match (&self.futr_projection, &batch.futr_exog) {
            (Some(p), Some(x)) => Some(p.forward(x, ctx)),
            _ => None,
        };
        if let Some(fp) = &futr {
            parts.push(fp.reshape(&[b, usize::MAX]));
        }
        if let Some(s) = &batch.stat_exog {
            parts.push(s.clone());
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 1) };
        for block in self.encoder.iter().chain(&self.decoder) {
            x = block.forward(&x, ctx);
        }
        let mut x = x.reshape(&[b, self.h, usize::MAX]);
        if let Some(fp) = &futr {
            x = Tensor::concat(&[x, fp.narrow(1, l, self.h)], 2);
        }
        self.temporal_decoder.forward(&x, ctx).add(&skip)
    }
    fn rows_independent(&self) -> bool {
        // Dropout draws only in training; LayerNorm normalizes each row on its own.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn grad_mlp_residual_block() {
        let mut rng = Rng::seed(4);
        let x = Tensor::randn(&[2, 3, 4], &mut rng);
        for layernorm in [true, false] {
            let block = MlpResidual::new(4, 5, 3, 0.0, layernorm, &mut rng);
            check_gradients("MLPResidual", |t| block.forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))), &[x.clone()]);
        }
    }
}

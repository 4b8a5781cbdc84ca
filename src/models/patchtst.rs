//! PatchTST (Nie et al., 2023) as NeuralForecast 3.3 builds it: the window is (optionally)
//! RevIN-normalised, padded at the end by replication, cut into overlapping patches, each patch
//! linearly embedded plus a learned position, passed through a Transformer encoder (BatchNorm
//! norms, residual attention scores carried from layer to layer), flattened and mapped by one
//! linear head to the horizon, then de-normalised.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{init, join, BatchNorm1d, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{AttentionSpec, PadMode, Tensor};

const REVIN_EPS: f32 = 1e-5;

/// One encoder layer: multi-head self-attention and a feed-forward block, each with a residual
/// connection and a BatchNorm over the hidden features.
struct EncoderLayer {
    w_q: Linear,
    w_k: Linear,
    w_v: Linear,
    to_out: Linear,
    norm_attn: BatchNorm1d,
    ff_in: Linear,
    ff_out: Linear,
    norm_ffn: BatchNorm1d,
}

impl Module for EncoderLayer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.w_q.visit(&join(prefix, "self_attn.W_Q"), f);
        self.w_k.visit(&join(prefix, "self_attn.W_K"), f);
        self.w_v.visit(&join(prefix, "self_attn.W_V"), f);
        self.to_out.visit(&join(prefix, "self_attn.to_out.0"), f);
        self.norm_attn.visit(&join(prefix, "norm_attn.1"), f);
        self.ff_in.visit(&join(prefix, "ff.0"), f);
        self.ff_out.visit(&join(prefix, "ff.3"), f);
        self.norm_ffn.visit(&join(prefix, "norm_ffn.1"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.norm_attn.visit_buffers(&join(prefix, "norm_attn.1"), f);
        self.norm_ffn.visit_buffers(&join(prefix, "norm_ffn.1"), f);
    }
}

/// PatchTST's own options.
#[derive(Clone, Debug)]
pub struct PatchTstOptions {
    encoder_layers: usize,
    n_heads: usize,
    hidden_size: usize,
    linear_hidden_size: usize,
    dropout: f32,
    fc_dropout: f64,
    head_dropout: f32,
    attn_dropout: f32,
    patch_len: usize,
    stride: usize,
    revin: bool,
    revin_affine: bool,
    revin_subtract_last: bool,
    activation: String,
    res_attention: bool,
    batch_normalization: bool,
    learn_pos_embed: bool,
}

pub struct PatchTst {
    input_size: usize,
    h: usize,
    outputs: usize,
    patch_len: usize,
    stride: usize,
    patch_num: usize,
    heads: usize,
    dropout: f32,
    attn_dropout: f32,
    head_dropout: f32,
    gelu: bool,
    res_attention: bool,
    pre_norm: bool,
    revin: bool,
    subtract_last: bool,
    /// RevIN's affine weight and bias (`revinAffine`).
    revin_affine: Option<(Tensor, Tensor)>,
    w_p: Linear,
    /// `[patch_num, hidden]`, trained when `learnPosEmbed`.
    w_pos: Tensor,
    layers: Vec<EncoderLayer>,
    head: Linear,
}

impl PatchTstOptions {
    /// Patches over the window plus `stride` replicated points at its end.
    fn patch_num(&self, c: &CommonOptions) -> usize {
        (c.input_size - self.patch_len) / self.stride + 1 + 1
    }
}

impl Spec for PatchTstOptions {
    const CLASS: &'static str = "PatchTST";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = PatchTst;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(PatchTstOptions {
            encoder_layers: r.usize_min("encoderLayers", 3, 1)?,
            n_heads: r.usize_min("nHeads", 16, 1)?,
            hidden_size: r.usize_min("hiddenSize", 128, 1)?,
            linear_hidden_size: r.usize_min("linearHiddenSize", 256, 1)?,
            dropout: r.f64_in("dropout", 0.2, 0.0, 0.99, false)? as f32,
            fc_dropout: r.f64_in("fcDropout", 0.2, 0.0, 0.99, false)?,
            head_dropout: r.f64_in("headDropout", 0.0, 0.0, 0.99, false)? as f32,
            attn_dropout: r.f64_in("attnDropout", 0.0, 0.0, 0.99, false)? as f32,
            patch_len: r.usize_min("patchLen", 16, 1)?,
            stride: r.usize_min("stride", 8, 1)?,
            revin: r.bool("revin", true)?,
            revin_affine: r.bool("revinAffine", false)?,
            revin_subtract_last: r.bool("revinSubtractLast", true)?,
            activation: r.choice("activation", "gelu", &["gelu", "relu"])?,
            res_attention: r.bool("resAttention", true)?,
            batch_normalization: r.bool("batchNormalization", false)?,
            learn_pos_embed: r.bool("learnPosEmbed", true)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        let (hidden, heads, patch_len) = (self.hidden_size, self.n_heads, self.patch_len);
        if hidden % heads != 0 {
            return Err(Error::range(format!("PatchTST option 'hiddenSize' ({hidden}) must be divisible by 'nHeads' ({heads})")));
        }
        let l = c.input_size;
        if patch_len > l {
            return Err(Error::range(format!("PatchTST option 'patchLen' ({patch_len}) must not exceed inputSize ({l})")));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("encoderLayers", json!(self.encoder_layers)),
            ("nHeads", json!(self.n_heads)),
            ("hiddenSize", json!(self.hidden_size)),
            ("linearHiddenSize", json!(self.linear_hidden_size)),
            ("dropout", json!(self.dropout)),
            ("fcDropout", json!(self.fc_dropout)),
            ("headDropout", json!(self.head_dropout)),
            ("attnDropout", json!(self.attn_dropout)),
            ("patchLen", json!(self.patch_len)),
            ("stride", json!(self.stride)),
            ("revin", json!(self.revin)),
            ("revinAffine", json!(self.revin_affine)),
            ("revinSubtractLast", json!(self.revin_subtract_last)),
            ("activation", json!(self.activation)),
            ("resAttention", json!(self.res_attention)),
            ("batchNormalization", json!(self.batch_normalization)),
            ("learnPosEmbed", json!(self.learn_pos_embed)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (p, d, f, n) = (self.patch_num(c) as f64, self.hidden_size as f64, self.linear_hidden_size as f64, self.encoder_layers as f64);
        let heads = self.n_heads as f64;
        let o = c.h as f64 * outputs as f64;
        let revin = if self.revin_affine { 2.0 } else { 0.0 };
        // Q, K, V, out; two BatchNorms (weight, bias, running mean and variance); the feed-forward.
        let layer = 4.0 * (d + 1.0) * d + 2.0 * 4.0 * d + (d + 1.0) * f + (f + 1.0) * d;
        Footprint {
            params: revin + (self.patch_len as f64 + 1.0) * d + p * d + n * layer + (d * p + 1.0) * o,
            // Per layer: projections, scores and their softmax (heads × P × P), the attended values,
            // norms, residuals and dropout masks, the feed-forward's hidden layer.
            per_window: p * self.patch_len as f64 + n * (12.0 * p * d + 3.0 * heads * p * p + 3.0 * p * f) + p * d + 2.0 * o,
        }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> PatchTst {
        let (hidden, linear_hidden) = (self.hidden_size, self.linear_hidden_size);
        let patch_num = self.patch_num(c);
        let w_p = Linear::new(self.patch_len, hidden, true, rng);
        let w_pos = init::uniform(&[patch_num, hidden], 0.02, rng);
        let w_pos = if self.learn_pos_embed { w_pos } else { w_pos.detach() };
        let layers = (0..self.encoder_layers)
            .map(|_| EncoderLayer {
                w_q: Linear::new(hidden, hidden, true, rng),
                w_k: Linear::new(hidden, hidden, true, rng),
                w_v: Linear::new(hidden, hidden, true, rng),
                to_out: Linear::new(hidden, hidden, true, rng),
                norm_attn: BatchNorm1d::new(hidden),
                ff_in: Linear::new(hidden, linear_hidden, true, rng),
                ff_out: Linear::new(linear_hidden, hidden, true, rng),
                norm_ffn: BatchNorm1d::new(hidden),
            })
            .collect();
        let head = Linear::new(hidden * patch_num, c.h * outputs, true, rng);
        PatchTst {
            input_size: c.input_size,
            h: c.h,
            outputs,
            patch_len: self.patch_len,
            stride: self.stride,
            patch_num,
            heads: self.n_heads,
            dropout: self.dropout,
            attn_dropout: self.attn_dropout,
            head_dropout: self.head_dropout,
            gelu: self.activation == "gelu",
            res_attention: self.res_attention,
            // NeuralForecast passes `batch_normalization` as the encoder's `pre_norm`.
            pre_norm: self.batch_normalization,
            revin: self.revin,
            subtract_last: self.revin_subtract_last,
            revin_affine: self.revin_affine.then(|| (init::ones(&[1]), init::zeros(&[1]))),
            w_p,
            w_pos,
            layers,
            head,
        }
    }
}

impl PatchTst {
    /// BatchNorm over the hidden features of `[N, P, D]`.
    fn norm(bn: &BatchNorm1d, x: &Tensor, train: bool) -> Tensor {
        bn.forward_on(x, 2, train)
    }

    /// One encoder layer; returns the output and, under residual attention, this layer's scores
    /// (the next layer adds them to its own, so they must exist; without it the fused attention
    /// op runs and stores no weights).
    fn layer(&self, layer: &EncoderLayer, src: &Tensor, prev: Option<&Tensor>, ctx: &mut Ctx) -> (Tensor, Option<Tensor>) {
        let (n, p, d) = (src.dim(0), src.dim(1), src.dim(2));
        let dk = d / self.heads;
        let mut src = if self.pre_norm { Self::norm(&layer.norm_attn, src, ctx.train) } else { src.clone() };
        let split = |lin: &Linear, x: &Tensor| lin.forward(x).reshape(&[n, p, self.heads, dk]).permute(&[0, 2, 1, 3]);
        let (q, k, v) = (split(&layer.w_q, &src), split(&layer.w_k, &src), split(&layer.w_v, &src));
        let scale = 1.0 / (dk as f32).sqrt();
        let (context, scores) = if self.res_attention {
            let mut scores = q.matmul(&k.transpose(-1, -2)).mul_scalar(scale);
            if let Some(prev) = prev {
                scores = scores.add(prev);
            }
            let weights = scores.softmax().dropout(self.attn_dropout, ctx.train, ctx.rng);
            (weights.matmul(&v), Some(scores))
        } else {
            let dropout = if ctx.train { self.attn_dropout } else { 0.0 };
            let seed = if dropout > 0.0 { ctx.rng.next_u64() } else { 0 };
            (q.attention(&k, &v, AttentionSpec { scale, dropout, seed, ..Default::default() }), None)
        };
        let attended = context.permute(&[0, 2, 1, 3]).reshape(&[n, p, d]);
        let attended = layer.to_out.forward(&attended).dropout(self.dropout, ctx.train, ctx.rng);
        src = src.add(&attended.dropout(self.dropout, ctx.train, ctx.rng));
        if !self.pre_norm {
            src = Self::norm(&layer.norm_attn, &src, ctx.train);
        } else {
            src = Self::norm(&layer.norm_ffn, &src, ctx.train);
        }
        let hidden = layer.ff_in.forward(&src);
        let hidden = if self.gelu { hidden.gelu() } else { hidden.relu() };
        let ff = layer.ff_out.forward(&hidden.dropout(self.dropout, ctx.train, ctx.rng));
        src = src.add(&ff.dropout(self.dropout, ctx.train, ctx.rng));
        if !self.pre_norm {
            src = Self::norm(&layer.norm_ffn, &src, ctx.train);
        }
        (src, scores)
    }
}

impl Module for PatchTst {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some((w, b)) = &self.revin_affine {
            f(join(prefix, "model.revin_layer.affine_weight"), w);
            f(join(prefix, "model.revin_layer.affine_bias"), b);
        }
        self.w_p.visit(&join(prefix, "model.backbone.W_P"), f);
        if self.w_pos.requires_grad() {
            f(join(prefix, "model.backbone.W_pos"), &self.w_pos);
        }
        self.layers.visit(&join(prefix, "model.backbone.encoder.layers"), f);
        self.head.visit(&join(prefix, "model.head.linear"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if !self.w_pos.requires_grad() {
            f(join(prefix, "model.backbone.W_pos"), &self.w_pos);
        }
        self.layers.visit_buffers(&join(prefix, "model.backbone.encoder.layers"), f);
    }
}

impl Network for PatchTst {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (b, l, h) = (batch.insample_y.dim(0), self.input_size, self.h);
        let mut x = batch.insample_y.clone();
        // RevIN: centre on the last value (or the mean) and divide by the window's std.
        let (anchor, stdev) = if self.revin {
            let anchor = if self.subtract_last { x.narrow(1, l - 1, 1) } else { x.mean_axis(1, true).detach() };
            let stdev = x.var_axis(1, true, false).add_scalar(REVIN_EPS).sqrt().detach();
            x = x.sub(&anchor).div(&stdev);
            if let Some((w, bias)) = &self.revin_affine {
                x = x.mul(w).add(bias);
            }
            (Some(anchor), Some(stdev))
        } else {
            (None, None)
        };
        let padded = x.pad(1, 0, self.stride, PadMode::Replicate);
        let index: Vec<usize> = (0..self.patch_num).flat_map(|p| (0..self.patch_len).map(move |j| p * self.stride + j)).collect();
        let patches = padded.index_select(1, &index).reshape(&[b, self.patch_num, self.patch_len]);
        let mut z = self.w_p.forward(&patches).add(&self.w_pos).dropout(self.dropout, ctx.train, ctx.rng);
        let mut prev: Option<Tensor> = None;
        for layer in &self.layers {
            let (out, scores) = self.layer(layer, &z, prev.as_ref(), ctx);
            z = out;
            prev = scores;
        }
        let flat = z.transpose(1, 2).reshape(&[b, usize::MAX]);
        let mut y = self.head.forward(&flat).dropout(self.head_dropout, ctx.train, ctx.rng);
        if let (Some(anchor), Some(stdev)) = (anchor, stdev) {
            if let Some((w, bias)) = &self.revin_affine {
                y = y.sub(bias).div(&w.add_scalar(REVIN_EPS * REVIN_EPS));
            }
            y = y.mul(&stdev).add(&anchor);
        }
        y.reshape(&[b, h, self.outputs])
    }
}

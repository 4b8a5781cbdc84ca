//! PatchTST (Nie et al., 2023) as NeuralForecast 3.3 builds it: the window is (optionally)
//! RevIN-normalised, padded at the end by replication, cut into overlapping patches, each patch
//! linearly embedded plus a learned position, passed through a Transformer encoder (BatchNorm
//! norms, residual attention scores carried from layer to layer), flattened and mapped by one
//! linear head to the horizon, then de-normalised.

use serde_json::{json, Value};

use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Model};
use crate::error::{Error, Result};
use crate::nn::{init, join, BatchNorm1d, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{PadMode, Tensor};

pub const DEFAULTS: Defaults = Defaults {
    max_steps: 5000,
    learning_rate: 1e-4,
    num_lr_decays: -1,
    windows_batch_size: 1024,
    inference_windows_batch_size: Some(1024),
    scaler_type: "identity",
};

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

pub struct PatchTst {
    common: CommonOptions,
    options: Value,
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

impl PatchTst {
    pub fn from_options(options: &Value, outputs: usize) -> Result<PatchTst> {
        let mut r = OptionReader::new("PatchTST", options)?;
        let common = CommonOptions::read(&mut r, DEFAULTS)?;
        let encoder_layers = r.usize_min("encoderLayers", 3, 1)?;
        let heads = r.usize_min("nHeads", 16, 1)?;
        let hidden = r.usize_min("hiddenSize", 128, 1)?;
        let linear_hidden = r.usize_min("linearHiddenSize", 256, 1)?;
        let dropout = r.f64_in("dropout", 0.2, 0.0, 0.99, false)? as f32;
        let fc_dropout = r.f64_in("fcDropout", 0.2, 0.0, 0.99, false)?;
        let head_dropout = r.f64_in("headDropout", 0.0, 0.0, 0.99, false)? as f32;
        let attn_dropout = r.f64_in("attnDropout", 0.0, 0.0, 0.99, false)? as f32;
        let patch_len = r.usize_min("patchLen", 16, 1)?;
        let stride = r.usize_min("stride", 8, 1)?;
        let revin = r.bool("revin", true)?;
        let revin_affine = r.bool("revinAffine", false)?;
        let subtract_last = r.bool("revinSubtractLast", true)?;
        let activation = r.choice("activation", "gelu", &["gelu", "relu"])?;
        let res_attention = r.bool("resAttention", true)?;
        let batch_normalization = r.bool("batchNormalization", false)?;
        let learn_pos_embed = r.bool("learnPosEmbed", true)?;
        r.finish()?;
        if hidden % heads != 0 {
            return Err(Error::range(format!("PatchTST option 'hiddenSize' ({hidden}) must be divisible by 'nHeads' ({heads})")));
        }
        let l = common.input_size;
        if patch_len > l {
            return Err(Error::range(format!("PatchTST option 'patchLen' ({patch_len}) must not exceed inputSize ({l})")));
        }
        // Patches over the window plus `stride` replicated points at its end.
        let patch_num = (l - patch_len) / stride + 1 + 1;
        let mut rng = Rng::seed(common.random_seed);
        let w_p = Linear::new(patch_len, hidden, true, &mut rng);
        let w_pos = init::uniform(&[patch_num, hidden], 0.02, &mut rng);
        let w_pos = if learn_pos_embed { w_pos } else { w_pos.detach() };
        let layers = (0..encoder_layers)
            .map(|_| EncoderLayer {
                w_q: Linear::new(hidden, hidden, true, &mut rng),
                w_k: Linear::new(hidden, hidden, true, &mut rng),
                w_v: Linear::new(hidden, hidden, true, &mut rng),
                to_out: Linear::new(hidden, hidden, true, &mut rng),
                norm_attn: BatchNorm1d::new(hidden),
                ff_in: Linear::new(hidden, linear_hidden, true, &mut rng),
                ff_out: Linear::new(linear_hidden, hidden, true, &mut rng),
                norm_ffn: BatchNorm1d::new(hidden),
            })
            .collect();
        let head = Linear::new(hidden * patch_num, common.h * outputs, true, &mut rng);
        let mut normalized = common.to_json();
        for (k, v) in [
            ("encoderLayers", json!(encoder_layers)),
            ("nHeads", json!(heads)),
            ("hiddenSize", json!(hidden)),
            ("linearHiddenSize", json!(linear_hidden)),
            ("dropout", json!(dropout)),
            ("fcDropout", json!(fc_dropout)),
            ("headDropout", json!(head_dropout)),
            ("attnDropout", json!(attn_dropout)),
            ("patchLen", json!(patch_len)),
            ("stride", json!(stride)),
            ("revin", json!(revin)),
            ("revinAffine", json!(revin_affine)),
            ("revinSubtractLast", json!(subtract_last)),
            ("activation", json!(activation)),
            ("resAttention", json!(res_attention)),
            ("batchNormalization", json!(batch_normalization)),
            ("learnPosEmbed", json!(learn_pos_embed)),
        ] {
            normalized[k] = v;
        }
        Ok(PatchTst {
            common,
            options: normalized,
            outputs,
            patch_len,
            stride,
            patch_num,
            heads,
            dropout,
            attn_dropout,
            head_dropout,
            gelu: activation == "gelu",
            res_attention,
            // NeuralForecast passes `batch_normalization` as the encoder's `pre_norm`.
            pre_norm: batch_normalization,
            revin,
            subtract_last,
            revin_affine: revin_affine.then(|| (init::ones(&[1]), init::zeros(&[1]))),
            w_p,
            w_pos,
            layers,
            head,
        })
    }

    /// BatchNorm over the hidden features of `[N, P, D]`.
    fn norm(bn: &BatchNorm1d, x: &Tensor, train: bool) -> Tensor {
        bn.forward_on(x, 2, train)
    }

    /// One encoder layer; returns the output and this layer's attention scores.
    fn layer(&self, layer: &EncoderLayer, src: &Tensor, prev: Option<&Tensor>, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let (n, p, d) = (src.dim(0), src.dim(1), src.dim(2));
        let dk = d / self.heads;
        let mut src = if self.pre_norm { Self::norm(&layer.norm_attn, src, ctx.train) } else { src.clone() };
        let split = |lin: &Linear, x: &Tensor| lin.forward(x).reshape(&[n, p, self.heads, dk]).permute(&[0, 2, 1, 3]);
        let (q, k, v) = (split(&layer.w_q, &src), split(&layer.w_k, &src), split(&layer.w_v, &src));
        let mut scores = q.matmul(&k.transpose(-1, -2)).mul_scalar(1.0 / (dk as f32).sqrt());
        if let Some(prev) = prev {
            scores = scores.add(prev);
        }
        let weights = scores.softmax().dropout(self.attn_dropout, ctx.train, ctx.rng);
        let attended = weights.matmul(&v).permute(&[0, 2, 1, 3]).reshape(&[n, p, d]);
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

impl Model for PatchTst {
    fn class_name(&self) -> &'static str {
        "PatchTST"
    }
    fn common(&self) -> &CommonOptions {
        &self.common
    }
    fn options_json(&self) -> Value {
        self.options.clone()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (b, l, h) = (batch.insample_y.dim(0), self.common.input_size, self.common.h);
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
            prev = self.res_attention.then_some(scores);
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

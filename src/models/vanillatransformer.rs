//! VanillaTransformer as NeuralForecast 3.3 builds it (the Informer paper's baseline): the window
//! is embedded by a circular convolution plus sinusoidal positions (plus a linear embedding of
//! the future exogenous variables), encoded by full-attention layers; the decoder reads the last
//! `label_len` history values followed by zeros for the horizon, attends to itself (unmasked, as
//! NF 3.3 runs it) and to the encoder, and a linear projection gives the horizon's outputs.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::transformer::{AttentionLayer, DataEmbedding, Decoder, DecoderLayer, Encoder, EncoderLayer, FullAttention};
use crate::nn::{join, Ctx, LayerNorm, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// VanillaTransformer's own options.
#[derive(Clone, Debug)]
pub struct VanillaTransformerOptions {
    decoder_input_size_multiplier: f64,
    hidden_size: usize,
    dropout: f64,
    n_head: usize,
    conv_hidden_size: usize,
    activation: String,
    encoder_layers: usize,
    decoder_layers: usize,
}

impl VanillaTransformerOptions {
    /// History values the decoder starts from: `ceil(L · decoderInputSizeMultiplier)`.
    fn label_len(&self, c: &CommonOptions) -> usize {
        (c.input_size as f64 * self.decoder_input_size_multiplier).ceil() as usize
    }
}

pub struct VanillaTransformer {
    input_size: usize,
    h: usize,
    label_len: usize,
    enc_embedding: DataEmbedding,
    dec_embedding: DataEmbedding,
    encoder: Encoder<FullAttention>,
    decoder: Decoder<FullAttention, FullAttention>,
}

impl Spec for VanillaTransformerOptions {
    const CLASS: &'static str = "VanillaTransformer";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = VanillaTransformer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(VanillaTransformerOptions {
            decoder_input_size_multiplier: r.f64_in("decoderInputSizeMultiplier", 0.5, 0.0, 1.0, true)?,
            hidden_size: r.usize_min("hiddenSize", 128, 1)?,
            dropout: r.f64_in("dropout", 0.05, 0.0, 0.99, false)?,
            n_head: r.usize_min("nHead", 4, 1)?,
            conv_hidden_size: r.usize_min("convHiddenSize", 32, 1)?,
            activation: r.choice("activation", "gelu", &["relu", "gelu"])?,
            encoder_layers: r.usize_min("encoderLayers", 2, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 1, 1)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        let (label_len, l, m) = (self.label_len(c), c.input_size, self.decoder_input_size_multiplier);
        if label_len == 0 || label_len >= l {
            return Err(Error::range(format!(
                "VanillaTransformer option 'decoderInputSizeMultiplier' ({m}) gives {label_len} history values for the decoder; it must be in (0, inputSize = {l})"
            )));
        }
        if self.n_head > self.hidden_size {
            return Err(Error::range(format!("VanillaTransformer option 'nHead' ({}) must not exceed 'hiddenSize' ({})", self.n_head, self.hidden_size)));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("decoderInputSizeMultiplier", json!(self.decoder_input_size_multiplier)),
            ("hiddenSize", json!(self.hidden_size)),
            ("dropout", json!(self.dropout)),
            ("nHead", json!(self.n_head)),
            ("convHiddenSize", json!(self.conv_hidden_size)),
            ("activation", json!(self.activation)),
            ("encoderLayers", json!(self.encoder_layers)),
            ("decoderLayers", json!(self.decoder_layers)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (d, heads, ch) = (self.hidden_size, self.n_head, self.conv_hidden_size);
        let (df, f) = (d as f64, c.futr_exog_list.len() as f64);
        let embedding = 3.0 * df + f * df;
        let params = 2.0 * embedding
            + self.encoder_layers as f64 * EncoderLayer::<FullAttention>::params(d, heads, ch)
            + 2.0 * df
            + self.decoder_layers as f64 * DecoderLayer::<FullAttention, FullAttention>::params(d, heads, ch)
            + 2.0 * df
            + (df + 1.0) * outputs as f64;
        // Per attention: projections, the context, the residual, norm and dropout masks, and one
        // log-sum-exp per query and head (the fused op stores no Lq × Lk weights); per
        // feed-forward its hidden layer thrice.
        let (l, t) = (c.input_size as f64, (self.label_len(c) + c.h) as f64);
        let (hf, cf) = (heads as f64, ch as f64);
        let attn = |lq: f64| 8.0 * lq * df + hf * lq;
        let ffn = |n: f64| 3.0 * n * cf + 3.0 * n * df;
        let per_window = 4.0 * (l + t) * df
            + self.encoder_layers as f64 * (attn(l) + ffn(l))
            + self.decoder_layers as f64 * (2.0 * attn(t) + ffn(t))
            + t * outputs as f64;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> VanillaTransformer {
        let (d, heads, ch, p) = (self.hidden_size, self.n_head, self.conv_hidden_size, self.dropout as f32);
        let gelu = self.activation == "gelu";
        let f = c.futr_exog_list.len();
        let enc_embedding = DataEmbedding::new(1, f, d, p, rng);
        let dec_embedding = DataEmbedding::new(1, f, d, p, rng);
        let attention = |rng: &mut Rng| AttentionLayer::new(FullAttention { dropout: p }, d, heads, rng);
        let layers = (0..self.encoder_layers)
            .map(|_| {
                let a = attention(rng);
                EncoderLayer::new(a, d, ch, gelu, p, rng)
            })
            .collect();
        let encoder = Encoder { layers, norm: LayerNorm::new(d) };
        let layers = (0..self.decoder_layers)
            .map(|_| {
                let (s, x) = (attention(rng), attention(rng));
                DecoderLayer::new(s, x, d, ch, gelu, p, rng)
            })
            .collect();
        let decoder = Decoder { layers, norm: LayerNorm::new(d), projection: Linear::new(d, outputs, true, rng) };
        VanillaTransformer { input_size: c.input_size, h: c.h, label_len: self.label_len(c), enc_embedding, dec_embedding, encoder, decoder }
    }
}

impl Module for VanillaTransformer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.enc_embedding.visit(&join(prefix, "enc_embedding"), f);
        self.dec_embedding.visit(&join(prefix, "dec_embedding"), f);
        self.encoder.visit(&join(prefix, "encoder"), f);
        self.decoder.visit(&join(prefix, "decoder"), f);
    }
}

impl Network for VanillaTransformer {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (l, h, label) = (self.input_size, self.h, self.label_len);
        let y = &batch.insample_y;
        let b = y.dim(0);
        let (enc_marks, dec_marks) = match &batch.futr_exog {
            Some(x) => (Some(x.narrow(1, 0, l)), Some(x.narrow(1, l - label, label + h))),
            None => (None, None),
        };
        let y = y.reshape(&[b, l, 1]);
        let dec_in = Tensor::concat(&[y.narrow(1, l - label, label), Tensor::zeros(&[b, h, 1])], 1);
        let enc = self.enc_embedding.forward(&y, enc_marks.as_ref(), ctx);
        let enc = self.encoder.forward(&enc, ctx);
        let dec = self.dec_embedding.forward(&dec_in, dec_marks.as_ref(), ctx);
        self.decoder.forward(&dec, &enc, ctx).narrow(1, label, h)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::error;
    use serde_json::json;

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"h": 3, "inputSize": 8, "decoderInputSizeMultiplier": 1.0}), "decoderInputSizeMultiplier"),
            (json!({"h": 3, "inputSize": 8, "decoderInputSizeMultiplier": 0.95}), "decoderInputSizeMultiplier"),
            (json!({"h": 3, "inputSize": 8, "decoderInputSizeMultiplier": 0.0}), "decoderInputSizeMultiplier"),
            (json!({"h": 3, "inputSize": 8, "activation": "tanh"}), "activation"),
            (json!({"h": 3, "inputSize": 8, "histExogList": ["a"]}), "histExogList"),
        ] {
            let e = error("VanillaTransformer", opts).to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}

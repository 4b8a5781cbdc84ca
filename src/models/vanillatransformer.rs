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
use crate::nn::transformer::{EncoderDecoder, EncoderDecoderSizes, FullAttention, InnerAttention};
use crate::nn::Ctx;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The options VanillaTransformer shares with Informer (and NeuralForecast's Autoformer and
/// FEDformer): the decoder's start, widths, dropout, activation and depths.
#[derive(Clone, Debug)]
pub(super) struct EncoderDecoderOptions {
    pub decoder_input_size_multiplier: f64,
    pub hidden_size: usize,
    pub dropout: f64,
    pub n_head: usize,
    pub conv_hidden_size: usize,
    pub activation: String,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
}

impl EncoderDecoderOptions {
    pub fn read(r: &mut OptionReader) -> Result<Self> {
        Self::read_with_heads(r, 4)
    }

    /// With another default for `nHead` (FEDformer's is 8).
    pub fn read_with_heads(r: &mut OptionReader, n_head: usize) -> Result<Self> {
        Ok(EncoderDecoderOptions {
            decoder_input_size_multiplier: r.f64_in("decoderInputSizeMultiplier", 0.5, 0.0, 1.0, true)?,
            hidden_size: r.usize_min("hiddenSize", 128, 1)?,
            dropout: r.f64_in("dropout", 0.05, 0.0, 0.99, false)?,
            n_head: r.usize_min("nHead", n_head, 1)?,
            conv_hidden_size: r.usize_min("convHiddenSize", 32, 1)?,
            activation: r.choice("activation", "gelu", &["relu", "gelu"])?,
            encoder_layers: r.usize_min("encoderLayers", 2, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 1, 1)?,
        })
    }

    /// NeuralForecast's `label_len` in (0, inputSize) check, and heads no more than features.
    pub fn check(&self, class: &str, c: &CommonOptions) -> Result<()> {
        let (label_len, l, m) = (self.label_len(c), c.input_size, self.decoder_input_size_multiplier);
        if label_len == 0 || label_len >= l {
            return Err(Error::range(format!(
                "{class} option 'decoderInputSizeMultiplier' ({m}) gives {label_len} history values for the decoder; it must be in (0, inputSize = {l})"
            )));
        }
        if self.n_head > self.hidden_size {
            return Err(Error::range(format!("{class} option 'nHead' ({}) must not exceed 'hiddenSize' ({})", self.n_head, self.hidden_size)));
        }
        Ok(())
    }

    pub fn to_json(&self) -> Map<String, Value> {
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

    /// History values the decoder starts from: `ceil(L · decoderInputSizeMultiplier)`.
    pub fn label_len(&self, c: &CommonOptions) -> usize {
        (c.input_size as f64 * self.decoder_input_size_multiplier).ceil() as usize
    }

    pub fn sizes(&self, c: &CommonOptions, outputs: usize, distil: bool) -> EncoderDecoderSizes {
        EncoderDecoderSizes {
            input_size: c.input_size,
            h: c.h,
            label_len: self.label_len(c),
            hidden: self.hidden_size,
            heads: self.n_head,
            conv_hidden: self.conv_hidden_size,
            exog: c.futr_exog_list.len(),
            encoder_layers: self.encoder_layers,
            decoder_layers: self.decoder_layers,
            distil,
            outputs,
            gelu: self.activation == "gelu",
            dropout: self.dropout as f32,
        }
    }
}

/// VanillaTransformer's own options.
#[derive(Clone, Debug)]
pub struct VanillaTransformerOptions(EncoderDecoderOptions);

pub type VanillaTransformer = EncoderDecoder<FullAttention, FullAttention, FullAttention>;

impl Spec for VanillaTransformerOptions {
    const CLASS: &'static str = "VanillaTransformer";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = VanillaTransformer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        EncoderDecoderOptions::read(r).map(VanillaTransformerOptions)
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        self.0.check(Self::CLASS, c)
    }

    fn to_json(&self) -> Map<String, Value> {
        self.0.to_json()
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let o = &self.0;
        let (d, heads, ch) = (o.hidden_size, o.n_head, o.conv_hidden_size);
        let df = d as f64;
        let params = o.sizes(c, outputs, false).params();
        // Per attention: projections, scores and softmax (heads × Lq × Lk), the context, the
        // residual, norm and dropout masks; per feed-forward its hidden layer thrice.
        let (l, t) = (c.input_size as f64, (o.label_len(c) + c.h) as f64);
        let (hf, cf) = (heads as f64, ch as f64);
        let attn = |lq: f64, lk: f64| 8.0 * lq * df + 3.0 * hf * lq * lk;
        let ffn = |n: f64| 3.0 * n * cf + 3.0 * n * df;
        let per_window = 4.0 * (l + t) * df
            + o.encoder_layers as f64 * (attn(l, l) + ffn(l))
            + o.decoder_layers as f64 * (attn(t, t) + attn(t, l) + ffn(t))
            + t * outputs as f64;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> VanillaTransformer {
        let dropout = self.0.dropout as f32;
        let full = || FullAttention { dropout };
        EncoderDecoder::new(self.0.sizes(c, outputs, false), full, full, full, rng)
    }
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> Network for EncoderDecoder<E, S, C> {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        EncoderDecoder::forward(self, &batch.insample_y, batch.futr_exog.as_ref(), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_matches_reference, error, reference_case};
    use serde_json::{json, Value};

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/vanillatransformer_reference.py: two small models on 3 windows (a future
        // column; MQLoss with two decoder layers), eval mode and train mode with dropout 0, and
        // the gradients of a mean absolute error through it.
        let cases: Vec<Value> = serde_json::from_str(include_str!("vanillatransformer_reference.json")).unwrap();
        for r in &cases {
            let (m, batch) = reference_case("VanillaTransformer", r);
            assert_matches_reference(m.as_ref(), &batch, r);
        }
    }

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

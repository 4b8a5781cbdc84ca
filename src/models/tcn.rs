//! TCN as NeuralForecast 3.3 builds it: the per-step encoder input (target, historic, static and
//! future exogenous features) goes through a stack of dilated causal convolutions, each followed
//! by the encoder activation (no residuals, no dropout); a `Linear(L → h)` over time maps the
//! encoded window to the horizon, whose steps, joined with their future exogenous values, go
//! through the MLP decoder shared with the recurrent models.

use serde_json::{json, Map, Value};

use super::activation::Activation;
use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::seq_decoder::{decoder_footprint, decoder_shapes, encoder_features, encoder_input, to_horizon, MlpDecoder};
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Conv1d, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The most left padding, `(kernelSize - 1) · dilation`, one layer may add: a receptive field
/// beyond it is far past any window and would only allocate zeros.
const MAX_PADDING: usize = 1 << 20;

#[derive(Clone, Debug)]
pub struct TcnOptions {
    kernel_size: usize,
    dilations: Vec<usize>,
    encoder_hidden_size: usize,
    encoder_activation: String,
    context_size: i64,
    decoder_hidden_size: usize,
    decoder_layers: usize,
    decoder_activation: String,
}

/// One `CausalConv1d`: the convolution, then the activation.
struct CausalConv {
    conv: Conv1d,
    activation: Activation,
}

pub struct Tcn {
    input_size: usize,
    h: usize,
    encoder: Vec<CausalConv>,
    context_adapter: Linear,
    decoder: MlpDecoder,
}

impl TcnOptions {
    fn decoder_shapes(&self, c: &CommonOptions, outputs: usize) -> Vec<(usize, usize)> {
        decoder_shapes(c, self.encoder_hidden_size, self.decoder_hidden_size, self.decoder_layers, outputs)
    }
}

impl Spec for TcnOptions {
    const CLASS: &'static str = "TCN";
    const DEFAULTS: Defaults = Defaults {
        windows_batch_size: 128,
        inference_windows_batch_size: Some(1024),
        scaler_type: "robust",
        // NeuralForecast's inputSize = -1 means three horizons of history.
        input_size_horizons: Some(3),
        takes_exclude_insample_y: false,
        ..Defaults::BASE
    };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Tcn;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(TcnOptions {
            kernel_size: r.usize_min("kernelSize", 2, 1)?,
            dilations: r.usizes("dilations", &[1, 2, 4, 8, 16], 1)?,
            encoder_hidden_size: r.usize_min("encoderHiddenSize", 128, 1)?,
            encoder_activation: r.module_activation("encoderActivation", "ReLU")?,
            // Stored by NeuralForecast, read by no layer.
            context_size: r.i64("contextSize", 10)?,
            decoder_hidden_size: r.usize_min("decoderHiddenSize", 128, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 2, 1)?,
            decoder_activation: r.module_activation("decoderActivation", "ReLU")?,
        })
    }
    fn check(&self, _: &CommonOptions) -> Result<()> {
        if self.dilations.is_empty() {
            return Err(Error::range("TCN option 'dilations' must list at least one dilation"));
        }
        if let Some(d) = self.dilations.iter().find(|&&d| (self.kernel_size - 1).saturating_mul(d) > MAX_PADDING) {
            return Err(Error::range(format!(
                "TCN options 'kernelSize' ({}) and 'dilations' ({d}): a receptive field of (kernelSize - 1) · dilation = {} steps exceeds {MAX_PADDING}",
                self.kernel_size,
                (self.kernel_size - 1).saturating_mul(*d)
            )));
        }
        Ok(())
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("kernelSize", json!(self.kernel_size)),
            ("dilations", json!(self.dilations)),
            ("encoderHiddenSize", json!(self.encoder_hidden_size)),
            ("encoderActivation", json!(self.encoder_activation)),
            ("contextSize", json!(self.context_size)),
            ("decoderHiddenSize", json!(self.decoder_hidden_size)),
            ("decoderLayers", json!(self.decoder_layers)),
            ("decoderActivation", json!(self.decoder_activation)),
        ])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, h, k) = (c.input_size as f64, c.h as f64, self.kernel_size as f64);
        let (mut channels, hs) = (encoder_features(c) as f64, self.encoder_hidden_size as f64);
        let (mut params, mut per_window) = (0.0, l * channels);
        for &d in &self.dilations {
            params += hs * (channels * k + 1.0) + Activation::params(&self.encoder_activation);
            // The padded input, its columns for the product, the output and the activation.
            let padded = l + (k - 1.0) * d as f64;
            per_window += padded * channels * (1.0 + k) + 2.0 * l * hs;
            channels = hs;
        }
        let (decoder, decoded) = decoder_footprint(&self.decoder_shapes(c, outputs), &self.decoder_activation, c.h);
        Footprint { params: params + (l + 1.0) * h + decoder, per_window: per_window + 2.0 * h * hs + decoded }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Tcn {
        let mut channels = encoder_features(c);
        let encoder = self
            .dilations
            .iter()
            .map(|&d| {
                let conv = Conv1d::causal(channels, self.encoder_hidden_size, self.kernel_size, d, rng);
                channels = self.encoder_hidden_size;
                CausalConv { conv, activation: Activation::parse(&self.encoder_activation, Self::CLASS).expect("checked when read") }
            })
            .collect();
        let context_adapter = Linear::new(c.input_size, c.h, true, rng);
        let decoder = MlpDecoder::new(self.decoder_shapes(c, outputs), &self.decoder_activation, Self::CLASS, rng);
        Tcn { input_size: c.input_size, h: c.h, encoder, context_adapter, decoder }
    }
}

impl Module for Tcn {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (i, layer) in self.encoder.iter().enumerate() {
            let p = join(prefix, &format!("hist_encoder.tcn.{i}"));
            layer.conv.visit(&join(&p, "conv"), f);
            layer.activation.visit(&join(&p, "activation"), f);
        }
        self.context_adapter.visit(&join(prefix, "context_adapter"), f);
        self.decoder.visit(prefix, f);
    }
}

impl Network for Tcn {
    fn forward(&self, batch: &Batch, _: &mut Ctx) -> Tensor {
        // [B, L, features] → [B, features, L] for the convolutions, and back.
        let x = encoder_input(batch, self.input_size).transpose(1, 2);
        let encoded = self.encoder.iter().fold(x, |x, layer| layer.activation.forward(&layer.conv.forward(&x)));
        let horizon = to_horizon(&encoded.transpose(1, 2), Some(&self.context_adapter), self.h);
        self.decoder.forward(horizon, batch)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::error;
    use crate::models::build;
    use crate::nn::named_params;
    use serde_json::json;

    #[test]
    fn parameter_names_follow_neuralforecast() {
        let m = build("TCN", &json!({"h": 12, "inputSize": 24})).unwrap();
        let names: Vec<String> = named_params(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        for want in ["hist_encoder.tcn.0.conv.weight", "hist_encoder.tcn.4.conv.bias", "context_adapter.weight", "mlp_decoder.layers.1.weight"] {
            assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"h": 3, "inputSize": 8, "dilations": []}), "dilations"),
            (json!({"h": 3, "inputSize": 8, "dilations": [1, 0]}), "dilations"),
            (json!({"h": 3, "inputSize": 8, "kernelSize": 3, "dilations": [1, 1_000_000_000]}), "dilations"),
            (json!({"h": 3, "inputSize": 8, "kernelSize": 0}), "kernelSize"),
            (json!({"h": 3, "inputSize": 8, "encoderActivation": "Swish"}), "encoderActivation"),
            (json!({"h": 3, "inputSize": 8, "decoderActivation": "Swish"}), "decoderActivation"),
        ] {
            let e = error("TCN", opts).to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}

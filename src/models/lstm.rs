//! LSTM (NeuralForecast's `LSTM`, non-recurrent mode): a multi-layer LSTM encodes the input
//! window (with historic, static and future exogenous features per step); the hidden states of
//! the last `h` steps (or, when `h > inputSize`, a linear upsampling of all steps along time),
//! joined with the horizon's future exogenous values, go through an MLP decoder per step.

use serde_json::{json, Map, Value};

use super::activation::{Activation, NAMES as ACTIVATIONS};
use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Cell, Ctx, Linear, Module, Recurrent};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// LSTM's own options.
#[derive(Clone, Debug)]
pub struct LstmOptions {
    encoder_n_layers: usize,
    encoder_hidden_size: usize,
    encoder_bias: bool,
    encoder_dropout: f32,
    decoder_hidden_size: usize,
    decoder_layers: usize,
    decoder_activation: String,
}

pub struct Lstm {
    input_size: usize,
    h: usize,
    outputs: usize,
    encoder: Recurrent,
    /// `[inputSize → h]` along time, only when `h > inputSize`.
    upsample: Option<Linear>,
    decoder: Vec<Linear>,
    activation: Activation,
}

impl LstmOptions {
    /// The decoder's layer widths, `(in, out)`, applied to each horizon step.
    fn decoder_shapes(&self, c: &CommonOptions, outputs: usize) -> Vec<(usize, usize)> {
        let first = self.encoder_hidden_size.saturating_add(c.futr_exog_list.len());
        if self.decoder_layers == 1 {
            return vec![(first, outputs)];
        }
        let d = self.decoder_hidden_size;
        let mut shapes = vec![(first, d)];
        shapes.extend(std::iter::repeat((d, d)).take(self.decoder_layers - 2));
        shapes.push((d, outputs));
        shapes
    }
}

impl Spec for LstmOptions {
    const CLASS: &'static str = "LSTM";
    const DEFAULTS: Defaults = Defaults {
        windows_batch_size: 128,
        inference_windows_batch_size: Some(1024),
        scaler_type: "robust",
        // NeuralForecast's inputSize = -1 means three horizons of history.
        input_size_horizons: Some(3),
        ..Defaults::BASE
    };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Lstm;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let o = LstmOptions {
            encoder_n_layers: r.usize_min("encoderNLayers", 2, 1)?,
            encoder_hidden_size: r.usize_min("encoderHiddenSize", 128, 1)?,
            encoder_bias: r.bool("encoderBias", true)?,
            encoder_dropout: r.f64_in("encoderDropout", 0.0, 0.0, 0.99, false)? as f32,
            decoder_hidden_size: r.usize_min("decoderHiddenSize", 128, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 2, 1)?,
            decoder_activation: r.choice("decoderActivation", "ReLU", &ACTIVATIONS)?,
        };
        if r.bool("recurrent", false)? {
            return Err(Error::range("LSTM option 'recurrent': only recurrent: false (NeuralForecast's default) is supported"));
        }
        Ok(o)
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("encoderNLayers", json!(self.encoder_n_layers)),
            ("encoderHiddenSize", json!(self.encoder_hidden_size)),
            ("encoderBias", json!(self.encoder_bias)),
            ("encoderDropout", json!(self.encoder_dropout)),
            ("decoderHiddenSize", json!(self.decoder_hidden_size)),
            ("decoderLayers", json!(self.decoder_layers)),
            ("decoderActivation", json!(self.decoder_activation)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, h) = (c.input_size as f64, c.h as f64);
        let features = (1 + c.hist_exog_list.len() + c.stat_exog_list.len() + c.futr_exog_list.len()) as f64;
        let (hs, layers) = (self.encoder_hidden_size as f64, self.encoder_n_layers as f64);
        let bias = if self.encoder_bias { 2.0 } else { 0.0 };
        let gates = 4.0 * hs;
        let encoder = gates * (features + hs + bias) + (layers - 1.0) * gates * (hs + hs + bias);
        let upsample = if h > l { (l + 1.0) * h } else { 0.0 };
        let shapes = self.decoder_shapes(c, outputs);
        let decoder: f64 = shapes.iter().map(|&(i, o)| (i as f64 + 1.0) * o as f64).sum();
        let decoded: f64 = shapes.iter().map(|&(i, o)| i as f64 + 2.0 * o as f64).sum();
        Footprint {
            params: encoder + upsample + decoder + Activation::params(&self.decoder_activation),
            // Per step and layer: the gates, cell and hidden state kept for backward; then each
            // horizon step through the decoder.
            per_window: l * features + l * layers * (gates + 3.0 * hs) + h * (hs + decoded),
        }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Lstm {
        let (l, h) = (c.input_size, c.h);
        let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
        let hidden = self.encoder_hidden_size;
        let encoder = Recurrent::new(Cell::Lstm, 1 + nx + ns + nf, hidden, self.encoder_n_layers, false, self.encoder_bias, self.encoder_dropout, rng);
        let upsample = (h > l).then(|| Linear::new(l, h, true, rng));
        let decoder = self.decoder_shapes(c, outputs).into_iter().map(|(i, o)| Linear::new(i, o, true, rng)).collect();
        let activation = Activation::parse(&self.decoder_activation, "LSTM").expect("checked against NAMES when read");
        Lstm { input_size: l, h, outputs, encoder, upsample, decoder, activation }
    }
}

impl Module for Lstm {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.encoder.visit(&join(prefix, "hist_encoder"), f);
        self.upsample.visit(&join(prefix, "upsample_sequence"), f);
        self.decoder.visit(&join(prefix, "mlp_decoder.layers"), f);
        self.activation.visit(&join(prefix, "activation"), f);
    }
}

impl Network for Lstm {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (b, l, h) = (batch.insample_y.dim(0), self.input_size, self.h);
        let mut parts = vec![batch.insample_y.reshape(&[b, l, 1])];
        if let Some(x) = &batch.hist_exog {
            parts.push(x.clone());
        }
        if let Some(s) = &batch.stat_exog {
            let ns = s.dim(1);
            parts.push(s.reshape(&[b, 1, ns]).broadcast_to(&[b, l, ns]));
        }
        if let Some(f) = &batch.futr_exog {
            parts.push(f.narrow(1, 0, l));
        }
        let input = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 2) };
        let states = self.encoder.forward(&input, ctx).output;
        let mut hidden = match &self.upsample {
            Some(up) => up.forward(&states.transpose(1, 2)).transpose(1, 2),
            None => states.narrow(1, l - h, h),
        };
        if let Some(f) = &batch.futr_exog {
            hidden = Tensor::concat(&[hidden, f.narrow(1, l, h)], 2);
        }
        let last = self.decoder.len() - 1;
        for (i, layer) in self.decoder.iter().enumerate() {
            hidden = layer.forward(&hidden);
            if i < last {
                hidden = self.activation.forward(&hidden);
            }
        }
        assert_eq!(hidden.shape(), &[b, h, self.outputs]);
        hidden
    }
}

//! NeuralForecast's recurrent encoders in their direct (non-recurrent) mode: `LSTM`, `RNN` and
//! `GRU`. A multi-layer recurrent network encodes the input window (with historic, static and
//! future exogenous features per step); the hidden states of the last `h` steps (or, when
//! `h > inputSize`, a linear upsampling of all steps along time), joined with the horizon's future
//! exogenous values, go through an MLP decoder per step. The three classes differ only in the cell,
//! the default width and what they do with `encoderActivation`.

use std::marker::PhantomData;

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::seq_decoder::{decoder_footprint, decoder_shapes, encoder_features, encoder_input, to_horizon, MlpDecoder};
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Cell, Ctx, Linear, Module, Recurrent};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// What sets one recurrent class apart.
pub trait Kind: Clone + std::fmt::Debug + Send + Sync + 'static {
    const CLASS: &'static str;
    const CELL: Cell;
    const HIDDEN: usize;
    /// How the class takes `encoderActivation`.
    const ACTIVATION: EncoderActivation;
}

pub enum EncoderActivation {
    /// Not an option of the class.
    None,
    /// Stored and shown, one of these names, but never reaches the cell (NeuralForecast's RNN:
    /// `nn.RNN` is built without `nonlinearity`, so it is always tanh).
    Stored { default: &'static str, allowed: &'static [&'static str] },
    /// Deprecated and ignored (NeuralForecast's GRU warns): any string or null.
    Deprecated,
}

#[derive(Clone, Debug)]
pub struct LstmKind;
#[derive(Clone, Debug)]
pub struct RnnKind;
#[derive(Clone, Debug)]
pub struct GruKind;

impl Kind for LstmKind {
    const CLASS: &'static str = "LSTM";
    const CELL: Cell = Cell::Lstm;
    const HIDDEN: usize = 128;
    const ACTIVATION: EncoderActivation = EncoderActivation::None;
}

impl Kind for RnnKind {
    const CLASS: &'static str = "RNN";
    const CELL: Cell = Cell::Rnn { relu: false };
    const HIDDEN: usize = 128;
    const ACTIVATION: EncoderActivation = EncoderActivation::Stored { default: "tanh", allowed: &["tanh", "relu"] };
}

impl Kind for GruKind {
    const CLASS: &'static str = "GRU";
    const CELL: Cell = Cell::Gru;
    const HIDDEN: usize = 200;
    const ACTIVATION: EncoderActivation = EncoderActivation::Deprecated;
}

pub type LstmOptions = RecurrentOptions<LstmKind>;
pub type RnnOptions = RecurrentOptions<RnnKind>;
pub type GruOptions = RecurrentOptions<GruKind>;

/// The own options of a recurrent class.
#[derive(Clone, Debug)]
pub struct RecurrentOptions<K> {
    encoder_n_layers: usize,
    encoder_hidden_size: usize,
    encoder_activation: Option<String>,
    encoder_bias: bool,
    encoder_dropout: f32,
    decoder_hidden_size: usize,
    decoder_layers: usize,
    decoder_activation: String,
    kind: PhantomData<K>,
}

pub struct RecurrentNet {
    input_size: usize,
    h: usize,
    outputs: usize,
    encoder: Recurrent,
    /// `[inputSize → h]` along time, only when `h > inputSize`.
    upsample: Option<Linear>,
    decoder: MlpDecoder,
}

impl<K: Kind> RecurrentOptions<K> {
    fn decoder_shapes(&self, c: &CommonOptions, outputs: usize) -> Vec<(usize, usize)> {
        decoder_shapes(c, self.encoder_hidden_size, self.decoder_hidden_size, self.decoder_layers, outputs)
    }
}

impl<K: Kind> Spec for RecurrentOptions<K> {
    const CLASS: &'static str = K::CLASS;
    const DEFAULTS: Defaults = Defaults {
        windows_batch_size: 128,
        inference_windows_batch_size: Some(1024),
        scaler_type: "robust",
        // NeuralForecast's inputSize = -1 means three horizons of history.
        input_size_horizons: Some(3),
        ..Defaults::BASE
    };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = RecurrentNet;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let encoder_activation = match K::ACTIVATION {
            EncoderActivation::None => None,
            EncoderActivation::Stored { default, allowed } => Some(r.choice("encoderActivation", default, allowed)?),
            EncoderActivation::Deprecated => r.optional_string("encoderActivation")?,
        };
        let o = RecurrentOptions {
            encoder_n_layers: r.usize_min("encoderNLayers", 2, 1)?,
            encoder_hidden_size: r.usize_min("encoderHiddenSize", K::HIDDEN, 1)?,
            encoder_activation,
            encoder_bias: r.bool("encoderBias", true)?,
            encoder_dropout: r.f64_in("encoderDropout", 0.0, 0.0, 0.99, false)? as f32,
            decoder_hidden_size: r.usize_min("decoderHiddenSize", 128, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 2, 1)?,
            decoder_activation: r.module_activation("decoderActivation", "ReLU")?,
            kind: PhantomData,
        };
        if r.bool("recurrent", false)? {
            return Err(Error::range(format!("{} option 'recurrent': only recurrent: false (NeuralForecast's default) is supported", K::CLASS)));
        }
        // Deprecated (NeuralForecast warns and ignores it).
        r.i64("contextSize", 0)?;
        // NeuralForecast uses these two only in recurrent mode.
        r.usize_min("hTrain", 1, 1)?;
        r.i64("inferenceInputSize", 0)?;
        Ok(o)
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = entries([
            ("encoderNLayers", json!(self.encoder_n_layers)),
            ("encoderHiddenSize", json!(self.encoder_hidden_size)),
            ("encoderBias", json!(self.encoder_bias)),
            ("encoderDropout", json!(self.encoder_dropout)),
            ("decoderHiddenSize", json!(self.decoder_hidden_size)),
            ("decoderLayers", json!(self.decoder_layers)),
            ("decoderActivation", json!(self.decoder_activation)),
        ]);
        if let Some(a) = &self.encoder_activation {
            m.insert("encoderActivation".into(), json!(a));
        }
        m
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, h) = (c.input_size as f64, c.h as f64);
        let features = encoder_features(c) as f64;
        let (hs, layers) = (self.encoder_hidden_size as f64, self.encoder_n_layers as f64);
        let bias = if self.encoder_bias { 2.0 } else { 0.0 };
        let gates = K::CELL.gates() as f64 * hs;
        let encoder = gates * (features + hs + bias) + (layers - 1.0) * gates * (hs + hs + bias);
        let upsample = if h > l { (l + 1.0) * h } else { 0.0 };
        let (decoder, decoded) = decoder_footprint(&self.decoder_shapes(c, outputs), &self.decoder_activation, c.h);
        Footprint {
            params: encoder + upsample + decoder,
            // Per step and layer: the gates, cell and hidden state kept for backward; then each
            // horizon step through the decoder.
            per_window: l * features + l * layers * (gates + 3.0 * hs) + h * hs + decoded,
        }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> RecurrentNet {
        let (l, h) = (c.input_size, c.h);
        let encoder = Recurrent::new(K::CELL, encoder_features(c), self.encoder_hidden_size, self.encoder_n_layers, false, self.encoder_bias, self.encoder_dropout, rng);
        let upsample = (h > l).then(|| Linear::new(l, h, true, rng));
        let decoder = MlpDecoder::new(self.decoder_shapes(c, outputs), &self.decoder_activation, K::CLASS, rng);
        RecurrentNet { input_size: l, h, outputs, encoder, upsample, decoder }
    }
}

impl Module for RecurrentNet {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.encoder.visit(&join(prefix, "hist_encoder"), f);
        self.upsample.visit(&join(prefix, "upsample_sequence"), f);
        self.decoder.visit(prefix, f);
    }
}

impl Network for RecurrentNet {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let input = encoder_input(batch, self.input_size);
        let states = self.encoder.forward(&input, ctx);
        let y = self.decoder.forward(to_horizon(&states, self.upsample.as_ref(), self.h), batch);
        assert_eq!(y.shape(), &[batch.insample_y.dim(0), self.h, self.outputs]);
        y
    }
}

//! NeuralForecast's recurrent encoders `LSTM`, `RNN` and `GRU`. A multi-layer recurrent network
//! encodes the input window (with historic, static and future exogenous features per step).
//!
//! Direct mode (`recurrent: false`, the default): the hidden states of the last `h` steps (or,
//! when `h > inputSize`, a linear upsampling of all steps along time), joined with the horizon's
//! future exogenous values, go through an MLP decoder per step.
//!
//! Recurrent mode (`recurrent: true`): every step's hidden state is a forecast of the next
//! point, through `proj` (`Linear(H → outputs)`) for RNN and GRU, and through the LSTM's own
//! projection (PyTorch's `proj_size = outputs`) for LSTM; there is no decoder. How such a model
//! is trained and run one step at a time is the pipeline's (`models::Recurrence`,
//! `forecast::task`).
//!
//! The three classes differ only in the cell, the default width and what they do with
//! `encoderActivation`.

use std::marker::PhantomData;

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::seq_decoder::{decoder_footprint, decoder_shapes, encoder_features, encoder_input, to_horizon, MlpDecoder};
use super::{Batch, Capabilities, Footprint, Network, Recurrence, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Cell, Ctx, Linear, Module, Recurrent, RecurrentRun, RecurrentState};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast's `n_samples` (a BaseModel default no recurrent class overrides but DeepAR):
/// draws per step for a distribution loss's quantiles in a recurrent forecast.
const BASE_SAMPLES: usize = 100;

/// The options of NeuralForecast's recurrent path: `hTrain` (targets per training window) and
/// `inferenceInputSize` (None for `inputSize`).
pub(super) fn read_recurrence(r: &mut OptionReader, class: &str) -> Result<(usize, Option<usize>)> {
    let h_train = r.usize_min("hTrain", 1, 1)?;
    // NeuralForecast takes None or any value below 1 as inputSize.
    let inference_input_size = match r.i64("inferenceInputSize", 0)? {
        n if n > 1 << 40 => return Err(Error::range(format!("{class} option 'inferenceInputSize' must be <= 2^40, got {n}"))),
        n if n >= 1 => Some(n as usize),
        _ => None,
    };
    Ok((h_train, inference_input_size))
}

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
    recurrent: bool,
    h_train: usize,
    /// NeuralForecast's `inference_input_size`, `None` for `inputSize`.
    inference_input_size: Option<usize>,
    kind: PhantomData<K>,
}

pub struct RecurrentNet {
    input_size: usize,
    h: usize,
    outputs: usize,
    encoder: Recurrent,
    head: Head,
}

enum Head {
    Direct {
        /// `[inputSize → h]` along time, only when `h > inputSize`.
        upsample: Option<Linear>,
        decoder: MlpDecoder,
    },
    /// Every step's output is the next point's forecast; `proj` maps RNN and GRU states to the
    /// outputs (a projected LSTM's state is already that).
    Recurrent { proj: Option<Linear>, h_train: usize },
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
        let recurrent = r.bool("recurrent", false)?;
        // Deprecated (NeuralForecast warns and ignores it).
        r.i64("contextSize", 0)?;
        // Used only in recurrent mode.
        let (h_train, inference_input_size) = read_recurrence(r, K::CLASS)?;
        Ok(RecurrentOptions {
            encoder_n_layers: r.usize_min("encoderNLayers", 2, 1)?,
            encoder_hidden_size: r.usize_min("encoderHiddenSize", K::HIDDEN, 1)?,
            encoder_activation,
            encoder_bias: r.bool("encoderBias", true)?,
            encoder_dropout: r.f64_in("encoderDropout", 0.0, 0.0, 0.99, false)? as f32,
            decoder_hidden_size: r.usize_min("decoderHiddenSize", 128, 1)?,
            decoder_layers: r.usize_min("decoderLayers", 2, 1)?,
            decoder_activation: r.module_activation("decoderActivation", "ReLU")?,
            recurrent,
            h_train,
            inference_input_size,
            kind: PhantomData,
        })
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
            ("recurrent", json!(self.recurrent)),
            ("hTrain", json!(self.h_train)),
            ("inferenceInputSize", json!(self.inference_input_size)),
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
        // Each layer's state (and its outputs) has `out` features: LSTM's projection in recurrent mode.
        let projected = self.recurrent && K::CELL == Cell::Lstm;
        let out = if projected { outputs as f64 } else { hs };
        let projection = if projected { out * hs } else { 0.0 };
        let encoder = gates * (features + out + bias) + (layers - 1.0) * gates * (out + out + bias) + layers * projection;
        // Per step and layer: the gates, cell and hidden state kept for backward.
        let per_step = layers * (gates + 3.0 * hs);
        if self.recurrent {
            // A training window runs (inputSize + 1) + hTrain - 1 steps, a forecast
            // inferenceInputSize + h (counted too, so that absurd sizes are refused up front).
            let inference = self.inference_input_size.unwrap_or(c.input_size) as f64 + h;
            let steps = (l + self.h_train as f64).max(inference);
            let proj = if projected { 0.0 } else { (hs + 1.0) * outputs as f64 };
            return Footprint { params: encoder + proj, per_window: steps * (features + per_step + outputs as f64) };
        }
        let upsample = if h > l { (l + 1.0) * h } else { 0.0 };
        let (decoder, decoded) = decoder_footprint(&self.decoder_shapes(c, outputs), &self.decoder_activation, c.h);
        Footprint {
            params: encoder + upsample + decoder,
            // Then each horizon step through the decoder.
            per_window: l * features + l * per_step + h * hs + decoded,
        }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> RecurrentNet {
        let (l, h) = (c.input_size, c.h);
        let (features, hidden, layers) = (encoder_features(c), self.encoder_hidden_size, self.encoder_n_layers);
        if self.recurrent {
            let (encoder, proj) = if K::CELL == Cell::Lstm {
                (Recurrent::with_projection(features, hidden, outputs, layers, false, self.encoder_bias, self.encoder_dropout, rng), None)
            } else {
                let encoder = Recurrent::new(K::CELL, features, hidden, layers, false, self.encoder_bias, self.encoder_dropout, rng);
                (encoder, Some(Linear::new(hidden, outputs, true, rng)))
            };
            return RecurrentNet { input_size: l, h, outputs, encoder, head: Head::Recurrent { proj, h_train: self.h_train } };
        }
        let encoder = Recurrent::new(K::CELL, features, hidden, layers, false, self.encoder_bias, self.encoder_dropout, rng);
        let upsample = (h > l).then(|| Linear::new(l, h, true, rng));
        let decoder = MlpDecoder::new(self.decoder_shapes(c, outputs), &self.decoder_activation, K::CLASS, rng);
        RecurrentNet { input_size: l, h, outputs, encoder, head: Head::Direct { upsample, decoder } }
    }

    fn recurrence(&self, c: &CommonOptions) -> Option<Recurrence> {
        self.recurrent.then(|| Recurrence { h_train: self.h_train, inference_input_size: self.inference_input_size.unwrap_or(c.input_size), samples: BASE_SAMPLES })
    }
}

impl Module for RecurrentNet {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.encoder.visit(&join(prefix, "hist_encoder"), f);
        match &self.head {
            Head::Direct { upsample, decoder } => {
                upsample.visit(&join(prefix, "upsample_sequence"), f);
                decoder.visit(prefix, f);
            }
            Head::Recurrent { proj, .. } => proj.visit(&join(prefix, "proj"), f),
        }
    }
}

impl Network for RecurrentNet {
    /// Direct mode: the horizon's forecast. Recurrent mode: NeuralForecast's `forward` over a
    /// teacher-forced training sequence, the one-step forecasts of its last `hTrain` steps.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        match &self.head {
            Head::Direct { upsample, decoder } => {
                let input = encoder_input(batch, self.input_size);
                let states = self.encoder.forward(&input, ctx);
                let y = decoder.forward(to_horizon(&states, upsample.as_ref(), self.h), batch);
                assert_eq!(y.shape(), &[b, self.h, self.outputs]);
                y
            }
            Head::Recurrent { proj, h_train } => {
                let input = encoder_input(batch, batch.insample_y.dim(1));
                let states = self.encoder.forward(&input, ctx);
                let y = match proj {
                    Some(p) => p.forward(&states),
                    None => states,
                };
                let keep = (*h_train).min(y.dim(1));
                y.narrow(1, y.dim(1) - keep, keep)
            }
        }
    }

    fn run(&self, batch: &Batch, state: Option<&RecurrentState>, ctx: &mut Ctx) -> Option<RecurrentRun> {
        let Head::Recurrent { proj, .. } = &self.head else {
            return None;
        };
        let run = self.encoder.forward_from(&encoder_input(batch, batch.insample_y.dim(1)), state, ctx);
        let output = match proj {
            Some(p) => p.forward(&run.output),
            None => run.output,
        };
        Some(RecurrentRun { output, state: run.state })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::error::ErrorKind;
    use crate::models::tests::{assert_close, assert_grads_close, base, error, floats, forward, reference_case};
    use crate::models::{build, configure_class, Recurrence};
    use crate::nn::{named_params, param_count};

    /// The reference's parameters under our names and in our order, so that `reference_case` can
    /// load them: NeuralForecast 3.3's `MLP` is one `nn.Sequential` (Linear, activation, Dropout,
    /// ...), so its i-th Linear is `layers.{3i}` where ours is `layers.{i}`; and it registers
    /// `upsample_sequence` after `mlp_decoder`, where we visit it before.
    fn in_our_order(class: &str, r: &serde_json::Value) -> serde_json::Value {
        let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let values = floats(r, "values");
        let m = build(class, &r["options"]).unwrap();
        let sizes: std::collections::HashMap<String, usize> = named_params(m.as_ref()).into_iter().map(|(n, p)| (n, p.numel())).collect();
        // Where each of NeuralForecast's parameters starts in its flat vectors, under our name.
        let mut spans = std::collections::HashMap::new();
        let mut at = 0;
        for n in &names {
            let ours = match n.strip_prefix("mlp_decoder.layers.").and_then(|t| t.split_once('.')) {
                Some((i, rest)) => format!("mlp_decoder.layers.{}.{rest}", i.parse::<usize>().unwrap() / 3),
                None => n.to_string(),
            };
            let k = *sizes.get(&ours).unwrap_or_else(|| panic!("{class}: {ours} not among ours {:?}", sizes.keys()));
            spans.insert(ours, at..at + k);
            at += k;
        }
        assert_eq!(at, values.len(), "{class}: NeuralForecast's parameters have our sizes");
        let ours: Vec<String> = named_params(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        let mut out = r.clone();
        // The weights and, where the reference has them, their gradients: both in parameter order.
        for key in ["values", "grads"].into_iter().filter(|k| r.get(*k).is_some()) {
            let flat = floats(r, key);
            out[key] = json!(ours.iter().flat_map(|n| flat[spans[n].clone()].to_vec()).collect::<Vec<f32>>());
        }
        out["names"] = json!(ours);
        out
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/gru_reference.py: per class, a 2-layer encoder with a future column and h < L,
        // then a 1-layer one with h > L (upsampled along time) and a 1-layer decoder; the eval
        // forward, and the gradients of a train-mode MAE.
        let r: serde_json::Value = serde_json::from_str(include_str!("gru_reference.json")).unwrap();
        for class in ["GRU", "RNN"] {
            for case in r[class].as_array().unwrap() {
                let case = in_our_order(class, case);
                let (m, batch) = reference_case(class, &case);
                assert_close(&forward(m.as_ref(), &batch).to_vec(), &floats(&case, "out"));
                // Train mode with the default dropout 0: the gradients of an MAE, as torch's.
                let train = m.forward(&batch, &mut crate::nn::Ctx::train(&mut crate::rng::Rng::seed(0)));
                assert_grads_close(m.as_ref(), &train, &case);
            }
        }
    }

    #[test]
    fn recurrent_parameter_counts_and_names_match_neuralforecast() {
        // neuralforecast 3.3.0, h 12, input_size 24, recurrent=True, without / with futr_exog_list=['month'].
        for (class, without, with, last) in [("LSTM", 4352, 4864, "hist_encoder.weight_hr_l1"), ("RNN", 49_921, 50_049, "proj.bias"), ("GRU", 363_201, 363_801, "proj.bias")] {
            let m = build(class, &json!({"h": 12, "inputSize": 24, "recurrent": true})).unwrap();
            assert_eq!(param_count(m.as_ref()), without, "{class}");
            assert_eq!(named_params(m.as_ref()).last().unwrap().0, last, "{class}");
            let m = build(class, &json!({"h": 12, "inputSize": 24, "recurrent": true, "futrExogList": ["month"]})).unwrap();
            assert_eq!(param_count(m.as_ref()), with, "{class} with one future column");
            let c = configure_class(class, &json!({"h": 12, "inputSize": 24, "recurrent": true, "futrExogList": ["month"]})).unwrap();
            assert_eq!(c.footprint().params as usize, with, "{class}: footprint");
        }
    }

    #[test]
    fn recurrent_options_default_as_neuralforecast_and_are_stored() {
        let c = configure_class("GRU", &json!({"h": 6, "recurrent": true})).unwrap();
        assert_eq!(c.recurrence(), Some(Recurrence { h_train: 1, inference_input_size: 18, samples: 100 }), "inferenceInputSize None is inputSize");
        let o = c.options_json();
        assert_eq!((o["recurrent"].clone(), o["hTrain"].clone(), o["inferenceInputSize"].clone()), (json!(true), json!(1), json!(null)));
        let c = configure_class("LSTM", &json!({"h": 6, "inputSize": 8, "recurrent": true, "hTrain": 3, "inferenceInputSize": 30})).unwrap();
        assert_eq!(c.recurrence(), Some(Recurrence { h_train: 3, inference_input_size: 30, samples: 100 }));
        // NeuralForecast takes an inference_input_size below 1 as input_size.
        let c = configure_class("RNN", &json!({"h": 6, "inputSize": 8, "recurrent": true, "inferenceInputSize": -5})).unwrap();
        assert_eq!(c.recurrence().unwrap().inference_input_size, 8);
        assert_eq!(configure_class("RNN", &json!({"h": 6, "inputSize": 8})).unwrap().recurrence(), None);
    }

    #[test]
    fn recurrent_option_errors_name_the_option() {
        for class in ["LSTM", "RNN", "GRU"] {
            let e = error(class, base(json!({"recurrent": true, "hTrain": 0})));
            assert!(e.kind == ErrorKind::Range && e.message.contains("'hTrain'"), "{}", e.message);
            let e = error(class, base(json!({"recurrent": true, "inferenceInputSize": 1_u64 << 50})));
            assert!(e.kind == ErrorKind::Range && e.message.contains("'inferenceInputSize'"), "{}", e.message);
            let e = error(class, base(json!({"recurrent": "yes"})));
            assert!(e.kind == ErrorKind::Type && e.message.contains("'recurrent'"), "{}", e.message);
        }
    }
}

//! DeepAR (Salinas et al., 2020; NeuralForecast's `DeepAR`): an LSTM reads, at every step, the
//! target and the exogenous values of the step it forecasts, and an MLP decoder (one Linear by
//! default) maps each hidden state to the loss's outputs, by default a StudentT's parameters.
//!
//! DeepAR is always recurrent (NeuralForecast's `RECURRENT = True`, no switch): it is trained with
//! teacher forcing on the last `hTrain` one-step forecasts of each window, and forecasts one step
//! at a time, carrying the LSTM's state and feeding back each step's distribution mean (the
//! pipeline's, `models::Recurrence` and `forecast::task`). As NeuralForecast 3.3.0 does, the
//! quantiles come from `trajectorySamples` independent draws of each step's distribution, not from
//! sample paths, and the forecast column is the distribution's mean.
//!
//! NeuralForecast quirks kept: a point loss or MQLoss trains too (nothing asks for a
//! DistributionLoss); `inferenceInputSize` is no argument of DeepAR's but reaches BaseModel
//! through `**trainer_kwargs`, so it works; `decoderActivation` is ignored without hidden layers.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::recurrent::read_recurrence;
use super::seq_decoder::{decoder_footprint, encoder_features, encoder_input_static_last, mlp_shapes, MlpDecoder};
use super::{Batch, Capabilities, Footprint, Network, Recurrence, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Cell, Ctx, Module, Recurrent, RecurrentRun, RecurrentState};
use crate::rng::Rng;
use crate::tensor::Tensor;

const CLASS: &str = "DeepAR";

/// DeepAR's own options.
#[derive(Clone, Debug)]
pub struct DeepArOptions {
    h_train: usize,
    inference_input_size: Option<usize>,
    lstm_n_layers: usize,
    lstm_hidden_size: usize,
    lstm_dropout: f32,
    decoder_hidden_layers: usize,
    decoder_hidden_size: usize,
    decoder_activation: String,
    trajectory_samples: usize,
}

/// The DeepAR network.
pub struct DeepAr {
    h_train: usize,
    hist_encoder: Recurrent,
    decoder: MlpDecoder,
}

impl DeepArOptions {
    fn decoder_shapes(&self, outputs: usize) -> Vec<(usize, usize)> {
        mlp_shapes(self.lstm_hidden_size, self.decoder_hidden_size, self.decoder_hidden_layers + 1, outputs)
    }

    /// The activation the decoder is built with: none runs (nor is PReLU's slope a parameter)
    /// when the decoder is one Linear.
    fn built_activation(&self) -> &str {
        if self.decoder_hidden_layers == 0 {
            "ReLU"
        } else {
            &self.decoder_activation
        }
    }
}

impl Spec for DeepArOptions {
    const CLASS: &'static str = CLASS;
    const DEFAULTS: Defaults = Defaults {
        num_lr_decays: 3,
        inference_windows_batch_size: None,
        input_size_horizons: Some(3),
        loss: r#"{"type": "DistributionLoss", "distribution": "StudentT", "level": [80, 90]}"#,
        valid_loss: Some("MAE"),
        ..Defaults::BASE
    };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = DeepAr;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let (h_train, inference_input_size) = read_recurrence(r, CLASS)?;
        Ok(DeepArOptions {
            h_train,
            inference_input_size,
            lstm_n_layers: r.usize_min("lstmNLayers", 2, 1)?,
            lstm_hidden_size: r.usize_min("lstmHiddenSize", 128, 1)?,
            lstm_dropout: r.f64_in("lstmDropout", 0.1, 0.0, 0.99, false)? as f32,
            decoder_hidden_layers: r.usize("decoderHiddenLayers", 0)?,
            decoder_hidden_size: r.usize("decoderHiddenSize", 0)?,
            // NeuralForecast 3.3.0: None means ReLU; the name is checked even when unused.
            decoder_activation: r.module_activation("decoderActivation", "ReLU")?,
            trajectory_samples: r.usize_min("trajectorySamples", 100, 1)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        if c.exclude_insample_y == Some(true) {
            return Err(Error::type_err(format!("{CLASS} option 'excludeInsampleY': {CLASS} has no possibility for excluding y (the target is its recurrent input)")));
        }
        if self.decoder_hidden_layers > 0 && self.decoder_hidden_size == 0 {
            return Err(Error::range(format!(
                "{CLASS} option 'decoderHiddenSize' must be positive when decoderHiddenLayers > 0, got 0 (decoderHiddenLayers is {})",
                self.decoder_hidden_layers
            )));
        }
        if self.trajectory_samples > 1_000_000 {
            return Err(Error::range(format!("{CLASS} option 'trajectorySamples' must be <= 1000000, got {}", self.trajectory_samples)));
        }
        // The default validLoss (MAE) is checked here, as NeuralForecast checks it: MQLoss needs an
        // MQLoss validLoss.
        c.loss().check_valid_loss(&c.valid_loss()).map_err(|e| e.context(CLASS))
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hTrain", json!(self.h_train)),
            ("inferenceInputSize", json!(self.inference_input_size)),
            ("lstmNLayers", json!(self.lstm_n_layers)),
            ("lstmHiddenSize", json!(self.lstm_hidden_size)),
            ("lstmDropout", json!(self.lstm_dropout)),
            ("decoderHiddenLayers", json!(self.decoder_hidden_layers)),
            ("decoderHiddenSize", json!(self.decoder_hidden_size)),
            ("decoderActivation", json!(self.decoder_activation)),
            ("trajectorySamples", json!(self.trajectory_samples)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let features = encoder_features(c) as f64;
        let (hs, layers) = (self.lstm_hidden_size as f64, self.lstm_n_layers as f64);
        let gates = 4.0 * hs;
        let encoder = gates * (features + hs + 2.0) + (layers - 1.0) * gates * (2.0 * hs + 2.0);
        // A training window runs (inputSize + 1) + hTrain - 1 steps, a forecast
        // inferenceInputSize + h (counted too, so that absurd sizes are refused up front).
        let inference = self.inference_input_size.unwrap_or(c.input_size) as f64 + c.h as f64;
        let steps = (c.input_size as f64 + self.h_train as f64).max(inference);
        let (decoder, decoded) = decoder_footprint(&self.decoder_shapes(outputs), self.built_activation(), 1);
        // Per step: the input, each layer's gates, cell and hidden state, the decoder's values.
        Footprint { params: encoder + decoder, per_window: steps * (features + layers * (gates + 3.0 * hs) + decoded) }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> DeepAr {
        let hist_encoder = Recurrent::new(Cell::Lstm, encoder_features(c), self.lstm_hidden_size, self.lstm_n_layers, false, true, self.lstm_dropout, rng);
        let decoder = MlpDecoder::new(self.decoder_shapes(outputs), self.built_activation(), CLASS, rng);
        DeepAr { h_train: self.h_train, hist_encoder, decoder }
    }

    fn recurrence(&self, c: &CommonOptions) -> Option<Recurrence> {
        Some(Recurrence { h_train: self.h_train, inference_input_size: self.inference_input_size.unwrap_or(c.input_size), samples: self.trajectory_samples })
    }
}

impl Module for DeepAr {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.hist_encoder.visit(&join(prefix, "hist_encoder"), f);
        self.decoder.visit_as_module(&join(prefix, "decoder"), f);
    }
}

impl Network for DeepAr {
    /// NeuralForecast's `forward` on a teacher-forced sequence batch (`[B, T, ·]`, see
    /// `forecast::task::recurrent_batch`) from zero states: the one-step forecasts of its last
    /// `hTrain` steps, `[B, hTrain, outputs]`.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let input = encoder_input_static_last(batch, batch.insample_y.dim(1));
        let y = self.decoder.apply(self.hist_encoder.forward(&input, ctx));
        let keep = self.h_train.min(y.dim(1));
        y.narrow(1, y.dim(1) - keep, keep)
    }

    fn run(&self, batch: &Batch, state: Option<&RecurrentState>, ctx: &mut Ctx) -> Option<RecurrentRun> {
        let run = self.hist_encoder.forward_from(&encoder_input_static_last(batch, batch.insample_y.dim(1)), state, ctx);
        Some(RecurrentRun { output: self.decoder.apply(run.output), state: run.state })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_close, base, error, forward, load};
    use super::super::{build, configure_class};
    use super::*;
    use crate::data::ScalerType;
    use crate::error::ErrorKind;
    use crate::loss::Summary;
    use crate::nn::{named_params, param_count};

    #[test]
    fn parameter_counts_and_names_match_neuralforecast() {
        // neuralforecast 3.3.0, `sum(p.numel() for p in DeepAR(...).parameters())` less the 5
        // quantile levels its DistributionLoss holds as a frozen parameter (ours holds none).
        for (opts, want) in [
            (json!({"h": 12}), 199_560 - 5),
            (
                json!({"h": 12, "inputSize": 24, "lstmHiddenSize": 32, "lstmNLayers": 3, "decoderHiddenLayers": 2, "decoderHiddenSize": 16, "decoderActivation": "PReLU",
                       "futrExogList": ["a"], "histExogList": ["b", "c"], "statExogList": ["s"]}),
                22_745 - 5,
            ),
        ] {
            let m = build(CLASS, &opts).unwrap();
            assert_eq!(param_count(m.as_ref()), want, "{opts}");
            assert_eq!(configure_class(CLASS, &opts).unwrap().footprint().params as usize, want, "{opts}: footprint");
        }
        // The decoder's names are those of NeuralForecast's `MLP` module: the activation, then the
        // Sequential's Linears at 0, 3, 6.
        let m = build(CLASS, &json!({"h": 4, "lstmHiddenSize": 4, "decoderHiddenLayers": 2, "decoderHiddenSize": 3, "decoderActivation": "PReLU"})).unwrap();
        let names: Vec<String> = named_params(m.as_ref()).into_iter().map(|(n, _)| n).filter(|n| n.starts_with("decoder")).collect();
        assert_eq!(names, ["decoder.activation.weight", "decoder.layers.0.weight", "decoder.layers.0.bias", "decoder.layers.3.weight", "decoder.layers.3.bias", "decoder.layers.6.weight", "decoder.layers.6.bias"]);
    }

    #[test]
    fn defaults_are_neuralforecasts() {
        let c = configure_class(CLASS, &json!({"h": 6})).unwrap();
        let o = c.options_json();
        assert_eq!(o["inputSize"], 18, "inputSize -1 is 3h");
        assert_eq!(o["loss"], json!({"type": "DistributionLoss", "distribution": "StudentT", "level": [80, 90]}));
        assert_eq!(o["validLoss"], json!({"type": "MAE"}));
        for (k, v) in [
            ("numLrDecays", json!(3)),
            ("inferenceWindowsBatchSize", json!(-1)),
            ("scalerType", json!("identity")),
            ("windowsBatchSize", json!(1024)),
            ("hTrain", json!(1)),
            ("lstmNLayers", json!(2)),
            ("lstmHiddenSize", json!(128)),
            ("decoderHiddenLayers", json!(0)),
            ("decoderHiddenSize", json!(0)),
            ("decoderActivation", json!("ReLU")),
            ("trajectorySamples", json!(100)),
        ] {
            assert_eq!(o[k], v, "{k}");
        }
        assert!((o["lstmDropout"].as_f64().unwrap() - 0.1).abs() < 1e-6);
        assert_eq!(c.recurrence(), Some(Recurrence { h_train: 1, inference_input_size: 18, samples: 100 }), "always recurrent");
        // inferenceInputSize reaches NeuralForecast's BaseModel through **trainer_kwargs.
        let c = configure_class(CLASS, &json!({"h": 6, "inputSize": 8, "hTrain": 4, "inferenceInputSize": 30, "trajectorySamples": 7})).unwrap();
        assert_eq!(c.recurrence(), Some(Recurrence { h_train: 4, inference_input_size: 30, samples: 7 }));
        // A point loss trains too (nothing in NeuralForecast asks for a distribution).
        assert_eq!(build(CLASS, &json!({"h": 6, "loss": {"type": "MAE"}})).unwrap().common().loss().outputs(), 1);
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, kind, key) in [
            (json!({"excludeInsampleY": true}), ErrorKind::Type, "'excludeInsampleY'"),
            (json!({"decoderHiddenLayers": 1}), ErrorKind::Range, "'decoderHiddenSize'"),
            (json!({"decoderActivation": "Nope"}), ErrorKind::Range, "'decoderActivation'"),
            (json!({"lstmNLayers": 0}), ErrorKind::Range, "'lstmNLayers'"),
            (json!({"lstmHiddenSize": 0}), ErrorKind::Range, "'lstmHiddenSize'"),
            (json!({"lstmDropout": 1.5}), ErrorKind::Range, "'lstmDropout'"),
            (json!({"hTrain": 0}), ErrorKind::Range, "'hTrain'"),
            (json!({"trajectorySamples": 0}), ErrorKind::Range, "'trajectorySamples'"),
            (json!({"trajectorySamples": 2_000_000}), ErrorKind::Range, "'trajectorySamples'"),
            // NeuralForecast: "Please set valid_loss to MQLoss() ... when training with MQLoss",
            // against DeepAR's default valid_loss MAE.
            (json!({"loss": {"type": "MQLoss"}}), ErrorKind::Type, "validLoss"),
        ] {
            let e = error(CLASS, base(opts.clone()));
            assert!(e.kind == kind && e.message.contains(key), "{opts}: {e}");
        }
        build(CLASS, &base(json!({"loss": {"type": "MQLoss"}, "validLoss": {"type": "MQLoss"}}))).unwrap();
    }

    fn reference() -> (Value, Box<dyn super::super::Model>) {
        let r: Value = serde_json::from_str(include_str!("deepar_reference.json")).unwrap();
        let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let opts = json!({"h": 3, "inputSize": 4, "hTrain": 2, "lstmHiddenSize": 5, "decoderHiddenLayers": 1, "decoderHiddenSize": 4,
                          "histExogList": ["x"], "futrExogList": ["f"], "statExogList": ["s"], "scalerType": "standard"});
        let m = build(CLASS, &opts).unwrap();
        load(m.as_ref(), &names, &floats(&r, "values"));
        (r, m)
    }

    fn floats(r: &Value, k: &str) -> Vec<f32> {
        r[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/deepar_reference.py: a teacher-forced training sequence of (4 + 1) + 2 - 1 steps
        // with a historic, a future and a static column; the last hTrain = 2 steps' outputs.
        let (r, m) = reference();
        let t = |k: &str| Tensor::from_vec(floats(&r, k), &[2, 6, 1]);
        let batch = Batch {
            insample_y: Tensor::from_vec(floats(&r, "y"), &[2, 6]),
            insample_mask: Tensor::ones(&[2, 6]),
            hist_exog: Some(t("x")),
            futr_exog: Some(t("f")),
            stat_exog: Some(Tensor::from_vec(floats(&r, "s"), &[2, 1])),
        };
        let y = forward(m.as_ref(), &batch);
        assert_eq!(y.shape(), &[2, 2, 3]);
        assert_close(&y.to_vec(), &floats(&r, "out"));
    }

    #[test]
    fn stepwise_forecast_mean_equals_neuralforecasts_recurrent_predict() {
        // NeuralForecast's `_predict_step_recurrent_batch` from 4 + 1 points, h 3, scaler shift
        // and scale per window: each step feeds back (mean - shift) / scale; the forecast column
        // is the StudentT's mean.
        let (r, m) = reference();
        let (shift, scale) = (floats(&r, "shift"), floats(&r, "scale"));
        let batch = Batch {
            insample_y: Tensor::from_vec(floats(&r, "py"), &[2, 5]),
            insample_mask: Tensor::ones(&[2, 5]),
            hist_exog: Some(Tensor::from_vec(floats(&r, "px"), &[2, 7, 1])),
            futr_exog: Some(Tensor::from_vec(floats(&r, "pf"), &[2, 7, 1])),
            stat_exog: Some(Tensor::from_vec(floats(&r, "s"), &[2, 1])),
        };
        let loss = m.common().loss();
        let mut rng = Rng::seed(0);
        let raw = crate::forecast::forecast_stepwise(m.as_ref(), &batch, 5, 3, &loss, &shift, &scale, &mut Ctx::eval(&mut rng));
        let samples = m.recurrence().unwrap().samples;
        let columns = loss.finalize_as(&raw.data(), 3, &shift, &scale, ScalerType::Identity, 1, Summary::Recurrent { samples });
        assert_eq!(loss.output_names(CLASS), ["DeepAR", "DeepAR-median", "DeepAR-lo-90", "DeepAR-lo-80", "DeepAR-hi-80", "DeepAR-hi-90"]);
        let per_point: Vec<&[f32]> = columns.chunks(6).collect();
        assert_close(&per_point.iter().map(|c| c[0]).collect::<Vec<f32>>(), &floats(&r, "mean"));
        for c in per_point {
            // lo-90 <= lo-80 <= median <= hi-80 <= hi-90
            assert!(c[2] <= c[3] && c[3] <= c[1] && c[1] <= c[4] && c[4] <= c[5], "{c:?}");
        }
    }
}

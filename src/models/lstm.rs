//! LSTM (NeuralForecast's `LSTM`, non-recurrent mode): a multi-layer LSTM encodes the input
//! window (with historic, static and future exogenous features per step); the hidden states of
//! the last `h` steps (or, when `h > inputSize`, a linear upsampling of all steps along time),
//! joined with the horizon's future exogenous values, go through an MLP decoder per step.

use serde_json::{json, Value};

use super::activation::{Activation, NAMES as ACTIVATIONS};
use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Model};
use crate::error::{Error, Result};
use crate::nn::{join, Cell, Ctx, Linear, Module, Recurrent};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub const DEFAULTS: Defaults =
    Defaults { max_steps: 1000, learning_rate: 1e-3, num_lr_decays: -1, windows_batch_size: 128, inference_windows_batch_size: Some(1024), scaler_type: "robust" };

pub struct Lstm {
    common: CommonOptions,
    options: Value,
    outputs: usize,
    encoder: Recurrent,
    /// `[inputSize → h]` along time, only when `h > inputSize`.
    upsample: Option<Linear>,
    decoder: Vec<Linear>,
    activation: Activation,
}

impl Lstm {
    pub fn from_options(options: &Value, outputs: usize) -> Result<Lstm> {
        // NeuralForecast's inputSize = -1 means three horizons of history.
        let mut options = options.clone();
        if let Some(obj) = options.as_object_mut() {
            if obj.get("inputSize").and_then(Value::as_i64) == Some(-1) || !obj.contains_key("inputSize") {
                if let Some(h) = obj.get("h").and_then(Value::as_u64) {
                    obj.insert("inputSize".into(), json!(3 * h));
                }
            }
        }
        let mut r = OptionReader::new("LSTM", &options)?;
        let common = CommonOptions::read(&mut r, DEFAULTS)?;
        let layers = r.usize_min("encoderNLayers", 2, 1)?;
        let hidden = r.usize_min("encoderHiddenSize", 128, 1)?;
        let bias = r.bool("encoderBias", true)?;
        let dropout = r.f64_in("encoderDropout", 0.0, 0.0, 0.99, false)? as f32;
        let decoder_hidden = r.usize_min("decoderHiddenSize", 128, 1)?;
        let decoder_layers = r.usize_min("decoderLayers", 2, 1)?;
        let activation = r.choice("decoderActivation", "ReLU", &ACTIVATIONS)?;
        if r.bool("recurrent", false)? {
            return Err(Error::range("LSTM option 'recurrent': only recurrent: false (NeuralForecast's default) is supported"));
        }
        r.finish()?;
        let (l, h) = (common.input_size, common.h);
        let (nx, nf, ns) = (common.hist_exog_list.len(), common.futr_exog_list.len(), common.stat_exog_list.len());
        let mut rng = Rng::seed(common.random_seed);
        let encoder = Recurrent::new(Cell::Lstm, 1 + nx + ns + nf, hidden, layers, false, bias, dropout, &mut rng);
        let upsample = (h > l).then(|| Linear::new(l, h, true, &mut rng));
        let decoder = if decoder_layers == 1 {
            vec![Linear::new(hidden + nf, outputs, true, &mut rng)]
        } else {
            let mut d = vec![Linear::new(hidden + nf, decoder_hidden, true, &mut rng)];
            for _ in 0..decoder_layers - 2 {
                d.push(Linear::new(decoder_hidden, decoder_hidden, true, &mut rng));
            }
            d.push(Linear::new(decoder_hidden, outputs, true, &mut rng));
            d
        };
        let mut normalized = common.to_json();
        for (k, v) in [
            ("encoderNLayers", json!(layers)),
            ("encoderHiddenSize", json!(hidden)),
            ("encoderBias", json!(bias)),
            ("encoderDropout", json!(dropout)),
            ("decoderHiddenSize", json!(decoder_hidden)),
            ("decoderLayers", json!(decoder_layers)),
            ("decoderActivation", json!(activation)),
        ] {
            normalized[k] = v;
        }
        Ok(Lstm { common, options: normalized, outputs, encoder, upsample, decoder, activation: Activation::parse(&activation, "LSTM")? })
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

impl Model for Lstm {
    fn class_name(&self) -> &'static str {
        "LSTM"
    }
    fn common(&self) -> &CommonOptions {
        &self.common
    }
    fn options_json(&self) -> Value {
        self.options.clone()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false }
    }
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (b, l, h) = (batch.insample_y.dim(0), self.common.input_size, self.common.h);
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

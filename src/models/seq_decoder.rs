//! The pieces NeuralForecast's sequence encoders (LSTM, RNN, GRU, TCN) share around their
//! encoder: the per-step encoder input `[B, L, 1+X+S+F]` assembled from a batch, the step from
//! `L` encoded steps to the `h` horizon steps, and the MLP decoder applied to each horizon step
//! joined with its future exogenous values.

use super::activation::Activation;
use super::options::CommonOptions;
use super::Batch;
use crate::nn::{join, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Features per step of the encoder input: the target, historic, static and future exogenous.
pub fn encoder_features(c: &CommonOptions) -> usize {
    1 + c.hist_exog_list.len() + c.stat_exog_list.len() + c.futr_exog_list.len()
}

/// `[B, L, 1+X+S+F]`: the history, its historic exogenous values, the static ones repeated over
/// time and the future exogenous values of the history steps, in the order of NeuralForecast's
/// RNN, LSTM, GRU and TCN.
pub fn encoder_input(batch: &Batch, l: usize) -> Tensor {
    steps_input(batch, l, false)
}

/// `[B, L, 1+X+F+S]`: as [`encoder_input`], with the statics last (NeuralForecast's DeepAR).
pub fn encoder_input_static_last(batch: &Batch, l: usize) -> Tensor {
    steps_input(batch, l, true)
}

fn steps_input(batch: &Batch, l: usize, static_last: bool) -> Tensor {
    let b = batch.insample_y.dim(0);
    let mut parts = vec![batch.insample_y.reshape(&[b, l, 1])];
    if let Some(x) = &batch.hist_exog {
        parts.push(x.clone());
    }
    let statics = batch.stat_exog.as_ref().map(|s| {
        let ns = s.dim(1);
        s.reshape(&[b, 1, ns]).broadcast_to(&[b, l, ns])
    });
    let future = batch.futr_exog.as_ref().map(|f| f.narrow(1, 0, l));
    let (first, second) = if static_last { (future, statics) } else { (statics, future) };
    parts.extend(first.into_iter().chain(second));
    if parts.len() == 1 {
        parts.pop().unwrap()
    } else {
        Tensor::concat(&parts, 2)
    }
}

/// From the encoded steps `[B, L, H]` to the horizon `[B, h, H]`: through `adapter`
/// (a `Linear(L → h)` over time) when there is one, else the last `h` steps.
pub fn to_horizon(states: &Tensor, adapter: Option<&Linear>, h: usize) -> Tensor {
    match adapter {
        Some(lin) => lin.forward(&states.transpose(1, 2)).transpose(1, 2),
        None => states.narrow(1, states.dim(1) - h, h),
    }
}

/// NeuralForecast's `MLP` decoder, applied to each horizon step after the encoded state is joined
/// with the step's future exogenous values.
pub struct MlpDecoder {
    layers: Vec<Linear>,
    activation: Activation,
}

/// The decoder's layer widths, `(in, out)`, from an encoder of `encoded` features per step.
pub fn decoder_shapes(c: &CommonOptions, encoded: usize, hidden: usize, layers: usize, outputs: usize) -> Vec<(usize, usize)> {
    mlp_shapes(encoded.saturating_add(c.futr_exog_list.len()), hidden, layers, outputs)
}

/// The layer widths of NeuralForecast's `_modules.MLP(in_features, out_features, hidden_size,
/// num_layers)`: one Linear when `layers` is 1.
pub fn mlp_shapes(first: usize, hidden: usize, layers: usize, outputs: usize) -> Vec<(usize, usize)> {
    if layers == 1 {
        return vec![(first, outputs)];
    }
    let mut shapes = vec![(first, hidden)];
    shapes.extend(std::iter::repeat((hidden, hidden)).take(layers - 2));
    shapes.push((hidden, outputs));
    shapes
}

/// The decoder's parameters and, per window, the values its `h` steps keep for backward.
pub fn decoder_footprint(shapes: &[(usize, usize)], activation: &str, h: usize) -> (f64, f64) {
    let params: f64 = shapes.iter().map(|&(i, o)| (i as f64 + 1.0) * o as f64).sum();
    let per_step: f64 = shapes.iter().map(|&(i, o)| i as f64 + 2.0 * o as f64).sum();
    (params + Activation::params(activation), h as f64 * per_step)
}

impl MlpDecoder {
    /// `activation` must be one of `activation::MODULE_NAMES` (checked when the options were read).
    pub fn new(shapes: Vec<(usize, usize)>, activation: &str, model: &str, rng: &mut Rng) -> MlpDecoder {
        let layers = shapes.into_iter().map(|(i, o)| Linear::new(i, o, true, rng)).collect();
        let activation = Activation::parse(activation, model).expect("checked against MODULE_NAMES when read");
        MlpDecoder { layers, activation }
    }

    /// `[B, h, H]` encoded horizon → `[B, h, outputs]`, with the batch's future exogenous values of
    /// the horizon (the last `h` steps of `futr_exog`) joined to each step first.
    pub fn forward(&self, horizon: Tensor, batch: &Batch) -> Tensor {
        let h = horizon.dim(1);
        let x = match &batch.futr_exog {
            Some(f) => Tensor::concat(&[horizon, f.narrow(1, f.dim(1) - h, h)], 2),
            None => horizon,
        };
        self.apply(x)
    }

    /// The MLP alone, `[.., in] → [.., out]`.
    pub fn apply(&self, mut x: Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x);
            if i < last {
                x = self.activation.forward(&x);
            }
        }
        x
    }
}

impl MlpDecoder {
    /// The parameters under the names of NeuralForecast's `_modules.MLP` module at `prefix`: its
    /// activation first (PReLU's slope; `MLP` registers it before its `nn.Sequential`), then
    /// `layers.{3i}` (in the Sequential each hidden Linear is followed by the activation and a
    /// Dropout).
    pub fn visit_as_module(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.activation.visit(&join(prefix, "activation"), f);
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit(&join(prefix, &format!("layers.{}", 3 * i)), f);
        }
    }
}

impl Module for MlpDecoder {
    /// NeuralForecast's names: the layers under `mlp_decoder.layers`, the activation (PReLU's
    /// slope) as the model's own `activation`.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "mlp_decoder.layers"), f);
        self.activation.visit(&join(prefix, "activation"), f);
    }
}

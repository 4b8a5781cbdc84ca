//! `scalerType: 'revin'` as NeuralForecast 3.3 has it (TemporalNorm with `scaler_type='revin'`):
//! windows are standard-scaled plainly, and the learnable per-feature weight `w` (ones at the
//! start) and bias `b` (zeros) enter only the statistics that map outputs back, as
//! `shift + b` and `scale · (relu(w) + ε)`. NeuralForecast notes that the original RevIN's affine
//! on the inputs is not valid for the scale decoupling of distribution losses, hence this form.
//!
//! Consequences kept on purpose: point losses train in the plainly scaled space, so `w` and `b`
//! get no gradient and keep their initial values (forecasts equal plain standard scaling up to
//! the ε); distribution losses decouple with the moved statistics, so there they learn. Only
//! the first feature (y) is ever read; the others exist, as in NeuralForecast, one per
//! historic and future exogenous column.

use serde_json::Value;

use super::{Batch, Capabilities, CommonOptions, Model, ModelConfig};
use crate::nn::{init, join, Ctx, Module, RecurrentRun, RecurrentState};
use crate::tensor::Tensor;

/// TemporalNorm's eps.
const EPS: f32 = 1e-6;

pub struct Revin {
    inner: Box<dyn Model>,
    /// `[features]`, ones at the start.
    weight: Tensor,
    /// `[features]`, zeros at the start.
    bias: Tensor,
}

impl Revin {
    /// The features the affine map covers: y, historic, then future exogenous.
    pub fn features(c: &CommonOptions) -> usize {
        1 + c.hist_exog_list.len() + c.futr_exog_list.len()
    }

    pub fn wrap(inner: Box<dyn Model>) -> Revin {
        let features = Self::features(inner.common());
        Revin { inner, weight: init::ones(&[features]), bias: init::zeros(&[features]) }
    }
}

impl Module for Revin {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.inner.visit(prefix, f);
        f(join(prefix, "scaler.revin_weight"), &self.weight);
        f(join(prefix, "scaler.revin_bias"), &self.bias);
    }
}

impl Model for Revin {
    fn config(&self) -> &dyn ModelConfig {
        self.inner.config()
    }
    fn class_name(&self) -> &'static str {
        self.inner.class_name()
    }
    fn common(&self) -> &CommonOptions {
        self.inner.common()
    }
    fn options_json(&self) -> Value {
        self.inner.options_json()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        self.inner.forward(batch, ctx)
    }
    fn run(&self, batch: &Batch, state: Option<&RecurrentState>, ctx: &mut Ctx) -> Option<RecurrentRun> {
        self.inner.run(batch, state, ctx)
    }
    fn rows_independent(&self) -> bool {
        // RevIN's statistics are each window's own.
        self.inner.rows_independent()
    }
    fn output_stats(&self, shift: &Tensor, scale: &Tensor) -> (Tensor, Tensor) {
        let w = self.weight.narrow(0, 0, 1);
        (shift.add(&self.bias.narrow(0, 0, 1)), scale.mul(&w.relu().add_scalar(EPS)))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::models::Batch;
    use crate::nn::{named_params, Ctx};
    use crate::rng::Rng;
    use crate::tensor::Tensor;

    fn options(scaler: &str) -> serde_json::Value {
        json!({"h": 2, "inputSize": 4, "hiddenSize": 8, "histExogList": ["a"], "scalerType": scaler})
    }

    #[test]
    fn revin_adds_two_vectors_and_leaves_the_inputs_alone() {
        let plain = super::super::build("MLP", &options("standard")).unwrap();
        let revin = super::super::build("MLP", &options("revin")).unwrap();
        let names: Vec<String> = named_params(revin.as_ref()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), named_params(plain.as_ref()).len() + 2);
        let w = named_params(revin.as_ref()).into_iter().find(|(n, _)| n == "scaler.revin_weight").unwrap().1;
        assert_eq!(w.shape(), &[2], "one per feature: y and the historic column");
        // Same seed, same inner weights; the inputs reach the network as they are.
        let batch = Batch {
            insample_y: Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.4], &[1, 4]),
            insample_mask: Tensor::ones(&[1, 4]),
            hist_exog: Some(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4, 1])),
            futr_exog: None,
            stat_exog: None,
        };
        let mut rng = Rng::seed(0);
        let a = plain.forward(&batch, &mut Ctx::eval(&mut rng)).to_vec();
        let b = revin.forward(&batch, &mut Ctx::eval(&mut rng)).to_vec();
        assert_eq!(a, b);
    }

    #[test]
    fn output_statistics_match_neuralforecast_by_hand() {
        let revin = super::super::build("MLP", &options("revin")).unwrap();
        let params = named_params(revin.as_ref());
        let get = |name: &str| params.iter().find(|(n, _)| n == name).unwrap().1.clone();
        let (w, b) = (get("scaler.revin_weight"), get("scaler.revin_bias"));
        let shift = Tensor::from_vec(vec![10.0, -1.0], &[2, 1]);
        let scale = Tensor::from_vec(vec![4.0, 0.5], &[2, 1]);
        // At the start: shift + 0, scale · (1 + 1e-6).
        let (s, c) = revin.output_stats(&shift, &scale);
        assert_eq!(s.to_vec(), vec![10.0, -1.0]);
        assert_eq!(c.to_vec(), vec![4.0 * (1.0 + 1e-6), 0.5 * (1.0 + 1e-6)]);
        // Learned values: w = 2, b = 3 → (13, 4·2.000001); a negative w is cut to 0 by relu.
        w.data_mut().copy_from_slice(&[2.0, 7.0]);
        b.data_mut().copy_from_slice(&[3.0, 9.0]);
        let (s, c) = revin.output_stats(&shift, &scale);
        assert_eq!(s.to_vec(), vec![13.0, 2.0]);
        assert_eq!(c.to_vec(), vec![4.0 * (2.0 + 1e-6), 0.5 * (2.0 + 1e-6)]);
        w.data_mut()[0] = -3.0;
        let (_, c) = revin.output_stats(&shift, &scale);
        assert_eq!(c.to_vec(), vec![4.0 * 1e-6, 0.5 * 1e-6]);
    }
}

//! RevIN (Kim et al., 2022) as NeuralForecast's `scalerType: 'revin'`: standard scaling of each
//! window followed by a learnable per-feature affine map `z·w + b` (features: y, then historic,
//! then future exogenous). The loss compares outputs with the affine-mapped target; forecasts are
//! mapped back by `(ŷ - b) / (w + ε)` before inverse scaling.

use serde_json::Value;

use super::{Batch, Capabilities, CommonOptions, Model, ModelConfig};
use crate::nn::{init, join, Ctx, Module};
use crate::tensor::Tensor;

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

    /// The affine map of features `from..from + n` applied over the last axis of `x`.
    fn affine(&self, x: &Tensor, from: usize, n: usize) -> Tensor {
        x.mul(&self.weight.narrow(0, from, n)).add(&self.bias.narrow(0, from, n))
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
        let nx = batch.hist_exog.as_ref().map_or(0, |x| x.dim(-1));
        let mapped = Batch {
            insample_y: batch.insample_y.mul(&self.weight.narrow(0, 0, 1)).add(&self.bias.narrow(0, 0, 1)),
            insample_mask: batch.insample_mask.clone(),
            hist_exog: batch.hist_exog.as_ref().map(|x| self.affine(x, 1, nx)),
            futr_exog: batch.futr_exog.as_ref().map(|x| self.affine(x, 1 + nx, x.dim(-1))),
            stat_exog: batch.stat_exog.clone(),
        };
        self.inner.forward(&mapped, ctx)
    }
    fn target(&self, y: &Tensor) -> Tensor {
        y.mul(&self.weight.narrow(0, 0, 1)).add(&self.bias.narrow(0, 0, 1))
    }
    fn untarget(&self, y_hat: &Tensor) -> Tensor {
        y_hat.sub(&self.bias.narrow(0, 0, 1)).div(&self.weight.narrow(0, 0, 1).add_scalar(EPS))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::nn::named_params;

    #[test]
    fn revin_adds_two_trainable_vectors_and_is_identity_at_start() {
        let plain = super::super::build("MLP", &json!({"h": 2, "inputSize": 4, "hiddenSize": 8, "histExogList": ["a"]})).unwrap();
        let revin = super::super::build("MLP", &json!({"h": 2, "inputSize": 4, "hiddenSize": 8, "histExogList": ["a"], "scalerType": "revin"})).unwrap();
        let names: Vec<String> = named_params(revin.as_ref()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.len(), named_params(plain.as_ref()).len() + 2);
        assert!(names.contains(&"scaler.revin_weight".to_string()));
        let y = crate::tensor::Tensor::from_vec(vec![1.0, -2.0], &[1, 2]);
        let back = revin.untarget(&revin.target(&y)).to_vec();
        assert!((back[0] - 1.0).abs() < 1e-5 && (back[1] + 2.0).abs() < 1e-5);
    }
}

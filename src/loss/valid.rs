//! Which `validLoss` goes with which training loss, and what it is computed on: NeuralForecast's
//! loss protections (`BaseModel.__init__`) and `_compute_valid_loss`.
//!
//! - A distribution model is validated with its own likelihood, with a point loss on the
//!   distribution's mean, or with MQLoss on its sampled quantiles.
//! - An MQLoss model is validated with MQLoss only.
//! - A point model is validated with any point loss, or with MQLoss scoring the one forecast at
//!   every quantile (NeuralForecast broadcasts it).
//!
//! Refused here, where NeuralForecast refuses or would fail at the first validation: a distribution
//! `validLoss` after a point or MQLoss `loss` (NeuralForecast raises); a distribution `validLoss`
//! other than `loss` (NeuralForecast silently validates with `loss` instead, which would make the
//! option do nothing); an MQLoss `validLoss` whose quantiles differ from the quantiles the model
//! forecasts (NeuralForecast fails on a shape mismatch, or with the same count scores each
//! forecast quantile with another quantile's weight).

use super::Loss;
use crate::data::ScalerType;
use crate::error::{Error, Result};

impl Loss {
    /// The loss class as the JS API names it.
    pub fn class_name(&self) -> &'static str {
        match self {
            Loss::Mae => "MAE",
            Loss::Mse => "MSE",
            Loss::Rmse => "RMSE",
            Loss::Mape => "MAPE",
            Loss::Smape => "SMAPE",
            Loss::Huber { .. } => "HuberLoss",
            Loss::Quantile { .. } => "QuantileLoss",
            Loss::MultiQuantile { .. } => "MQLoss",
            Loss::Mase { .. } => "MASE",
            Loss::Distribution { .. } => "DistributionLoss",
        }
    }

    /// The quantiles the model forecasts with this training loss, if it forecasts quantiles.
    fn forecast_quantiles(&self) -> Option<&[f32]> {
        match self {
            Loss::MultiQuantile { quantiles, .. } | Loss::Distribution { quantiles, .. } => Some(quantiles),
            _ => None,
        }
    }

    /// Refuses a validation loss that cannot validate a model trained with `self` (see the module
    /// doc), with NeuralForecast's message where it has one.
    pub fn check_valid_loss(&self, valid: &Loss) -> Result<()> {
        let (train, name) = (self.class_name(), valid.class_name());
        match (self, valid) {
            (Loss::MultiQuantile { .. }, v) if !matches!(v, Loss::MultiQuantile { .. }) => Err(Error::type_err(format!(
                "option 'validLoss': please set validLoss to MQLoss() when training with MQLoss (got {name})"
            ))),
            (l, Loss::Distribution { .. }) if !l.is_distribution() => Err(Error::type_err(format!(
                "option 'validLoss': validation with distribution loss {name} is not possible when using loss={train}. Please use a point validLoss (MAE, MSE, ...)"
            ))),
            (Loss::Distribution { .. }, Loss::Distribution { .. }) if self != valid => Err(Error::type_err(
                "option 'validLoss': a DistributionLoss validLoss must be the training loss itself (NeuralForecast would validate with loss instead); \
                 omit validLoss to validate with the likelihood of loss, or pass a point loss or MQLoss",
            )),
            (l, Loss::MultiQuantile { quantiles, .. }) => match l.forecast_quantiles() {
                Some(q) if q != quantiles.as_slice() => Err(Error::value(format!(
                    "option 'validLoss': MQLoss with quantiles {quantiles:?} cannot score a model trained with {train}, which forecasts quantiles {q:?}; \
                     give validLoss the same level or quantiles as loss"
                ))),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// What `valid` scores for a model trained with `self`: `[n, h, valid.outputs()]` forecasts in
    /// the original scale from raw outputs `[n, h, self.outputs()]` (scaled space). Not for a
    /// distribution `valid`, which scores the raw parameters itself.
    pub fn validation_forecast(&self, valid: &Loss, raw: &[f32], h: usize, shift: &[f32], scale: &[f32], scaler: ScalerType, seed: u64) -> Vec<f32> {
        let k = valid.outputs();
        if let Loss::Distribution { distribution, .. } = self {
            if let Loss::MultiQuantile { .. } = valid {
                // The sampled quantiles: the forecast columns after the mean.
                let columns = self.columns();
                return self.finalize(raw, h, shift, scale, scaler, seed).chunks(columns).flat_map(|c| c[1..].to_vec()).collect();
            }
            // A point loss scores the distribution's mean, as NeuralForecast's `distr.mean`.
            return distribution.decoupled_values(raw, h, shift, scale).iter().map(|p| distribution.mean(p)).collect();
        }
        let forecast = self.finalize(raw, h, shift, scale, scaler, seed);
        if self.outputs() == k {
            return forecast;
        }
        // A point forecast against MQLoss: the same value at every quantile.
        assert_eq!(self.outputs(), 1, "check_valid_loss admits only point forecasts here");
        forecast.iter().flat_map(|v| std::iter::repeat_n(*v, k)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::tensor::Tensor;
    use serde_json::json;

    fn loss(v: serde_json::Value) -> Loss {
        Loss::from_json(&v, "loss").unwrap()
    }

    #[test]
    fn pairs_neuralforecast_refuses_are_refused_naming_valid_loss() {
        let mq = loss(json!({"type": "MQLoss", "level": [80]}));
        let normal = loss(json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80]}));
        let student = loss(json!({"type": "DistributionLoss", "distribution": "StudentT", "level": [80]}));
        let e = mq.check_valid_loss(&Loss::Mae).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Type);
        assert!(e.message.contains("validLoss") && e.message.contains("MQLoss() when training with MQLoss"), "{}", e.message);
        let e = Loss::Mae.check_valid_loss(&normal).unwrap_err();
        assert!(e.message.contains("not possible when using loss=MAE"), "{}", e.message);
        assert!(mq.check_valid_loss(&normal).unwrap_err().message.contains("MQLoss() when training with MQLoss"));
        assert!(normal.check_valid_loss(&student).unwrap_err().message.contains("must be the training loss itself"));
        let e = mq.check_valid_loss(&loss(json!({"type": "MQLoss", "level": [90]}))).unwrap_err();
        assert!(e.kind == ErrorKind::Value && e.message.contains("same level or quantiles"), "{}", e.message);
        assert!(normal.check_valid_loss(&loss(json!({"type": "MQLoss"}))).is_err(), "[80, 90] against [80]");
    }

    #[test]
    fn pairs_neuralforecast_supports_are_accepted() {
        let mq = loss(json!({"type": "MQLoss", "level": [80]}));
        let normal = loss(json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80]}));
        for (train, valid) in [
            (&Loss::Mae, &Loss::Mse),
            (&Loss::Mae, &mq),
            (&Loss::Quantile { q: 0.3 }, &mq),
            (&mq, &mq),
            (&normal, &Loss::Mae),
            (&normal, &Loss::Mase { seasonality: 2 }),
            (&normal, &mq),
            (&normal, &normal),
        ] {
            train.check_valid_loss(valid).unwrap_or_else(|e| panic!("{train:?} with {valid:?}: {}", e.message));
        }
    }

    #[test]
    fn validation_forecasts_have_the_valid_loss_shape() {
        let (n, h) = (2, 3);
        let (shift, scale) = (vec![10.0, -5.0], vec![2.0, 1.0]);
        let mq = loss(json!({"type": "MQLoss", "level": [80]}));
        // A point forecast against MQLoss is the inverted forecast repeated per quantile.
        let raw: Vec<f32> = (0..n * h).map(|i| i as f32).collect();
        let f = Loss::Mae.validation_forecast(&mq, &raw, h, &shift, &scale, ScalerType::Standard, 1);
        assert_eq!(f.len(), n * h * 3);
        assert_eq!(&f[..3], &[10.0; 3]);
        assert_eq!(&f[15..], &[-5.0 + 5.0; 3]);
        // A Normal model: a point loss scores the mean (loc + scale · raw mean), MQLoss the quantiles.
        let normal = loss(json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80], "numSamples": 400}));
        let raw: Vec<f32> = (0..n * h).flat_map(|i| [i as f32 * 0.1, 0.0]).collect();
        let mean = normal.validation_forecast(&Loss::Mae, &raw, h, &shift, &scale, ScalerType::Standard, 1);
        assert_eq!(mean.len(), n * h);
        assert!((mean[1] - (10.0 + 2.0 * 0.1)).abs() < 1e-5 && (mean[4] - (-5.0 + 0.4)).abs() < 1e-5, "{mean:?}");
        let q = normal.validation_forecast(&mq, &raw, h, &shift, &scale, ScalerType::Standard, 1);
        assert_eq!(q.len(), n * h * 3);
        // Median, 10% and 90% quantiles: ordered around the mean.
        assert!(q[1] < q[0] && q[0] < q[2] && (q[0] - mean[0]).abs() < 0.5, "{q:?}");
        // The MQLoss value on them is finite.
        let y = Tensor::from_vec(mean.clone(), &[n, h]);
        let v = mq.compute(&Tensor::from_vec(q, &[n, h, 3]), &y, &Tensor::ones(&[n, h]), &Default::default()).item();
        assert!(v.is_finite() && v > 0.0);
    }
}

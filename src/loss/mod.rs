//! Training losses, as NeuralForecast defines them: each is a masked, weighted mean over the
//! forecast window, computed on the model's output `[B, h, outputs]` against `y` `[B, h]` with
//! NeuralForecast's `available_mask`.

mod distribution;
mod spec;
mod valid;

pub use distribution::Distribution;
pub(crate) use spec::python_f64;

use crate::data::ScalerType;
use crate::tensor::Tensor;

/// What some losses need besides forecasts and targets.
#[derive(Default)]
pub struct LossContext {
    /// `[B, L]` the scaled history (MASE's seasonal-naive scale).
    pub insample_y: Option<Tensor>,
    /// `[B, 1]` each window's scaler shift and scale (DistributionLoss anchors its parameters to them).
    pub loc: Option<Tensor>,
    pub scale: Option<Tensor>,
}

/// A loss and, for multi-output losses, what each output means.
#[derive(Clone, Debug, PartialEq)]
pub enum Loss {
    Mae,
    Mse,
    Rmse,
    Mape,
    Smape,
    Huber { delta: f32 },
    Quantile { q: f32 },
    /// One output per quantile; `suffixes` name the output columns (`-median`, `-lo-90`, ...).
    MultiQuantile { quantiles: Vec<f32>, suffixes: Vec<String> },
    /// Mean absolute scaled error against the in-sample seasonal naive forecast.
    Mase { seasonality: usize },
    /// Negative log-likelihood of a parametric distribution; forecasts are the sample mean plus
    /// the quantiles named by `suffixes`.
    Distribution { distribution: Distribution, quantiles: Vec<f32>, suffixes: Vec<String>, num_samples: usize },
}

/// How a distribution loss's forecast columns are drawn: NeuralForecast's two predict paths
/// differ in the draws and in the first column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Summary {
    /// A direct model (`_predict_step_direct_batch`): the loss's `numSamples` draws per point,
    /// the first column their mean.
    Direct,
    /// A recurrent model (`_predict_step_recurrent_single`): `samples` independent draws per
    /// step (the model's `n_samples`; they are no sample paths: every step is conditioned on the
    /// mean fed back), the first column the distribution's analytic mean, the value fed back.
    Recurrent { samples: usize },
}

/// `Σ x·mask / Σ mask`, 0 when nothing is available (NeuralForecast's divide_no_nan).
fn masked_mean(x: &Tensor, mask: &Tensor) -> Tensor {
    let total: f32 = mask.data().iter().sum();
    x.mul(mask).sum_all().mul_scalar(if total > 0.0 { 1.0 / total } else { 0.0 })
}

/// `a / b` with zero where `b` is zero, as a constant factor (b holds no gradient here).
fn inverse_no_nan(b: &Tensor) -> Tensor {
    Tensor::from_vec(b.data().iter().map(|v| if *v == 0.0 { 0.0 } else { 1.0 / v }).collect(), b.shape())
}

impl Loss {
    /// Model outputs per forecast step.
    pub fn outputs(&self) -> usize {
        match self {
            Loss::MultiQuantile { quantiles, .. } => quantiles.len(),
            Loss::Distribution { distribution, .. } => distribution.params(),
            _ => 1,
        }
    }

    /// Whether the loss compares with targets in the original scale (distribution losses),
    /// rather than in the scaled space the model works in.
    pub fn is_distribution(&self) -> bool {
        matches!(self, Loss::Distribution { .. })
    }

    /// Output column names for a model called `alias`, in output order.
    /// The loss as `predict(level)` forecasts with it: a distribution draws the quantiles of
    /// `levels` (sorted, each with its name) instead of its own, named `-lo-90`, ..., `-hi-90`
    /// without a median (NeuralForecast's re-quantiled predict); other losses are unchanged.
    pub fn with_levels(&self, levels: &[(f64, String)]) -> Loss {
        let Loss::Distribution { distribution, num_samples, .. } = self else { return self.clone() };
        let lo = levels.iter().rev().map(|(l, n)| ((50.0 - l / 2.0) as f32 / 100.0, format!("-lo-{n}")));
        let hi = levels.iter().map(|(l, n)| ((50.0 + l / 2.0) as f32 / 100.0, format!("-hi-{n}")));
        let (quantiles, suffixes) = lo.chain(hi).unzip();
        Loss::Distribution { distribution: *distribution, quantiles, suffixes, num_samples: *num_samples }
    }

    pub fn output_names(&self, alias: &str) -> Vec<String> {
        match self {
            Loss::MultiQuantile { suffixes, .. } => suffixes.iter().map(|s| format!("{alias}{s}")).collect(),
            Loss::Distribution { suffixes, .. } => std::iter::once(alias.to_string()).chain(suffixes.iter().map(|s| format!("{alias}{s}"))).collect(),
            Loss::Quantile { q } => vec![format!("{alias}_ql{}", spec::python_f32(*q))],
            _ => vec![alias.to_string()],
        }
    }

    /// Turns raw model outputs `[n, h, outputs]` (scaled space) into forecast columns
    /// `[n, h, columns]` in the original scale, given each window's scaler statistics, as a
    /// direct model forecasts ([`Summary::Direct`]).
    pub fn finalize(&self, raw: &[f32], h: usize, shift: &[f32], scale: &[f32], scaler: ScalerType, seed: u64) -> Vec<f32> {
        self.finalize_as(raw, h, shift, scale, scaler, seed, Summary::Direct)
    }

    /// [`Loss::finalize`] with a distribution's columns drawn as `summary` says.
    #[allow(clippy::too_many_arguments)]
    pub fn finalize_as(&self, raw: &[f32], h: usize, shift: &[f32], scale: &[f32], scaler: ScalerType, seed: u64, summary: Summary) -> Vec<f32> {
        let k = self.outputs();
        let Loss::Distribution { distribution, quantiles, num_samples, .. } = self else {
            return raw.iter().enumerate().map(|(i, z)| scaler.invert(*z, shift[i / (h * k)], scale[i / (h * k)])).collect();
        };
        let params = distribution.decoupled_values(raw, h, shift, scale);
        let mut rng = distribution::sampler(seed);
        let columns = 1 + quantiles.len();
        let draws_per_point = match summary {
            Summary::Direct => *num_samples,
            Summary::Recurrent { samples } => samples,
        };
        let mut out = Vec::with_capacity(params.len() * columns);
        for p in &params {
            let mut draws = distribution.sample(p, draws_per_point, &mut rng);
            draws.sort_by(f32::total_cmp);
            out.push(match summary {
                Summary::Direct => draws.iter().map(|v| *v as f64).sum::<f64>() as f32 / draws.len() as f32,
                Summary::Recurrent { .. } => distribution.mean(p),
            });
            out.extend(quantiles.iter().map(|q| distribution::quantile(&draws, *q)));
        }
        out
    }

    /// What a recurrent model feeds back as its next input, in scaled space, from one step's raw
    /// outputs `[n, 1, outputs]` with each window's statistics: the point forecast, the mean
    /// over the quantiles (MQLoss), or the distribution's mean scaled back (NeuralForecast's
    /// `_predict_step_recurrent_single`).
    pub fn feedback(&self, raw: &[f32], shift: &[f32], scale: &[f32]) -> Vec<f32> {
        if let Loss::Distribution { distribution, .. } = self {
            let params = distribution.decoupled_values(raw, 1, shift, scale);
            return params.iter().enumerate().map(|(i, p)| (distribution.mean(p) - shift[i]) / scale[i]).collect();
        }
        let k = self.outputs();
        raw.chunks(k).map(|c| c.iter().sum::<f32>() / k as f32).collect()
    }

    /// Forecast columns per step after [`Loss::finalize`].
    pub fn columns(&self) -> usize {
        match self {
            Loss::Distribution { quantiles, .. } => 1 + quantiles.len(),
            _ => self.outputs(),
        }
    }

    /// The loss value (a 0-d tensor) of forecasts `y_hat` `[B, h, outputs]` against `y` `[B, h]`.
    /// Distribution losses take `y` in the original scale and need `ctx.loc`/`ctx.scale`; MASE
    /// needs `ctx.insample_y`.
    pub fn compute(&self, y_hat: &Tensor, y: &Tensor, mask: &Tensor, ctx: &LossContext) -> Tensor {
        let (b, h) = (y.dim(0), y.dim(1));
        if let Loss::Distribution { distribution, .. } = self {
            let ones = Tensor::ones(&[b, 1]);
            let zeros = Tensor::zeros(&[b, 1]);
            let params = distribution.decouple(y_hat, ctx.loc.as_ref().unwrap_or(&zeros), ctx.scale.as_ref().unwrap_or(&ones));
            return masked_mean(&distribution.log_prob(&params, y).neg(), mask);
        }
        if let Loss::MultiQuantile { quantiles, .. } = self {
            let nq = quantiles.len();
            let err = y_hat.sub(&y.reshape(&[b, h, 1]));
            let q = Tensor::from_vec(quantiles.clone(), &[nq]);
            // q·max(-e, 0) + (1-q)·max(e, 0), averaged over quantiles.
            let under = err.neg().relu().mul(&q);
            let over = err.relu().mul(&q.rsub_scalar(1.0));
            let losses = under.add(&over).mul_scalar(1.0 / nq as f32);
            let m = mask.reshape(&[b, h, 1]).broadcast_to(&[b, h, nq]);
            return masked_mean(&losses, &m);
        }
        let y_hat = y_hat.reshape(&[b, h]);
        let diff = y.sub(&y_hat);
        match self {
            Loss::Mae => masked_mean(&diff.abs(), mask),
            Loss::Mse => masked_mean(&diff.square(), mask),
            Loss::Rmse => masked_mean(&diff.square(), mask).add_scalar(1e-12).sqrt(),
            Loss::Mape => masked_mean(&diff.abs().mul(&inverse_no_nan(&y.abs())), mask),
            Loss::Smape => {
                let denom = y.abs().add(&y_hat.abs());
                // Gradient flows through the denominator as well, as in PyTorch.
                let safe = denom.add(&Tensor::from_vec(denom.data().iter().map(|d| if *d == 0.0 { 1.0 } else { 0.0 }).collect(), denom.shape()));
                masked_mean(&diff.abs().div(&safe), mask).mul_scalar(2.0)
            }
            Loss::Huber { delta } => {
                // 0.5·e² inside |e| <= δ, δ·(|e| - δ/2) outside.
                let a = diff.abs();
                let inside = a.clamp(0.0, *delta);
                let quad = inside.square().mul_scalar(0.5);
                let lin = a.sub(&inside).mul_scalar(*delta);
                masked_mean(&quad.add(&lin), mask)
            }
            Loss::Quantile { q } => {
                let under = diff.relu().mul_scalar(*q);
                let over = diff.neg().relu().mul_scalar(1.0 - q);
                masked_mean(&under.add(&over), mask)
            }
            Loss::Mase { seasonality } => {
                // Per window: mean |y_t - y_{t-s}| over the history; windows with no usable scale count 0.
                let hist = ctx.insample_y.as_ref().expect("MASE needs the history");
                let l = hist.dim(1);
                let s = (*seasonality).min(l.saturating_sub(1)).max(1);
                let naive = hist.narrow(1, s, l - s).sub(&hist.narrow(1, 0, l - s)).abs().mean_axis(1, true).detach();
                masked_mean(&diff.abs().mul(&inverse_no_nan(&naive)), mask)
            }
            Loss::MultiQuantile { .. } | Loss::Distribution { .. } => unreachable!("handled above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    fn data(seed: u64, k: usize) -> (Tensor, Tensor, Tensor) {
        let mut rng = Rng::seed(seed);
        let y_hat = Tensor::randn(&[3, 4, k], &mut rng);
        let y = Tensor::from_vec((0..12).map(|_| rng.uniform(0.5, 2.0) * if rng.below(2) == 0 { 1.0 } else { -1.0 }).collect(), &[3, 4]);
        let mask = Tensor::from_vec((0..12).map(|i| if i % 5 == 4 { 0.0 } else { 1.0 }).collect(), &[3, 4]);
        (y_hat, y, mask)
    }

    #[test]
    fn recurrent_feedback_is_the_point_the_quantile_mean_or_the_scaled_distribution_mean() {
        assert_eq!(Loss::Mae.feedback(&[0.25, -1.0], &[3.0, 3.0], &[2.0, 2.0]), [0.25, -1.0]);
        let mq = Loss::from_json(&serde_json::json!({"type": "MQLoss", "level": [80]}), "loss").unwrap();
        assert_eq!(mq.feedback(&[1.0, 2.0, 6.0], &[0.0], &[1.0]), [3.0]);
        // Normal: mean = 0.5·scale + shift = 11, scaled back (11 - 10) / 2.
        let normal = Loss::from_json(&serde_json::json!({"type": "DistributionLoss", "distribution": "Normal"}), "loss").unwrap();
        let fed = normal.feedback(&[0.5, 0.3], &[10.0], &[2.0]);
        assert!((fed[0] - 0.5).abs() < 1e-6, "{fed:?}");
    }

    #[test]
    fn grad_point_losses() {
        for loss in [Loss::Mae, Loss::Mse, Loss::Rmse, Loss::Mape, Loss::Smape, Loss::Huber { delta: 0.7 }, Loss::Quantile { q: 0.3 }] {
            let (y_hat, y, mask) = data(1, 1);
            check_gradients("loss", |x| loss.compute(&x[0], &y, &mask, &LossContext::default()), &[y_hat]);
        }
    }

    #[test]
    fn grad_multi_quantile() {
        let loss = Loss::from_json(&serde_json::json!({"type": "MQLoss", "level": [80]}), "loss").unwrap();
        let (y_hat, y, mask) = data(2, 3);
        check_gradients("MQLoss", |x| loss.compute(&x[0], &y, &mask, &LossContext::default()), &[y_hat]);
    }

    #[test]
    fn grad_mase_and_distributions() {
        let mut rng = Rng::seed(9);
        let hist = Tensor::randn(&[3, 8], &mut rng);
        let ctx = LossContext { insample_y: Some(hist), ..Default::default() };
        let (y_hat, y, mask) = data(3, 1);
        check_gradients("MASE", |x| Loss::Mase { seasonality: 2 }.compute(&x[0], &y, &mask, &ctx), &[y_hat]);
        // Count data has non-negative location, as the discrete distributions assume.
        let loc = Tensor::from_vec(vec![1.0, 0.5, 2.0], &[3, 1]);
        let scale = Tensor::from_vec(vec![1.5, 0.7, 1.0], &[3, 1]);
        let ctx = LossContext { loc: Some(loc), scale: Some(scale), ..Default::default() };
        for (name, k) in [("Normal", 2), ("StudentT", 3), ("Poisson", 1), ("NegativeBinomial", 2)] {
            let loss = Loss::from_json(&serde_json::json!({"type": "DistributionLoss", "distribution": name}), "loss").unwrap();
            let (y_hat, y, mask) = data(4, k);
            // Counts for the discrete distributions.
            let y = if k != 3 && name != "Normal" { Tensor::from_vec(y.to_vec().iter().map(|v| (v.abs() * 3.0).round()).collect(), y.shape()) } else { y };
            check_gradients(name, |x| loss.compute(&x[0], &y, &mask, &ctx), &[y_hat]);
        }
    }

    #[test]
    fn normal_log_likelihood_and_sampled_columns() {
        // N(0, 1) at 0: log p = -0.919; raw std output s with softplus(s) + 0.2 = 1.
        let s = (0.8f32.exp() - 1.0).ln();
        let raw = Tensor::from_vec(vec![0.0, s], &[1, 1, 2]);
        let loss = Loss::from_json(&serde_json::json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80]}), "loss").unwrap();
        let nll = loss.compute(&raw, &Tensor::zeros(&[1, 1]), &Tensor::ones(&[1, 1]), &LossContext::default()).item();
        assert!((nll - 0.918_938_5).abs() < 1e-5, "{nll}");
        let cols = loss.finalize(&[0.0, s], 1, &[10.0], &[2.0], ScalerType::Standard, 1);
        // mean ≈ 10, median ≈ 10, 10% and 90% quantiles ≈ 10 ∓ 1.2816·2.
        assert_eq!(loss.output_names("M"), ["M", "M-median", "M-lo-80", "M-hi-80"]);
        assert!((cols[0] - 10.0).abs() < 0.2 && (cols[2] - (10.0 - 2.563)).abs() < 0.3 && (cols[3] - (10.0 + 2.563)).abs() < 0.3, "{cols:?}");
    }

    #[test]
    fn recurrent_forecasts_show_the_analytic_mean_and_quantiles_of_their_own_draws() {
        let s = (0.8f32.exp() - 1.0).ln();
        let loss = Loss::from_json(&serde_json::json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80], "numSamples": 5}), "loss").unwrap();
        let raw = [0.3, s];
        // A direct model's first column is the mean of numSamples draws, not the mean itself.
        let direct = loss.finalize(&raw, 1, &[10.0], &[2.0], ScalerType::Standard, 1);
        assert!((direct[0] - 10.6).abs() > 1e-4, "{direct:?}");
        // A recurrent model's is the distribution's mean (10 + 0.3·2), the value it fed back; its
        // quantiles come from `samples` draws (400 here: close to N(10.6, 2)'s, unlike 5 draws).
        let recurrent = loss.finalize_as(&raw, 1, &[10.0], &[2.0], ScalerType::Standard, 1, Summary::Recurrent { samples: 400 });
        assert_eq!(recurrent[0], 10.6);
        assert!((recurrent[2] - (10.6 - 2.563)).abs() < 0.4 && (recurrent[3] - (10.6 + 2.563)).abs() < 0.4, "{recurrent:?}");
    }

    #[test]
    fn values_by_hand() {
        let y = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]);
        let y_hat = Tensor::from_vec(vec![2.0, 2.0, 1.0, 100.0], &[1, 4, 1]);
        let mask = Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0], &[1, 4]);
        assert!((Loss::Mae.compute(&y_hat, &y, &mask, &LossContext::default()).item() - 1.0).abs() < 1e-6);
        assert!((Loss::Mse.compute(&y_hat, &y, &mask, &LossContext::default()).item() - 5.0 / 3.0).abs() < 1e-6);
        // Pinball at q=0.5 is half the absolute error.
        assert!((Loss::Quantile { q: 0.5 }.compute(&y_hat, &y, &mask, &LossContext::default()).item() - 0.5).abs() < 1e-6);
        assert!((Loss::Huber { delta: 1.0 }.compute(&y_hat, &y, &mask, &LossContext::default()).item() - (0.5 + 0.0 + 1.5) / 3.0).abs() < 1e-6);
    }
}

//! Training losses, as NeuralForecast defines them: each is a masked, weighted mean over the
//! forecast window, computed on the model's output `[B, h, outputs]` against `y` `[B, h]` with
//! NeuralForecast's `available_mask`.

mod spec;

use crate::tensor::Tensor;

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
            _ => 1,
        }
    }

    /// Output column names for a model called `alias`, in output order.
    pub fn output_names(&self, alias: &str) -> Vec<String> {
        match self {
            Loss::MultiQuantile { suffixes, .. } => suffixes.iter().map(|s| format!("{alias}{s}")).collect(),
            Loss::Quantile { q } => vec![format!("{alias}_ql{q}")],
            _ => vec![alias.to_string()],
        }
    }

    /// The loss value (a 0-d tensor) of forecasts `y_hat` `[B, h, outputs]` against `y` `[B, h]`.
    pub fn compute(&self, y_hat: &Tensor, y: &Tensor, mask: &Tensor) -> Tensor {
        let (b, h) = (y.dim(0), y.dim(1));
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
            Loss::MultiQuantile { .. } => unreachable!("handled above"),
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
    fn grad_point_losses() {
        for loss in [Loss::Mae, Loss::Mse, Loss::Rmse, Loss::Mape, Loss::Smape, Loss::Huber { delta: 0.7 }, Loss::Quantile { q: 0.3 }] {
            let (y_hat, y, mask) = data(1, 1);
            check_gradients("loss", |x| loss.compute(&x[0], &y, &mask), &[y_hat]);
        }
    }

    #[test]
    fn grad_multi_quantile() {
        let loss = Loss::from_json(&serde_json::json!({"type": "MQLoss", "level": [80]}), "loss").unwrap();
        let (y_hat, y, mask) = data(2, 3);
        check_gradients("MQLoss", |x| loss.compute(&x[0], &y, &mask), &[y_hat]);
    }

    #[test]
    fn values_by_hand() {
        let y = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]);
        let y_hat = Tensor::from_vec(vec![2.0, 2.0, 1.0, 100.0], &[1, 4, 1]);
        let mask = Tensor::from_vec(vec![1.0, 1.0, 1.0, 0.0], &[1, 4]);
        assert!((Loss::Mae.compute(&y_hat, &y, &mask).item() - 1.0).abs() < 1e-6);
        assert!((Loss::Mse.compute(&y_hat, &y, &mask).item() - 5.0 / 3.0).abs() < 1e-6);
        // Pinball at q=0.5 is half the absolute error.
        assert!((Loss::Quantile { q: 0.5 }.compute(&y_hat, &y, &mask).item() - 0.5).abs() < 1e-6);
        assert!((Loss::Huber { delta: 1.0 }.compute(&y_hat, &y, &mask).item() - (0.5 + 0.0 + 1.5) / 3.0).abs() < 1e-6);
    }
}

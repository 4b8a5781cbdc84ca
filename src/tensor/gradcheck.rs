//! Finite-difference gradient checking, used by every op's and layer's `grad_*` test.
//!
//! The output is reduced to a scalar with fixed random weights (so every output element matters
//! and errors cannot cancel), the analytic gradient comes from [`Tensor::backward`], and the
//! numerical one from central differences with the loss accumulated in f64.
//!
//! The criterion is `|analytic - numeric| <= ATOL + RTOL·max(|analytic|, |numeric|)`. The absolute
//! part is small enough that a gradient of 0.01 computed twice too large fails (a 2e-2 absolute
//! tolerance let any error on gradients below 0.02 through); it is what f32 rounding of the
//! outputs needs at this step (outputs untouched by a perturbation come back bit-identical, so
//! only the perturbed ones add noise).

use super::{no_grad, Tensor};
use crate::rng::Rng;

/// Step of the central difference. Large enough that f32 rounding stays small against it, small
/// enough that curvature does not dominate.
const EPS: f32 = 1e-3;
/// Default tolerances of [`check_gradients`] (see the module comment).
pub const ATOL: f64 = 1e-3;
pub const RTOL: f64 = 1e-2;
/// At most this many elements of each input are perturbed (chosen at random), to keep tests fast.
const MAX_CHECKED: usize = 48;

fn weighted_sum(out: &Tensor, weights: &[f32]) -> f64 {
    out.data().iter().zip(weights).map(|(o, w)| *o as f64 * *w as f64).sum()
}

/// Checks the gradients of `f` at `inputs` against finite differences, panicking with a report
/// naming `op` and the first element that disagrees. Every input is treated as differentiable.
pub fn check_gradients(op: &str, f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor]) {
    check_gradients_tol(op, f, inputs, ATOL, RTOL)
}

/// [`check_gradients`] with explicit absolute and relative tolerances.
pub fn check_gradients_tol(op: &str, f: impl Fn(&[Tensor]) -> Tensor, inputs: &[Tensor], atol: f64, rtol: f64) {
    let params: Vec<Tensor> = inputs.iter().map(|t| Tensor::param(t.to_vec(), t.shape())).collect();
    let out = f(&params);
    let mut rng = Rng::seed(0x9e3779b9);
    let weights: Vec<f32> = (0..out.numel()).map(|_| rng.uniform(-1.0, 1.0)).collect();
    let w = Tensor::from_vec(weights.clone(), out.shape());
    let loss = out.mul(&w).sum_all();
    let grads = loss.backward();

    for (i, p) in params.iter().enumerate() {
        let analytic = grads.get(p).cloned().unwrap_or_else(|| vec![0.0; p.numel()]);
        let n = p.numel();
        let mut picks: Vec<usize> = (0..n).collect();
        if n > MAX_CHECKED {
            rng.shuffle(&mut picks);
            picks.truncate(MAX_CHECKED);
        }
        for &j in &picks {
            let original = p.data()[j];
            let eval = |x: f32| -> f64 {
                let probe: Vec<Tensor> = params
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        let mut v = t.to_vec();
                        if k == i {
                            v[j] = x;
                        }
                        Tensor::from_vec(v, t.shape())
                    })
                    .collect();
                no_grad(|| weighted_sum(&f(&probe), &weights))
            };
            // The step actually taken: `original ± EPS` rounds to f32, off by up to 1e-4 of 2·EPS.
            let (up, down) = (original + EPS, original - EPS);
            let numeric = (eval(up) - eval(down)) / (up as f64 - down as f64);
            let a = analytic[j] as f64;
            assert!(
                (numeric - a).abs() <= atol + rtol * a.abs().max(numeric.abs()),
                "gradient check failed for {op}: input {i} (shape {:?}) element {j}: analytic {a:.6}, numeric {numeric:.6}",
                p.shape()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Backward;

    /// Multiplies by `scale`, with a backward rule claiming the derivative is `claimed`.
    struct Scaled {
        claimed: f32,
    }
    impl Backward for Scaled {
        fn backward(&self, _: &[Tensor], _: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
            vec![Some(g.iter().map(|g| self.claimed * g).collect())]
        }
        fn name(&self) -> &'static str {
            "scaled"
        }
    }

    fn scaled(scale: f32, claimed: f32) -> impl Fn(&[Tensor]) -> Tensor {
        move |x: &[Tensor]| {
            let data = x[0].data().iter().map(|v| scale * v).collect();
            Tensor::from_op(data, x[0].shape(), &[&x[0]], Scaled { claimed })
        }
    }

    fn inputs() -> Vec<Tensor> {
        vec![Tensor::randn(&[4, 5], &mut Rng::seed(3))]
    }

    #[test]
    #[should_panic(expected = "gradient check failed for wrong_double")]
    fn grad_checker_catches_a_wrong_rule() {
        check_gradients("wrong_double", scaled(2.0, 3.0), &inputs());
    }

    #[test]
    #[should_panic(expected = "gradient check failed for twice_too_large")]
    fn grad_checker_catches_a_factor_of_two_on_small_gradients() {
        // Gradients of 0.01·w claimed as 0.02·w: the old 2e-2 absolute tolerance passed this.
        check_gradients("twice_too_large", scaled(0.01, 0.02), &inputs());
    }

    #[test]
    fn grad_checker_accepts_the_right_rule_on_small_gradients_and_the_old_tolerance_did_not_catch_the_wrong_one() {
        check_gradients("scaled", scaled(0.01, 0.01), &inputs());
        check_gradients("scaled", scaled(1e-3, 1e-3), &inputs());
        check_gradients_tol("twice_too_large (old tolerance)", scaled(0.01, 0.02), &inputs(), 2e-2, 2e-2);
    }
}

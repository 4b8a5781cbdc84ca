//! Inverted dropout: zero each value with probability p and scale the rest by 1/(1-p), so
//! evaluation needs no rescaling. The mask comes from the caller's seeded stream.

use rayon::prelude::*;

use super::binary::PARALLEL_ELEMS;
use crate::rng::Rng;
use crate::tensor::{Backward, Tensor};

/// `x · scale` elementwise, on the thread pool when large.
fn scaled(x: &[f32], scale: &[f32]) -> Vec<f32> {
    if x.len() >= PARALLEL_ELEMS {
        x.par_iter().zip(scale).map(|(x, s)| x * s).collect()
    } else {
        x.iter().zip(scale).map(|(x, s)| x * s).collect()
    }
}

struct DropoutBackward {
    /// 0 for dropped values, 1/(1-p) for kept ones.
    scale: Vec<f32>,
}

impl Backward for DropoutBackward {
    fn backward(&self, _inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        vec![Some(scaled(g, &self.scale))]
    }
    fn name(&self) -> &'static str {
        "dropout"
    }
}

impl Tensor {
    /// Dropout with probability `p` when `train`; the identity otherwise.
    pub fn dropout(&self, p: f32, train: bool, rng: &mut Rng) -> Tensor {
        if !train || p <= 0.0 {
            return self.clone();
        }
        // p = 1 drops everything (PyTorch gives zeros); 1/(1-p) would be inf for the one draw
        // that can reach the threshold.
        let keep = if p >= 1.0 { 0.0 } else { 1.0 / (1.0 - p) };
        // A value is dropped when its uniform 32-bit draw falls below p·2³².
        let threshold = (p as f64 * 4_294_967_296.0).min(u32::MAX as f64) as u32;
        let mut draws = vec![0u32; self.numel()];
        rng.fill_u32(&mut draws);
        let scale: Vec<f32> = if draws.len() >= PARALLEL_ELEMS {
            draws.par_iter().map(|&u| if u < threshold { 0.0 } else { keep }).collect()
        } else {
            draws.iter().map(|&u| if u < threshold { 0.0 } else { keep }).collect()
        };
        let out = scaled(&self.data(), &scale);
        Tensor::from_op(out, self.shape(), &[self], DropoutBackward { scale })
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_dropout_with_a_fixed_mask() {
        let x = vec![Tensor::randn(&[4, 5], &mut Rng::seed(71))];
        // The same seed on every call gives the same mask, so differences are well defined.
        check_gradients("dropout", |x| x[0].dropout(0.3, true, &mut Rng::seed(5)), &x);
    }

    #[test]
    fn keeps_the_expected_fraction_and_mean() {
        let x = Tensor::ones(&[10_000]);
        let y = x.dropout(0.25, true, &mut Rng::seed(1)).to_vec();
        let kept = y.iter().filter(|v| **v > 0.0).count() as f32 / 10_000.0;
        assert!((kept - 0.75).abs() < 0.02);
        // Kept values are scaled by 1/(1-p), so the mean stays 1 (PyTorch's inverted dropout).
        assert!(y.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6), "kept values are 1/(1-p)");
        let mean = y.iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert_eq!(x.dropout(0.25, false, &mut Rng::seed(1)).to_vec(), x.to_vec());
    }

    #[test]
    fn p_one_drops_everything() {
        let y = Tensor::ones(&[10_000]).dropout(1.0, true, &mut Rng::seed(1)).to_vec();
        assert!(y.iter().all(|v| *v == 0.0));
    }
}

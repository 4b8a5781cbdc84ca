//! NeuralForecast's `RevINMultivariate` (Kim et al., 2022, as TSMixer and TSMixerx use it): each
//! window is standardised per series over time with statistics that carry no gradient, mapped by
//! a learnable per-series affine, and the forecast mapped back. Unlike the univariate RevIN, the
//! statistics ignore the availability mask and `denorm` divides by the weight without an epsilon,
//! as NeuralForecast does.

use super::init;
use super::module::{join, Module};
use crate::tensor::Tensor;

const EPS: f32 = 1e-5;

pub struct RevinMultivariate {
    /// `[1, 1, N]`, ones at the start.
    pub affine_weight: Tensor,
    /// `[1, 1, N]`, zeros at the start.
    pub affine_bias: Tensor,
}

/// One window batch's statistics, `[B, 1, N]` each, kept from `norm` for `denorm`.
pub struct RevinStats {
    mean: Tensor,
    std: Tensor,
}

impl RevinMultivariate {
    pub fn new(n_series: usize) -> RevinMultivariate {
        RevinMultivariate { affine_weight: init::ones(&[1, 1, n_series]), affine_bias: init::zeros(&[1, 1, n_series]) }
    }

    /// `x [B, L, N]` standardised over L, then the affine map.
    pub fn norm(&self, x: &Tensor) -> (Tensor, RevinStats) {
        let mean = x.mean_axis(1, true).detach();
        let std = x.var_axis(1, true, false).add_scalar(EPS).sqrt().detach();
        let y = x.sub(&mean).div(&std).mul(&self.affine_weight).add(&self.affine_bias);
        (y, RevinStats { mean, std })
    }

    /// `y [B, T, N]` (any T) back to the series' scale.
    pub fn denorm(&self, y: &Tensor, stats: &RevinStats) -> Tensor {
        y.sub(&self.affine_bias).div(&self.affine_weight).mul(&stats.std).add(&stats.mean)
    }
}

impl Module for RevinMultivariate {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "affine_weight"), &self.affine_weight);
        f(join(prefix, "affine_bias"), &self.affine_bias);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn norm_then_denorm_is_identity_and_standardises_each_series() {
        let r = RevinMultivariate::new(3);
        let x = Tensor::randn(&[2, 5, 3], &mut Rng::seed(4)).mul_scalar(10.0).add_scalar(7.0);
        let (y, stats) = r.norm(&x);
        let col: Vec<f32> = y.to_vec().iter().skip(1).step_by(3).take(5).copied().collect();
        assert!(col.iter().sum::<f32>().abs() < 1e-4);
        let back = r.denorm(&y, &stats).to_vec();
        for (a, b) in back.iter().zip(x.to_vec()) {
            assert!((a - b).abs() < 1e-3, "{a} {b}");
        }
    }

    #[test]
    fn grad_revin_multivariate_affine() {
        // Statistics are detached (as in NeuralForecast), so check through the affine parameters
        // and through denorm's input.
        let mut rng = Rng::seed(5);
        let x = Tensor::randn(&[2, 4, 3], &mut rng);
        let (w, b) = (Tensor::randn(&[1, 1, 3], &mut rng).add_scalar(2.0), Tensor::randn(&[1, 1, 3], &mut rng));
        check_gradients(
            "RevINMultivariate",
            |t| {
                let r = RevinMultivariate { affine_weight: t[1].clone(), affine_bias: t[2].clone() };
                let (y, stats) = r.norm(&x);
                r.denorm(&y.mul(&t[0]), &stats)
            },
            &[Tensor::randn(&[2, 4, 3], &mut rng), w, b],
        );
    }
}

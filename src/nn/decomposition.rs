//! Series decomposition as NeuralForecast's DLinear, Autoformer and FEDformer use it: the trend is
//! a centred moving average over time (the ends repeated so the length is kept), the seasonal
//! part what is left; and the decomposition transformers' LayerNorm for the seasonal part.

use super::module::{join, Module};
use super::norm::LayerNorm;
use crate::tensor::Tensor;

/// `SeriesDecomp(kernel_size)`: `MovingAvg` (each end repeated `(k − 1)/2` times, then
/// `AvgPool1d(k, stride 1)`) and the remainder. `k` is odd, so the average is centred and keeps
/// the length (NeuralForecast fails on an even window: the parts differ by one step).
#[derive(Clone, Copy, Debug)]
pub struct SeriesDecomp {
    pub kernel: usize,
}

impl SeriesDecomp {
    pub fn new(kernel: usize) -> Self {
        assert!(kernel % 2 == 1, "SeriesDecomp: the moving average window must be odd, got {kernel}");
        SeriesDecomp { kernel }
    }

    /// The trend of `x`, time on axis 1 (`[B, L]` or `[B, L, D]`).
    pub fn trend(&self, x: &Tensor) -> Tensor {
        x.moving_average(1, self.kernel)
    }

    /// (seasonal, trend) of `x`, time on axis 1 (`[B, L]` or `[B, L, D]`).
    ///
    /// ```
    /// use neuro_divergent::nn::SeriesDecomp;
    /// use neuro_divergent::tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 6.0], &[1, 3]);
    /// let (seasonal, trend) = SeriesDecomp::new(3).forward(&x);
    /// // Padded [1, 1, 2, 6, 6]: trend [4/3, 3, 14/3].
    /// assert!((trend.to_vec()[1] - 3.0).abs() < 1e-6);
    /// assert!((seasonal.to_vec()[1] + 1.0).abs() < 1e-6);
    /// ```
    pub fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let trend = self.trend(x);
        (x.sub(&trend), trend)
    }
}

/// The decomposition transformers' `LayerNorm` "for the seasonal part": LayerNorm over the
/// features, then each feature's mean over time subtracted, so the output has no level left.
pub struct SeasonalLayerNorm {
    pub layernorm: LayerNorm,
}

impl SeasonalLayerNorm {
    pub fn new(channels: usize) -> Self {
        SeasonalLayerNorm { layernorm: LayerNorm::new(channels) }
    }

    /// `[B, L, D]` → `[B, L, D]`
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let x_hat = self.layernorm.forward(x);
        x_hat.sub(&x_hat.mean_axis(1, true))
    }
}

impl Module for SeasonalLayerNorm {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layernorm.visit(&join(prefix, "layernorm"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn trend_is_the_centred_average_with_repeated_ends_per_feature() {
        let mut rng = Rng::seed(3);
        let x = Tensor::randn(&[2, 6, 3], &mut rng);
        let (seasonal, trend) = SeriesDecomp::new(5).forward(&x);
        let (xv, tv, sv) = (x.to_vec(), trend.to_vec(), seasonal.to_vec());
        for b in 0..2 {
            for t in 0..6 {
                for d in 0..3 {
                    let at = |s: isize| xv[(b * 6 + s.clamp(0, 5) as usize) * 3 + d];
                    let want = (-2..=2).map(|o| at(t as isize + o)).sum::<f32>() / 5.0;
                    let i = (b * 6 + t) * 3 + d;
                    assert!((tv[i] - want).abs() < 1e-6 && (sv[i] - (xv[i] - want)).abs() < 1e-6);
                }
            }
        }
        // A window longer than the series still keeps its length.
        assert_eq!(SeriesDecomp::new(25).trend(&x).shape(), &[2, 6, 3]);
    }

    #[test]
    fn grad_decomposition_and_seasonal_norm() {
        let mut rng = Rng::seed(4);
        let x = vec![Tensor::randn(&[2, 5, 3], &mut rng)];
        check_gradients("SeriesDecomp seasonal", |t| SeriesDecomp::new(3).forward(&t[0]).0, &x);
        check_gradients("SeriesDecomp trend [B, L]", |t| SeriesDecomp::new(7).trend(&t[0].reshape(&[2, 15])), &x);
        let norm = SeasonalLayerNorm::new(3);
        check_gradients("SeasonalLayerNorm", |t| norm.forward(&t[0]), &x);
        let y = norm.forward(&x[0]).mean_axis(1, false).to_vec();
        assert!(y.iter().all(|v| v.abs() < 1e-6));
    }
}

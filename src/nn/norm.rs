//! LayerNorm and BatchNorm1d with PyTorch's parameter names, defaults and running statistics.

use super::init;
use super::module::{join, Module};
use crate::tensor::Tensor;

/// Normalises over the last axes (PyTorch's `normalized_shape`, one axis unless built with
/// [`LayerNorm::over`]), then scales and shifts (`weight` ones, `bias` zeros, eps 1e-5).
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(dim: usize) -> LayerNorm {
        Self::over(&[dim])
    }

    /// Normalises over the trailing axes `shape` jointly (e.g. `[h, features]`), with weight and
    /// bias of that shape, as `nn.LayerNorm(normalized_shape=shape)`.
    pub fn over(shape: &[usize]) -> LayerNorm {
        LayerNorm { weight: init::ones(shape), bias: init::zeros(shape), eps: 1e-5 }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        if self.weight.rank() == 1 {
            return x.layer_norm(Some(&self.weight), Some(&self.bias), self.eps);
        }
        // Several axes: flatten them into one, normalise, restore the shape.
        let n = self.weight.numel();
        let shape = x.shape().to_vec();
        let flat = x.reshape(&[x.numel() / n, n]);
        flat.layer_norm(Some(&self.weight.reshape(&[n])), Some(&self.bias.reshape(&[n])), self.eps).reshape(&shape)
    }
}

impl Module for LayerNorm {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
        f(join(prefix, "bias"), &self.bias);
    }
}

/// Batch normalisation over channels (axis 1 of `[B, C]` or `[B, C, L]`): batch statistics in
/// training, updating running statistics with `momentum`; running statistics in evaluation.
pub struct BatchNorm1d {
    pub weight: Tensor,
    pub bias: Tensor,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    pub momentum: f32,
    pub eps: f32,
}

impl BatchNorm1d {
    pub fn new(channels: usize) -> BatchNorm1d {
        BatchNorm1d {
            weight: init::ones(&[channels]),
            bias: init::zeros(&[channels]),
            running_mean: Tensor::zeros(&[channels]),
            running_var: Tensor::ones(&[channels]),
            momentum: 0.1,
            eps: 1e-5,
        }
    }

    /// With PyTorch's `eps` and `momentum` set (TSMixer uses 1e-3 and 0.01).
    pub fn with(channels: usize, eps: f32, momentum: f32) -> BatchNorm1d {
        BatchNorm1d { eps, momentum, ..Self::new(channels) }
    }

    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        self.forward_on(x, 1, train)
    }

    /// As [`BatchNorm1d::forward`] with the channels on `channel_axis` (e.g. the last axis of
    /// `[B, L, C]`, which spares the transposes around PyTorch's `[B, C, L]` layout).
    pub fn forward_on(&self, x: &Tensor, channel_axis: usize, train: bool) -> Tensor {
        if !train {
            return x.batch_norm_eval(channel_axis, &self.running_mean.to_vec(), &self.running_var.to_vec(), &self.weight, &self.bias, self.eps);
        }
        let (y, mean, var) = x.batch_norm_train(channel_axis, &self.weight, &self.bias, self.eps);
        // PyTorch keeps the unbiased variance in the running estimate.
        let n = (x.numel() / x.shape()[channel_axis]) as f32;
        let unbias = if n > 1.0 { n / (n - 1.0) } else { 1.0 };
        let m = self.momentum;
        for (r, b) in self.running_mean.data_mut().iter_mut().zip(&mean) {
            *r = (1.0 - m) * *r + m * b;
        }
        for (r, b) in self.running_var.data_mut().iter_mut().zip(&var) {
            *r = (1.0 - m) * *r + m * b * unbias;
        }
        y
    }
}

impl Module for BatchNorm1d {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
        f(join(prefix, "bias"), &self.bias);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "running_mean"), &self.running_mean);
        f(join(prefix, "running_var"), &self.running_var);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{named_buffers, named_params};
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn grad_layer_norm_layer() {
        let ln = LayerNorm::new(5);
        let mut rng = Rng::seed(1);
        // Weights other than the initial ones and zeros, so a swapped weight and bias would show.
        let inputs = vec![Tensor::randn(&[2, 3, 5], &mut rng), Tensor::randn(&[5], &mut rng), Tensor::randn(&[5], &mut rng)];
        check_gradients("LayerNorm", |t| LayerNorm { weight: t[1].clone(), bias: t[2].clone(), eps: ln.eps }.forward(&t[0]), &inputs);
        assert_eq!(named_params(&ln).len(), 2);
    }

    #[test]
    fn grad_batch_norm_layer() {
        let mut rng = Rng::seed(2);
        let inputs = vec![Tensor::randn(&[4, 3, 5], &mut rng), Tensor::randn(&[3], &mut rng), Tensor::randn(&[3], &mut rng)];
        for train in [true, false] {
            let layer = |t: &[Tensor]| {
                let mut bn = BatchNorm1d::new(3);
                bn.weight = t[1].clone();
                bn.bias = t[2].clone();
                bn.running_mean = Tensor::from_vec(vec![0.1, -0.2, 0.3], &[3]);
                bn.running_var = Tensor::from_vec(vec![0.5, 1.5, 2.0], &[3]);
                bn.forward(&t[0], train)
            };
            check_gradients(if train { "BatchNorm1d (train)" } else { "BatchNorm1d (eval)" }, layer, &inputs);
        }
    }

    #[test]
    fn grad_layer_norm_over_two_axes() {
        // TSMixerx's LayerNorm over (h, features): one mean and variance per batch row.
        let mut rng = Rng::seed(2);
        let ln = LayerNorm::over(&[3, 4]);
        let x = Tensor::randn(&[2, 3, 4], &mut rng);
        let (w, b) = (Tensor::randn(&[3, 4], &mut rng), Tensor::randn(&[3, 4], &mut rng));
        check_gradients("LayerNorm over 2 axes", |t| LayerNorm { weight: t[1].clone(), bias: t[2].clone(), eps: ln.eps }.forward(&t[0]), &[x.clone(), w, b]);
        let y = ln.forward(&x).to_vec();
        let row: &[f32] = &y[..12];
        let mean = row.iter().sum::<f32>() / 12.0;
        let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 12.0;
        assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3, "{mean} {var}");
        assert_eq!(named_params(&ln)[0].1.shape(), &[3, 4]);
    }

    #[test]
    fn grad_batch_norm_2d_with_eps_and_momentum() {
        // TSMixer's BatchNorm1d over flattened [B, N·L] features, eps 1e-3, momentum 0.01.
        let mut rng = Rng::seed(3);
        let x = Tensor::randn(&[5, 6], &mut rng);
        let (w, b) = (Tensor::randn(&[6], &mut rng), Tensor::randn(&[6], &mut rng));
        let layer = |t: &[Tensor], train: bool| {
            let mut bn = BatchNorm1d::with(6, 1e-3, 0.01);
            bn.weight = t[1].clone();
            bn.bias = t[2].clone();
            bn.forward(&t[0], train)
        };
        check_gradients("BatchNorm1d 2-D train", |t| layer(t, true), &[x.clone(), w.clone(), b.clone()]);
        check_gradients("BatchNorm1d 2-D eval", |t| layer(t, false), &[x.clone(), w, b]);
        let bn = BatchNorm1d::with(6, 1e-3, 0.01);
        bn.forward(&x, true);
        let col: Vec<f32> = x.to_vec().iter().skip(0).step_by(6).copied().collect();
        let mean = col.iter().sum::<f32>() / 5.0;
        assert!((bn.running_mean.to_vec()[0] - 0.01 * mean).abs() < 1e-6);
        // eps 1e-3 under the root: column 0 holds 0 and 1 (mean 0.5, biased variance 0.25).
        let y = BatchNorm1d::with(2, 1e-3, 0.01).forward(&Tensor::from_vec(vec![0.0, 0.0, 1.0, 2.0], &[2, 2]), true).to_vec();
        assert!((y[0] + 0.5 / (0.25f32 + 1e-3).sqrt()).abs() < 1e-5, "{}", y[0]);
    }

    #[test]
    fn batch_norm_tracks_running_statistics() {
        let bn = BatchNorm1d::new(2);
        let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0], &[2, 2]);
        let y = bn.forward(&x, true).to_vec();
        assert!((y[0] + 1.0).abs() < 1e-3 && (y[2] - 1.0).abs() < 1e-3);
        // mean (2, 20), unbiased var (2, 200).
        assert_eq!(bn.running_mean.to_vec(), vec![0.2, 2.0]);
        let rv = bn.running_var.to_vec();
        assert!((rv[0] - 1.1).abs() < 1e-5 && (rv[1] - 20.9).abs() < 1e-3);
        let names: Vec<String> = named_buffers(&bn).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["running_mean", "running_var"]);
        // Evaluation uses the running statistics.
        let e = bn.forward(&x, false).to_vec();
        assert!((e[0] - (1.0 - 0.2) / (1.1f32 + 1e-5).sqrt()).abs() < 1e-4);
    }
}

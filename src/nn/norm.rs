//! LayerNorm and BatchNorm1d with PyTorch's parameter names, defaults and running statistics.

use super::init;
use super::module::{join, Module};
use crate::tensor::Tensor;

/// Normalises over the last axis, then scales and shifts (`weight` ones, `bias` zeros, eps 1e-5).
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn new(dim: usize) -> LayerNorm {
        LayerNorm { weight: init::ones(&[dim]), bias: init::zeros(&[dim]), eps: 1e-5 }
    }
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(Some(&self.weight), Some(&self.bias), self.eps)
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

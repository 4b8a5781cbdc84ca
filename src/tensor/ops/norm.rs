//! Layer normalisation over the last axis, fused (transformer models call it on every block):
//! `y = (x - mean) / sqrt(var + eps) · weight + bias`, biased variance as PyTorch.

use crate::tensor::{Backward, Tensor};

struct LayerNormBackward {
    /// Normalised input x̂ and 1/σ per row, kept from the forward pass.
    xhat: Vec<f32>,
    rstd: Vec<f32>,
}

impl Backward for LayerNormBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let n = inputs[0].dim(-1);
        let weight = inputs.get(1).map(|w| w.to_vec());
        let mut gx = vec![0.0f32; g.len()];
        let mut gw = vec![0.0f32; n];
        let mut gb = vec![0.0f32; n];
        for (r, ((gx, g), xh)) in gx.chunks_mut(n).zip(g.chunks(n)).zip(self.xhat.chunks(n)).enumerate() {
            // dx̂ = g·w; dx = rstd/n · (n·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂))
            let dxhat: Vec<f32> = match &weight {
                Some(w) => g.iter().zip(w).map(|(g, w)| g * w).collect(),
                None => g.to_vec(),
            };
            let sum: f32 = dxhat.iter().sum();
            let dot: f32 = dxhat.iter().zip(xh).map(|(d, x)| d * x).sum();
            let k = self.rstd[r] / n as f32;
            for i in 0..n {
                gx[i] = k * (n as f32 * dxhat[i] - sum - xh[i] * dot);
                gw[i] += g[i] * xh[i];
                gb[i] += g[i];
            }
        }
        let mut grads = vec![Some(gx)];
        if inputs.len() > 1 {
            grads.push(Some(gw));
        }
        if inputs.len() > 2 {
            grads.push(Some(gb));
        }
        grads
    }
    fn name(&self) -> &'static str {
        "layer_norm"
    }
}

impl Tensor {
    /// Normalises each row over the last axis; `weight` and `bias` are `[n]` (None = 1 and 0).
    /// With a bias a weight must be given too.
    pub fn layer_norm(&self, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f32) -> Tensor {
        let n = self.dim(-1);
        assert!(bias.is_none() || weight.is_some(), "layer_norm: a bias needs a weight");
        let xd = self.data();
        let rows = xd.len() / n.max(1);
        let mut xhat = vec![0.0f32; xd.len()];
        let mut rstd = vec![0.0f32; rows];
        for (r, (row, out)) in xd.chunks(n).zip(xhat.chunks_mut(n)).enumerate() {
            let mean = row.iter().map(|v| *v as f64).sum::<f64>() / n as f64;
            let var = row.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            let s = 1.0 / (var + eps as f64).sqrt();
            rstd[r] = s as f32;
            for (o, v) in out.iter_mut().zip(row) {
                *o = ((*v as f64 - mean) * s) as f32;
            }
        }
        drop(xd);
        let mut y = xhat.clone();
        if let Some(w) = weight {
            let w = w.data();
            for row in y.chunks_mut(n) {
                row.iter_mut().zip(w.iter()).for_each(|(y, w)| *y *= w);
            }
        }
        if let Some(b) = bias {
            let b = b.data();
            for row in y.chunks_mut(n) {
                row.iter_mut().zip(b.iter()).for_each(|(y, b)| *y += b);
            }
        }
        let rule = LayerNormBackward { xhat, rstd };
        match (weight, bias) {
            (Some(w), Some(b)) => Tensor::from_op(y, self.shape(), &[self, w, b], rule),
            (Some(w), None) => Tensor::from_op(y, self.shape(), &[self, w], rule),
            _ => Tensor::from_op(y, self.shape(), &[self], rule),
        }
    }

    /// Batch normalisation with batch statistics over every axis but `channel_axis` (training
    /// mode), composed from primitive ops; returns the output and the per-channel batch mean and
    /// biased variance (for running statistics).
    pub fn batch_norm_train(&self, channel_axis: usize, weight: &Tensor, bias: &Tensor, eps: f32) -> (Tensor, Vec<f32>, Vec<f32>) {
        let c = self.shape()[channel_axis];
        let mut perm: Vec<usize> = (0..self.rank()).filter(|&a| a != channel_axis).collect();
        perm.push(channel_axis);
        let channels_last = channel_axis + 1 == self.rank();
        let flat = if channels_last { self.reshape(&[usize::MAX, c]) } else { self.permute(&perm).reshape(&[usize::MAX, c]) };
        let mean = flat.mean_axis(0, true);
        let centred = flat.sub(&mean);
        let var = centred.square().mean_axis(0, true);
        let y = centred.div(&var.add_scalar(eps).sqrt()).mul(weight).add(bias);
        let permuted_shape: Vec<usize> = perm.iter().map(|&a| self.shape()[a]).collect();
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let y = if channels_last { y.reshape(self.shape()) } else { y.reshape(&permuted_shape).permute(&inverse) };
        (y, mean.to_vec(), var.to_vec())
    }

    /// Batch normalisation with given statistics (evaluation mode).
    pub fn batch_norm_eval(&self, channel_axis: usize, mean: &[f32], var: &[f32], weight: &Tensor, bias: &Tensor, eps: f32) -> Tensor {
        let c = self.shape()[channel_axis];
        let mut shape = vec![1; self.rank()];
        shape[channel_axis] = c;
        let scale: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let m = Tensor::from_vec(mean.to_vec(), &shape);
        let s = Tensor::from_vec(scale, &shape);
        self.sub(&m).mul(&s).mul(&weight.reshape(&shape)).add(&bias.reshape(&shape))
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_layer_norm() {
        let mut rng = Rng::seed(81);
        let xs = vec![Tensor::randn(&[3, 2, 6], &mut rng), Tensor::randn(&[6], &mut rng), Tensor::randn(&[6], &mut rng)];
        check_gradients("layer_norm", |x| x[0].layer_norm(Some(&x[1]), Some(&x[2]), 1e-5), &xs);
        check_gradients("layer_norm no affine", |x| x[0].layer_norm(None, None, 1e-5), &xs[..1]);
        check_gradients("layer_norm∘transpose", |x| x[0].transpose(1, 2).transpose(0, 2).layer_norm(None, None, 1e-5), &xs[..1]);
    }

    #[test]
    fn layer_norm_rows_have_zero_mean_unit_variance() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0], &[2, 4]);
        let y = x.layer_norm(None, None, 1e-5).to_vec();
        let mean: f32 = y[..4].iter().sum::<f32>() / 4.0;
        let var: f32 = y[..4].iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-3);
        assert!(y[4..].iter().all(|v| v.abs() < 1e-3), "a constant row maps to 0");
    }

    #[test]
    fn grad_batch_norm() {
        let mut rng = Rng::seed(82);
        let xs = vec![Tensor::randn(&[4, 3, 5], &mut rng), Tensor::randn(&[3], &mut rng), Tensor::randn(&[3], &mut rng)];
        check_gradients("batch_norm_train", |x| x[0].batch_norm_train(1, &x[1], &x[2], 1e-5).0, &xs);
        let (_, mean, var) = xs[0].batch_norm_train(1, &xs[1], &xs[2], 1e-5);
        check_gradients("batch_norm_eval", |x| x[0].batch_norm_eval(1, &mean, &var, &x[1], &x[2], 1e-5), &xs);
        // Channels last (no permutes) agrees with channels at axis 1 of the transposed input.
        let last = xs[0].transpose(1, 2).batch_norm_train(2, &xs[1], &xs[2], 1e-5).0.transpose(1, 2).to_vec();
        let first = xs[0].batch_norm_train(1, &xs[1], &xs[2], 1e-5).0.to_vec();
        assert!(last.iter().zip(&first).all(|(a, b)| (a - b).abs() < 1e-5));
        check_gradients("batch_norm_train channels last", |x| x[0].batch_norm_train(2, &x[1], &x[2], 1e-5).0, &[xs[0].transpose(1, 2), xs[1].clone(), xs[2].clone()]);
    }
}

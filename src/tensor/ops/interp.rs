//! Resampling along the last axis to a new length, as PyTorch's `F.interpolate(mode='linear' |
//! 'nearest', align_corners=False)`. The weights form a fixed `[n_in, n_out]` matrix, so the op
//! is one matmul and its gradient is the transposed product.

use crate::tensor::Tensor;

/// `[n_in, n_out]` weights reproducing `F.interpolate(size=n_out, align_corners=False)`.
pub fn interpolation_matrix(n_in: usize, n_out: usize, linear: bool) -> Vec<f32> {
    let mut m = vec![0.0f32; n_in * n_out];
    let scale = n_in as f32 / n_out as f32;
    for i in 0..n_out {
        if linear {
            let src = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (src as usize).min(n_in - 1);
            let i1 = if i0 < n_in - 1 { i0 + 1 } else { i0 };
            let w1 = src - i0 as f32;
            m[i0 * n_out + i] += 1.0 - w1;
            m[i1 * n_out + i] += w1;
        } else {
            let src = ((i as f32 * scale).floor() as usize).min(n_in - 1);
            m[src * n_out + i] = 1.0;
        }
    }
    m
}

impl Tensor {
    /// Linear (or, with `linear` false, nearest) resampling of the last axis to `n_out` points.
    pub fn interpolate(&self, n_out: usize, linear: bool) -> Tensor {
        let n_in = self.dim(-1);
        let m = Tensor::from_vec(interpolation_matrix(n_in, n_out, linear), &[n_in, n_out]);
        let rows = self.numel() / n_in.max(1);
        let mut shape = self.shape().to_vec();
        *shape.last_mut().unwrap() = n_out;
        self.reshape(&[rows, n_in]).matmul(&m).reshape(&shape)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_interpolate() {
        let x = vec![Tensor::randn(&[2, 3, 4], &mut Rng::seed(131))];
        check_gradients("interpolate linear", |x| x[0].interpolate(9, true), &x);
        check_gradients("interpolate nearest", |x| x[0].interpolate(6, false), &x);
        assert_eq!(Tensor::from_vec(vec![1.0, 2.0, 4.0], &[3]).interpolate(6, true).to_vec(), vec![1.0, 1.25, 1.75, 2.5, 3.5, 4.0]);
    }
}

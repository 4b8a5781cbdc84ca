//! The centred moving average of series decomposition along any axis, its ends padded by
//! repeating the edge values, in one pass of running sums: the same values as replicate padding
//! followed by `AvgPool1d(k, stride 1)` (NeuralForecast's `MovingAvg`), without the padded copy,
//! the transposes to put time last, or the k additions per output.

use rayon::prelude::*;

use crate::tensor::shape::{axis_index, numel};
use crate::tensor::{Backward, Tensor};

/// Runs `f(outer index, input block, output block)` over the `[outer, n, inner]` blocks, in
/// parallel over the outer index.
fn per_block(x: &[f32], out: &mut [f32], n: usize, inner: usize, f: impl Fn(&[f32], &mut [f32]) + Sync) {
    let block = (n * inner).max(1);
    out.par_chunks_mut(block).zip(x.par_chunks(block)).with_min_len(crate::kernels::inline::min_len()).for_each(|(o, x)| f(x, o));
}

/// One block `[n, inner]`: `out[t] = (1/k) Σ_{j=t}^{t+k−1} x[clamp(j − half)]`.
fn average_block(x: &[f32], out: &mut [f32], n: usize, inner: usize, k: usize) {
    let half = (k - 1) / 2;
    let at = |j: usize| (j.saturating_sub(half)).min(n - 1);
    let mut sum = vec![0.0f64; inner];
    for j in 0..k {
        sum.iter_mut().zip(&x[at(j) * inner..(at(j) + 1) * inner]).for_each(|(s, v)| *s += *v as f64);
    }
    let scale = 1.0 / k as f64;
    for t in 0..n {
        if t > 0 {
            let (add, drop) = (at(t + k - 1), at(t - 1));
            for ((s, a), d) in sum.iter_mut().zip(&x[add * inner..(add + 1) * inner]).zip(&x[drop * inner..(drop + 1) * inner]) {
                *s += *a as f64 - *d as f64;
            }
        }
        out[t * inner..(t + 1) * inner].iter_mut().zip(&sum).for_each(|(o, s)| *o = (s * scale) as f32);
    }
}

/// The adjoint of [`average_block`]: padded position j gathers `(1/k) Σ g[t]` over the windows
/// `t ∈ [j − k + 1, j]` that cover it, and passes it to the input position it copies.
fn average_block_backward(g: &[f32], gx: &mut [f32], n: usize, inner: usize, k: usize) {
    let half = (k - 1) / 2;
    let scale = 1.0 / k as f64;
    let mut sum = vec![0.0f64; inner];
    for j in 0..n + 2 * half {
        if j < n {
            sum.iter_mut().zip(&g[j * inner..(j + 1) * inner]).for_each(|(s, v)| *s += *v as f64);
        }
        if j >= k {
            sum.iter_mut().zip(&g[(j - k) * inner..(j - k + 1) * inner]).for_each(|(s, v)| *s -= *v as f64);
        }
        let src = j.saturating_sub(half).min(n - 1);
        gx[src * inner..(src + 1) * inner].iter_mut().zip(&sum).for_each(|(d, s)| *d += (s * scale) as f32);
    }
}

struct MovingAverageBackward {
    axis: usize,
    kernel: usize,
}

impl Backward for MovingAverageBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let shape = inputs[0].shape();
        let (n, inner) = (shape[self.axis], numel(&shape[self.axis + 1..]));
        let mut gx = vec![0.0f32; inputs[0].numel()];
        per_block(g, &mut gx, n, inner, |g, gx| average_block_backward(g, gx, n, inner, self.kernel));
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "moving_average"
    }
}

impl Tensor {
    /// The centred moving average of odd width `kernel` along `axis`, each end repeated
    /// `(kernel − 1)/2` times so the length is kept (a window wider than the axis averages
    /// mostly the repeated ends, as NeuralForecast's padding does).
    ///
    /// ```
    /// use neuro_divergent::tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 6.0], &[1, 3]);
    /// // [1, 1, 2, 6, 6] averaged in threes.
    /// let y = x.moving_average(1, 3).to_vec();
    /// assert!((y[0] - 4.0 / 3.0).abs() < 1e-6 && (y[1] - 3.0).abs() < 1e-6 && (y[2] - 14.0 / 3.0).abs() < 1e-6);
    /// ```
    pub fn moving_average(&self, axis: isize, kernel: usize) -> Tensor {
        assert!(kernel % 2 == 1, "moving_average: the window must be odd, got {kernel}");
        let axis = axis_index(axis, self.rank());
        let shape = self.shape();
        let (n, inner) = (shape[axis], numel(&shape[axis + 1..]));
        assert!(n > 0, "moving_average of an empty axis");
        let mut out = vec![0.0f32; self.numel()];
        per_block(&self.data(), &mut out, n, inner, |x, o| average_block(x, o, n, inner, kernel));
        Tensor::from_op(out, shape, &[self], MovingAverageBackward { axis, kernel })
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::{PadMode, Tensor};

    #[test]
    fn equals_replicate_padding_then_average_pooling() {
        let mut rng = Rng::seed(41);
        let x = Tensor::randn(&[2, 6, 3], &mut rng);
        for k in [1, 3, 5, 25] {
            let half = (k - 1) / 2;
            let composed = x.transpose(1, 2).pad(2, half, half, PadMode::Replicate).avg_pool1d_strided(k, 1, false).transpose(1, 2);
            for (a, b) in x.moving_average(1, k).to_vec().iter().zip(composed.to_vec()) {
                assert!((a - b).abs() < 1e-6, "k {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn grad_moving_average() {
        let mut rng = Rng::seed(42);
        let x = vec![Tensor::randn(&[2, 7, 3], &mut rng)];
        for k in [3, 5, 25] {
            check_gradients("moving_average inner axis", |t| t[0].moving_average(1, k), &x);
            check_gradients("moving_average last axis", |t| t[0].moving_average(-1, k), &x);
        }
    }
}

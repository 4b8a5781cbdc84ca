//! Softmax and log-softmax along the last axis, as fused ops (stable: max subtracted first).

use crate::tensor::{Backward, Tensor};

struct SoftmaxBackward {
    log: bool,
}

impl Backward for SoftmaxBackward {
    fn backward(&self, _inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let n = out.dim(-1);
        let y = out.data();
        let mut gx = vec![0.0f32; g.len()];
        for ((gx, g), y) in gx.chunks_mut(n).zip(g.chunks(n)).zip(y.chunks(n)) {
            if self.log {
                // d log_softmax: g - softmax · Σg
                let s: f32 = g.iter().sum();
                for i in 0..n {
                    gx[i] = g[i] - y[i].exp() * s;
                }
            } else {
                // d softmax: y ⊙ (g - ⟨g, y⟩)
                let dot: f32 = g.iter().zip(y).map(|(a, b)| a * b).sum();
                for i in 0..n {
                    gx[i] = y[i] * (g[i] - dot);
                }
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
}

fn softmax_impl(x: &Tensor, log: bool) -> Tensor {
    let n = x.dim(-1);
    let xd = x.data();
    let mut out = vec![0.0f32; xd.len()];
    for (o, row) in out.chunks_mut(n).zip(xd.chunks(n)) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        // A row of -inf (fully masked) gives zeros rather than NaN.
        let max = if max.is_finite() { max } else { 0.0 };
        let mut sum = 0.0f32;
        for (o, v) in o.iter_mut().zip(row) {
            *o = (v - max).exp();
            sum += *o;
        }
        if log {
            let lse = sum.ln();
            for (o, v) in o.iter_mut().zip(row) {
                *o = v - max - lse;
            }
        } else {
            let inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
            o.iter_mut().for_each(|o| *o *= inv);
        }
    }
    drop(xd);
    Tensor::from_op(out, x.shape(), &[x], SoftmaxBackward { log })
}

impl Tensor {
    /// Softmax over the last axis.
    pub fn softmax(&self) -> Tensor {
        softmax_impl(self, false)
    }
    /// Log-softmax over the last axis.
    pub fn log_softmax(&self) -> Tensor {
        softmax_impl(self, true)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_softmax_and_log_softmax() {
        let mut rng = Rng::seed(51);
        let x = vec![Tensor::randn(&[3, 2, 5], &mut rng)];
        check_gradients("softmax", |x| x[0].softmax(), &x);
        check_gradients("log_softmax", |x| x[0].log_softmax(), &x);
        check_gradients("softmax∘transpose", |x| x[0].transpose(1, 2).softmax(), &x);
    }

    #[test]
    fn rows_sum_to_one() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 1000.0, 1000.0, 1000.0], &[2, 3]);
        let y = x.softmax().to_vec();
        assert!((y[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((y[3] - 1.0 / 3.0).abs() < 1e-6);
    }
}

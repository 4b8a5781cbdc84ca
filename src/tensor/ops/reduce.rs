//! Reductions along one axis (sum, max, min) and what composes from them (mean, var, sum_all).
//! A tensor is seen as `[outer, n, inner]` around the reduced axis.

use crate::tensor::shape::{axis_index, numel};
use crate::tensor::{Backward, Tensor};

/// `[outer, n, inner]` split of `shape` around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (numel(&shape[..axis]), shape[axis], numel(&shape[axis + 1..]))
}

fn reduced_shape(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut s = shape.to_vec();
    if keepdim {
        s[axis] = 1;
    } else {
        s.remove(axis);
    }
    s
}

struct SumBackward {
    axis: usize,
}

impl Backward for SumBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (outer, n, inner) = split(inputs[0].shape(), self.axis);
        let mut gx = vec![0.0f32; outer * n * inner];
        for o in 0..outer {
            let src = &g[o * inner..(o + 1) * inner];
            for j in 0..n {
                gx[(o * n + j) * inner..(o * n + j + 1) * inner].copy_from_slice(src);
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "sum"
    }
}

/// The position along the axis where max/min was found, for each output element.
struct ArgBackward {
    axis: usize,
    picked: Vec<u32>,
}

impl Backward for ArgBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (outer, n, inner) = split(inputs[0].shape(), self.axis);
        let mut gx = vec![0.0f32; outer * n * inner];
        for o in 0..outer {
            for i in 0..inner {
                let k = o * inner + i;
                gx[(o * n + self.picked[k] as usize) * inner + i] += g[k];
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "max/min"
    }
}

fn extreme(x: &Tensor, axis: isize, keepdim: bool, want_max: bool) -> Tensor {
    let axis = axis_index(axis, x.rank());
    let (outer, n, inner) = split(x.shape(), axis);
    assert!(n > 0, "max/min over an empty axis");
    let xd = x.data();
    let mut out = vec![0.0f32; outer * inner];
    let mut picked = vec![0u32; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let mut best = xd[o * n * inner + i];
            let mut at = 0;
            for j in 1..n {
                let v = xd[(o * n + j) * inner + i];
                if (want_max && v > best) || (!want_max && v < best) {
                    best = v;
                    at = j;
                }
            }
            out[o * inner + i] = best;
            picked[o * inner + i] = at as u32;
        }
    }
    drop(xd);
    Tensor::from_op(out, &reduced_shape(x.shape(), axis, keepdim), &[x], ArgBackward { axis, picked })
}

impl Tensor {
    /// Sum along `axis` (negative counts from the end).
    pub fn sum_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let (outer, n, inner) = split(self.shape(), axis);
        let xd = self.data();
        let mut out = vec![0.0f32; outer * inner];
        for o in 0..outer {
            let acc = &mut out[o * inner..(o + 1) * inner];
            for j in 0..n {
                let row = &xd[(o * n + j) * inner..(o * n + j + 1) * inner];
                acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
            }
        }
        drop(xd);
        Tensor::from_op(out, &reduced_shape(self.shape(), axis, keepdim), &[self], SumBackward { axis })
    }

    /// Mean along `axis`.
    pub fn mean_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        let n = self.dim(axis) as f32;
        self.sum_axis(axis, keepdim).mul_scalar(1.0 / n)
    }

    /// Sum of all elements, as a 0-d tensor.
    pub fn sum_all(&self) -> Tensor {
        self.reshape(&[self.numel()]).sum_axis(0, false)
    }

    /// Mean of all elements, as a 0-d tensor.
    pub fn mean_all(&self) -> Tensor {
        let n = self.numel() as f32;
        self.sum_all().mul_scalar(1.0 / n)
    }

    /// Maximum along `axis`; the gradient goes to the (first) maximal element.
    pub fn max_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        extreme(self, axis, keepdim, true)
    }

    /// Minimum along `axis`.
    pub fn min_axis(&self, axis: isize, keepdim: bool) -> Tensor {
        extreme(self, axis, keepdim, false)
    }

    /// Variance along `axis`; `unbiased` divides by n-1 (PyTorch's default) instead of n.
    pub fn var_axis(&self, axis: isize, keepdim: bool, unbiased: bool) -> Tensor {
        let n = self.dim(axis);
        let centred = self.sub(&self.mean_axis(axis, true));
        let denom = if unbiased { (n - 1).max(1) } else { n } as f32;
        centred.square().sum_axis(axis, keepdim).mul_scalar(1.0 / denom)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_sum_mean_each_axis() {
        let mut rng = Rng::seed(21);
        let x = vec![Tensor::randn(&[2, 3, 4], &mut rng)];
        for axis in [0, 1, 2, -1] {
            check_gradients("sum_axis", |x| x[0].sum_axis(axis, false), &x);
            check_gradients("mean_axis", |x| x[0].mean_axis(axis, true), &x);
            check_gradients("var_axis", |x| x[0].var_axis(axis, false, true), &x);
        }
        check_gradients("sum_all", |x| x[0].sum_all(), &x);
        check_gradients("mean_all", |x| x[0].mean_all(), &x);
    }

    #[test]
    fn grad_max_min() {
        let mut rng = Rng::seed(22);
        let x = vec![Tensor::randn(&[3, 5], &mut rng)];
        check_gradients("max_axis", |x| x[0].max_axis(1, false), &x);
        check_gradients("min_axis", |x| x[0].min_axis(0, true), &x);
    }

    #[test]
    fn grad_on_permuted_input() {
        let mut rng = Rng::seed(23);
        let x = vec![Tensor::randn(&[3, 4, 2], &mut rng)];
        check_gradients("sum_axis∘permute", |x| x[0].permute(&[2, 0, 1]).sum_axis(1, false), &x);
    }

    #[test]
    fn values() {
        let x = Tensor::from_vec(vec![1.0, 5.0, 3.0, 4.0, 2.0, 6.0], &[2, 3]);
        assert_eq!(x.sum_axis(1, false).to_vec(), vec![9.0, 12.0]);
        assert_eq!(x.max_axis(0, false).to_vec(), vec![4.0, 5.0, 6.0]);
        assert_eq!(x.var_axis(1, false, false).to_vec()[0], 8.0 / 3.0);
    }
}

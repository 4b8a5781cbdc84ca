//! Padding, tiling and running sums along an axis.

use crate::tensor::shape::{axis_index, numel};
use crate::tensor::{Backward, Tensor};

/// How padded positions are filled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode {
    Constant(f32),
    /// Repeat the edge value (series decomposition in Autoformer/DLinear pads this way).
    Replicate,
    /// Wrap around: the axis continues periodically (PyTorch's `padding_mode="circular"`,
    /// the token embedding of Informer-style transformers).
    Circular,
}

impl PadMode {
    /// The source index along an axis of length `n` that padded position `src` copies, or None
    /// where the pad is a constant.
    fn source(self, src: isize, n: usize) -> Option<usize> {
        let n = n as isize;
        match self {
            PadMode::Constant(_) if src < 0 || src >= n => None,
            PadMode::Constant(_) => Some(src as usize),
            PadMode::Replicate => Some(src.clamp(0, n - 1) as usize),
            PadMode::Circular => Some(src.rem_euclid(n) as usize),
        }
    }
}

struct PadBackward {
    axis: usize,
    before: usize,
    mode: PadMode,
}

impl Backward for PadBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let shape = inputs[0].shape();
        let outer = numel(&shape[..self.axis]);
        let inner = numel(&shape[self.axis + 1..]);
        let (n, m) = (shape[self.axis], out.shape()[self.axis]);
        let mut gx = vec![0.0f32; inputs[0].numel()];
        for o in 0..outer {
            for j in 0..m {
                let src = j as isize - self.before as isize;
                let Some(i) = self.mode.source(src, n) else { continue };
                let gs = &g[(o * m + j) * inner..(o * m + j + 1) * inner];
                gx[(o * n + i) * inner..(o * n + i + 1) * inner].iter_mut().zip(gs).for_each(|(d, s)| *d += s);
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "pad"
    }
}

struct CumsumBackward {
    axis: usize,
}

impl Backward for CumsumBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // The gradient of a running sum is the running sum taken from the end.
        let shape = inputs[0].shape();
        let (outer, n, inner) = (numel(&shape[..self.axis]), shape[self.axis], numel(&shape[self.axis + 1..]));
        let mut gx = g.to_vec();
        for o in 0..outer {
            for i in 0..inner {
                for j in (0..n.saturating_sub(1)).rev() {
                    gx[(o * n + j) * inner + i] += gx[(o * n + j + 1) * inner + i];
                }
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "cumsum"
    }
}

impl Tensor {
    /// Pads `before` and `after` entries along `axis`.
    pub fn pad(&self, axis: isize, before: usize, after: usize, mode: PadMode) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let shape = self.shape();
        let n = shape[axis];
        assert!(n > 0 || matches!(mode, PadMode::Constant(_)), "replicate or circular padding of an empty axis");
        let outer = numel(&shape[..axis]);
        let inner = numel(&shape[axis + 1..]);
        let m = n + before + after;
        let xd = self.data();
        let mut out = Vec::with_capacity(outer * m * inner);
        for o in 0..outer {
            for j in 0..m {
                let src = j as isize - before as isize;
                match (mode.source(src, n), mode) {
                    (Some(i), _) => out.extend_from_slice(&xd[(o * n + i) * inner..(o * n + i + 1) * inner]),
                    (None, PadMode::Constant(v)) => out.extend(std::iter::repeat(v).take(inner)),
                    (None, _) => unreachable!("only constant padding has no source"),
                }
            }
        }
        drop(xd);
        let mut out_shape = shape.to_vec();
        out_shape[axis] = m;
        Tensor::from_op(out, &out_shape, &[self], PadBackward { axis, before, mode })
    }

    /// Tiles the tensor `times` times along `axis`.
    pub fn repeat_axis(&self, axis: isize, times: usize) -> Tensor {
        let copies = vec![self.clone(); times.max(1)];
        Tensor::concat(&copies, axis)
    }

    /// Running sum along `axis`.
    pub fn cumsum(&self, axis: isize) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let shape = self.shape();
        let (outer, n, inner) = (numel(&shape[..axis]), shape[axis], numel(&shape[axis + 1..]));
        let mut out = self.to_vec();
        for o in 0..outer {
            for j in 1..n {
                for i in 0..inner {
                    out[(o * n + j) * inner + i] += out[(o * n + j - 1) * inner + i];
                }
            }
        }
        Tensor::from_op(out, shape, &[self], CumsumBackward { axis })
    }
}

#[cfg(test)]
mod tests {
    use super::PadMode;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn pad_values() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]);
        assert_eq!(x.pad(1, 2, 1, PadMode::Replicate).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
        assert_eq!(x.pad(-1, 1, 0, PadMode::Constant(9.0)).to_vec(), vec![9.0, 1.0, 2.0, 3.0]);
        // Wider than the axis: wraps more than once.
        assert_eq!(x.pad(1, 1, 4, PadMode::Circular).to_vec(), vec![3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]);
        assert_eq!(x.cumsum(1).to_vec(), vec![1.0, 3.0, 6.0]);
        assert_eq!(x.repeat_axis(0, 2).shape(), &[2, 3]);
    }

    #[test]
    fn grad_pad_repeat_cumsum() {
        let x = vec![Tensor::randn(&[2, 4, 3], &mut Rng::seed(101))];
        check_gradients("pad constant", |x| x[0].pad(1, 2, 3, PadMode::Constant(0.5)), &x);
        check_gradients("pad replicate", |x| x[0].pad(2, 3, 1, PadMode::Replicate), &x);
        check_gradients("pad circular", |x| x[0].pad(1, 1, 6, PadMode::Circular), &x);
        check_gradients("repeat", |x| x[0].repeat_axis(0, 3), &x);
        check_gradients("cumsum", |x| x[0].cumsum(1), &x);
        check_gradients("cumsum∘permute", |x| x[0].permute(&[2, 0, 1]).cumsum(-1), &x);
    }
}

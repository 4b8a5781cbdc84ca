//! Ops that move data without arithmetic: reshape, permute, narrow, concat, stack, broadcast_to.

use crate::tensor::shape::{axis_index, numel, strides_of, sum_to_shape};
use crate::tensor::{grad_enabled, Backward, Recorded, Tensor};

use super::binary::broadcast_to_vec;

struct ReshapeBackward;

impl Backward for ReshapeBackward {
    fn backward(&self, _inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        vec![Some(g.to_vec())]
    }
    fn name(&self) -> &'static str {
        "reshape"
    }
}

/// Copies `src` (shape `shape`) into a new buffer with axes in the order `perm`.
fn permute_data(src: &[f32], shape: &[usize], perm: &[usize]) -> Vec<f32> {
    let rank = shape.len();
    let in_strides = strides_of(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let n = src.len();
    let mut out = Vec::with_capacity(n);
    if n == 0 {
        return out;
    }
    // Innermost output axis walked in a tight loop; the rest by an index counter.
    let last = rank - 1;
    let (inner_n, inner_s) = (out_shape[last], strides[last]);
    let mut index = vec![0usize; rank];
    let mut base = 0usize;
    loop {
        if inner_s == 1 {
            out.extend_from_slice(&src[base..base + inner_n]);
        } else {
            out.extend((0..inner_n).map(|k| src[base + k * inner_s]));
        }
        let mut d = last;
        loop {
            if d == 0 {
                return out;
            }
            d -= 1;
            index[d] += 1;
            base += strides[d];
            if index[d] < out_shape[d] {
                break;
            }
            base -= strides[d] * index[d];
            index[d] = 0;
        }
    }
}

struct PermuteBackward {
    perm: Vec<usize>,
}

impl Backward for PermuteBackward {
    fn backward(&self, _inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let mut inverse = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        vec![Some(permute_data(g, out.shape(), &inverse))]
    }
    fn name(&self) -> &'static str {
        "permute"
    }
}

struct NarrowBackward {
    axis: usize,
    start: usize,
}

impl Backward for NarrowBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let shape = inputs[0].shape();
        let outer = numel(&shape[..self.axis]);
        let inner = numel(&shape[self.axis + 1..]);
        let (n_in, n_out) = (shape[self.axis], out.shape()[self.axis]);
        let mut gx = vec![0.0f32; inputs[0].numel()];
        for o in 0..outer {
            let dst = (o * n_in + self.start) * inner;
            gx[dst..dst + n_out * inner].copy_from_slice(&g[o * n_out * inner..(o + 1) * n_out * inner]);
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "narrow"
    }
}

struct ConcatBackward {
    axis: usize,
}

impl Backward for ConcatBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let shape = out.shape();
        let outer = numel(&shape[..self.axis]);
        let inner = numel(&shape[self.axis + 1..]);
        let total = shape[self.axis] * inner;
        let mut offset = 0;
        inputs
            .iter()
            .map(|t| {
                let width = t.shape()[self.axis] * inner;
                let grad = t.requires_grad().then(|| {
                    let mut gx = Vec::with_capacity(outer * width);
                    for o in 0..outer {
                        gx.extend_from_slice(&g[o * total + offset..o * total + offset + width]);
                    }
                    gx
                });
                offset += width;
                grad
            })
            .collect()
    }
    fn name(&self) -> &'static str {
        "concat"
    }
}

struct FlipBackward;

impl Backward for FlipBackward {
    fn backward(&self, _inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        vec![Some(flip_last(g, out.dim(-1)))]
    }
    fn name(&self) -> &'static str {
        "flip"
    }
}

fn flip_last(x: &[f32], n: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(n.max(1)) {
        out.extend(row.iter().rev());
    }
    out
}

struct BroadcastBackward;

impl Backward for BroadcastBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        vec![Some(sum_to_shape(g, out.shape(), inputs[0].shape()))]
    }
    fn name(&self) -> &'static str {
        "broadcast_to"
    }
}

impl Tensor {
    /// The same values under a new shape (shares storage). One dimension may be `usize::MAX`
    /// to be inferred.
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        let mut shape = shape.to_vec();
        if let Some(pos) = shape.iter().position(|&d| d == usize::MAX) {
            let known: usize = shape.iter().filter(|&&d| d != usize::MAX).product();
            shape[pos] = self.numel() / known.max(1);
        }
        assert_eq!(numel(&shape), self.numel(), "cannot reshape {:?} into {:?}", self.shape(), shape);
        let made_by = (grad_enabled() && self.requires_grad())
            .then(|| Recorded { inputs: vec![self.clone()], rule: Box::new(ReshapeBackward) });
        self.share_storage(&shape, made_by)
    }

    /// Inserts a dimension of size 1 at `axis`.
    pub fn unsqueeze(&self, axis: usize) -> Tensor {
        let mut s = self.shape().to_vec();
        s.insert(axis, 1);
        self.reshape(&s)
    }

    /// Removes dimension `axis`, which must have size 1.
    pub fn squeeze(&self, axis: isize) -> Tensor {
        let a = axis_index(axis, self.rank());
        assert_eq!(self.shape()[a], 1, "squeeze of axis {a} with size {}", self.shape()[a]);
        let mut s = self.shape().to_vec();
        s.remove(a);
        self.reshape(&s)
    }

    /// Reorders axes: output axis `i` is input axis `perm[i]`. Copies.
    pub fn permute(&self, perm: &[usize]) -> Tensor {
        assert_eq!(perm.len(), self.rank(), "permute needs one entry per axis");
        let mut seen = vec![false; perm.len()];
        for &p in perm {
            assert!(p < perm.len() && !seen[p], "permute {perm:?} is not a permutation");
            seen[p] = true;
        }
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        let data = permute_data(&self.data(), self.shape(), perm);
        Tensor::from_op(data, &out_shape, &[self], PermuteBackward { perm: perm.to_vec() })
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Tensor {
        let (a, b) = (axis_index(a, self.rank()), axis_index(b, self.rank()));
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// `len` entries along `axis` starting at `start`. Copies.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let shape = self.shape();
        assert!(start + len <= shape[axis], "narrow {start}..{} past axis {axis} of size {}", start + len, shape[axis]);
        let outer = numel(&shape[..axis]);
        let inner = numel(&shape[axis + 1..]);
        let n = shape[axis];
        let xd = self.data();
        let mut out = Vec::with_capacity(outer * len * inner);
        for o in 0..outer {
            out.extend_from_slice(&xd[(o * n + start) * inner..(o * n + start + len) * inner]);
        }
        drop(xd);
        let mut out_shape = shape.to_vec();
        out_shape[axis] = len;
        Tensor::from_op(out, &out_shape, &[self], NarrowBackward { axis, start })
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    pub fn concat(tensors: &[Tensor], axis: isize) -> Tensor {
        assert!(!tensors.is_empty(), "concat of no tensors");
        let first = tensors[0].shape();
        let axis = axis_index(axis, first.len());
        for t in tensors {
            assert!(
                t.rank() == first.len() && t.shape().iter().zip(first).enumerate().all(|(d, (a, b))| d == axis || a == b),
                "concat along {axis}: shape {:?} does not match {:?}",
                t.shape(),
                first
            );
        }
        let outer = numel(&first[..axis]);
        let inner = numel(&first[axis + 1..]);
        let total: usize = tensors.iter().map(|t| t.shape()[axis]).sum();
        let mut out = Vec::with_capacity(outer * total * inner);
        let guards: Vec<_> = tensors.iter().map(|t| t.data()).collect();
        for o in 0..outer {
            for (t, d) in tensors.iter().zip(&guards) {
                let w = t.shape()[axis] * inner;
                out.extend_from_slice(&d[o * w..(o + 1) * w]);
            }
        }
        drop(guards);
        let mut out_shape = first.to_vec();
        out_shape[axis] = total;
        let refs: Vec<&Tensor> = tensors.iter().collect();
        Tensor::from_op(out, &out_shape, &refs, ConcatBackward { axis })
    }

    /// Stacks equal-shaped tensors along a new axis.
    pub fn stack(tensors: &[Tensor], axis: usize) -> Tensor {
        let parts: Vec<Tensor> = tensors.iter().map(|t| t.unsqueeze(axis)).collect();
        Tensor::concat(&parts, axis as isize)
    }

    /// Reverses the order along the last axis.
    pub fn flip_last(&self) -> Tensor {
        let data = flip_last(&self.data(), self.dim(-1));
        Tensor::from_op(data, self.shape(), &[self], FlipBackward)
    }

    /// The diagonal matrix `[n, n]` of a vector `[n]` (`torch.diag` of a 1-d tensor): the identity
    /// scaled column by column, so the gradient is the diagonal of the output's.
    pub fn diag(&self) -> Tensor {
        assert_eq!(self.rank(), 1, "diag of a vector, got {:?}", self.shape());
        let n = self.dim(0);
        Tensor::eye(n).mul(&self.reshape(&[1, n]))
    }

    /// Expands to `shape` by broadcasting (copies).
    pub fn broadcast_to(&self, shape: &[usize]) -> Tensor {
        let data = broadcast_to_vec(&self.data(), self.shape(), shape);
        Tensor::from_op(data, shape, &[self], BroadcastBackward)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn permute_values() {
        let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[2, 3]);
        assert_eq!(x.transpose(0, 1).to_vec(), vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let y = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]);
        let p = y.permute(&[2, 0, 1]);
        assert_eq!(p.shape(), &[4, 2, 3]);
        assert_eq!(p.to_vec()[..6], [0.0, 4.0, 8.0, 12.0, 16.0, 20.0]);
    }

    #[test]
    fn grad_layout_ops() {
        let mut rng = Rng::seed(31);
        let x = vec![Tensor::randn(&[2, 3, 4], &mut rng)];
        check_gradients("reshape", |x| x[0].reshape(&[6, 4]).mul(&x[0].reshape(&[6, 4])), &x);
        check_gradients("permute", |x| x[0].permute(&[1, 2, 0]), &x);
        check_gradients("transpose", |x| x[0].transpose(-1, 0), &x);
        check_gradients("narrow", |x| x[0].narrow(1, 1, 2), &x);
        check_gradients("narrow∘permute", |x| x[0].permute(&[2, 1, 0]).narrow(0, 1, 2), &x);
        check_gradients("flip_last", |x| x[0].flip_last(), &x);
        check_gradients("broadcast_to", |x| x[0].narrow(0, 0, 1).broadcast_to(&[5, 3, 4]), &x);
        check_gradients("diag", |x| x[0].reshape(&[24]).narrow(0, 3, 4).diag(), &x);
    }

    #[test]
    fn eye_and_diag() {
        assert_eq!(Tensor::eye(3).to_vec(), [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::from_vec(vec![2.0, -3.0], &[2]).diag().to_vec(), [2.0, 0.0, 0.0, -3.0]);
    }

    #[test]
    fn grad_concat_stack() {
        let mut rng = Rng::seed(32);
        let xs = vec![Tensor::randn(&[2, 3], &mut rng), Tensor::randn(&[2, 2], &mut rng), Tensor::randn(&[2, 3], &mut rng)];
        check_gradients("concat", |x| Tensor::concat(&[x[0].clone(), x[1].clone(), x[2].clone()], 1), &xs);
        check_gradients("stack", |x| Tensor::stack(&[x[0].clone(), x[2].clone()], 1), &xs);
    }
}

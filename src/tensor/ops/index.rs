//! Index-driven ops: index_select (embedding lookups, gathering series), top-k, and their
//! scatter-add backward passes.

use crate::tensor::shape::{axis_index, numel};
use crate::tensor::{Backward, Tensor};

struct IndexSelectBackward {
    axis: usize,
    indices: Vec<usize>,
}

impl Backward for IndexSelectBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let shape = inputs[0].shape();
        let outer = numel(&shape[..self.axis]);
        let inner = numel(&shape[self.axis + 1..]);
        let (n_in, n_out) = (shape[self.axis], self.indices.len());
        let mut gx = vec![0.0f32; inputs[0].numel()];
        for o in 0..outer {
            for (j, &i) in self.indices.iter().enumerate() {
                let src = &g[(o * n_out + j) * inner..(o * n_out + j + 1) * inner];
                let dst = &mut gx[(o * n_in + i) * inner..(o * n_in + i + 1) * inner];
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "index_select"
    }
}

impl Tensor {
    /// The entries `indices` along `axis`, in that order (repeats allowed).
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let shape = self.shape();
        let n = shape[axis];
        assert!(indices.iter().all(|&i| i < n), "index_select: an index is out of range for axis {axis} of size {n}");
        let outer = numel(&shape[..axis]);
        let inner = numel(&shape[axis + 1..]);
        let xd = self.data();
        let mut out = Vec::with_capacity(outer * indices.len() * inner);
        for o in 0..outer {
            for &i in indices {
                out.extend_from_slice(&xd[(o * n + i) * inner..(o * n + i + 1) * inner]);
            }
        }
        drop(xd);
        let mut out_shape = shape.to_vec();
        out_shape[axis] = indices.len();
        Tensor::from_op(out, &out_shape, &[self], IndexSelectBackward { axis, indices: indices.to_vec() })
    }

    /// Rows of an embedding table `self` `[vocab, dim]` for `ids`, shaped `[ids.len(), dim]`.
    pub fn embedding(&self, ids: &[usize]) -> Tensor {
        self.index_select(0, ids)
    }

    /// The `k` largest entries along the last axis, largest first, and their positions. The
    /// gradient flows to the picked positions; the positions themselves are constants.
    pub fn topk(&self, k: usize) -> (Tensor, Vec<usize>) {
        let n = self.dim(-1);
        assert!(k <= n, "topk: k = {k} exceeds the axis size {n}");
        let xd = self.data();
        let rows = xd.len() / n.max(1);
        let mut picked = Vec::with_capacity(rows * k);
        for row in xd.chunks(n) {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            picked.extend_from_slice(&order[..k]);
        }
        drop(xd);
        // Per row, select its picks: flatten rows and gather by global position.
        let flat = self.reshape(&[rows * n]);
        let global: Vec<usize> = picked.iter().enumerate().map(|(j, &i)| (j / k.max(1)) * n + i).collect();
        let mut shape = self.shape().to_vec();
        *shape.last_mut().unwrap() = k;
        (flat.index_select(0, &global).reshape(&shape), picked)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_index_select_and_topk() {
        let mut rng = Rng::seed(91);
        let x = vec![Tensor::randn(&[3, 5, 2], &mut rng)];
        check_gradients("index_select", |x| x[0].index_select(1, &[4, 0, 0, 2]), &x);
        check_gradients("embedding", |x| x[0].reshape(&[15, 2]).embedding(&[3, 3, 14]), &x);
        check_gradients("topk", |x| x[0].topk(2).0, &x);
    }

    #[test]
    fn topk_values_and_positions() {
        let x = Tensor::from_vec(vec![1.0, 9.0, 3.0, 7.0, 0.0, -1.0, 5.0, 2.0], &[2, 4]);
        let (v, i) = x.topk(2);
        assert_eq!(v.to_vec(), vec![9.0, 7.0, 5.0, 2.0]);
        assert_eq!(i, vec![1, 3, 2, 3]);
    }
}

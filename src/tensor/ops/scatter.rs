//! Row gather and scatter with a row list per group: `x[g, rows[g], :]` read out, or written into
//! a copy (PyTorch's advanced indexing `x[arange(B)[:, None, None], arange(H)[None, :, None],
//! index, :]`, read and assigned). Informer's ProbSparse attention picks each (batch, head)'s own
//! top queries this way; `index_select` shares one index list across the batch.

use crate::tensor::shape::numel;
use crate::tensor::{Backward, Tensor};

/// `[..., L, E]` viewed as `groups` blocks of `L` rows of `E`: how many groups, L and E.
fn groups_of(shape: &[usize]) -> (usize, usize, usize) {
    assert!(shape.len() >= 2, "row ops need at least two axes, got {shape:?}");
    let r = shape.len();
    (numel(&shape[..r - 2]), shape[r - 2], shape[r - 1])
}

/// Flat row positions of `rows` (`groups × k` entries, `k` per group) in a `[groups, l]` layout.
fn global_rows(rows: &[usize], groups: usize, l: usize) -> (usize, Vec<usize>) {
    assert!(groups > 0 && rows.len() % groups == 0, "{} row indices do not split into {groups} groups", rows.len());
    let k = rows.len() / groups;
    assert!(rows.iter().all(|&i| i < l), "a row index is out of range for {l} rows");
    (k, rows.iter().enumerate().map(|(j, &i)| (j / k.max(1)) * l + i).collect())
}

struct ScatterRowsBackward {
    /// Flat destination row of each source row.
    rows: Vec<usize>,
    width: usize,
}

impl Backward for ScatterRowsBackward {
    fn backward(&self, _inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let e = self.width;
        // The base's overwritten rows never reach the output; the source rows get theirs.
        let mut g_base = g.to_vec();
        let mut g_src = Vec::with_capacity(self.rows.len() * e);
        for &r in &self.rows {
            g_src.extend_from_slice(&g[r * e..(r + 1) * e]);
            g_base[r * e..(r + 1) * e].fill(0.0);
        }
        vec![Some(g_base), Some(g_src)]
    }
    fn name(&self) -> &'static str {
        "scatter_rows"
    }
}

impl Tensor {
    /// `self` `[..., L, E]`, `rows` `k` indices per leading group (group-major) → `[..., k, E]`:
    /// each group's own rows, in the order given.
    pub fn gather_rows(&self, rows: &[usize]) -> Tensor {
        let (groups, l, e) = groups_of(self.shape());
        let (k, global) = global_rows(rows, groups, l);
        let mut shape = self.shape().to_vec();
        let r = shape.len();
        shape[r - 2] = k;
        self.reshape(&[groups * l, e]).index_select(0, &global).reshape(&shape)
    }

    /// A copy of `self` `[..., L, E]` with each group's rows `rows` replaced by `src` `[..., k, E]`
    /// (k distinct indices per group, group-major). Gradients: to `self` everywhere but the
    /// replaced rows, to `src` from the rows it was written to.
    pub fn scatter_rows(&self, rows: &[usize], src: &Tensor) -> Tensor {
        let (groups, l, e) = groups_of(self.shape());
        let (k, global) = global_rows(rows, groups, l);
        let (src_groups, src_k, src_e) = groups_of(src.shape());
        assert!(src_groups == groups && src_k == k && src_e == e, "scatter_rows: source {:?} does not match {k} rows per group of {:?}", src.shape(), self.shape());
        let mut out = self.to_vec();
        let sd = src.data();
        for (j, &r) in global.iter().enumerate() {
            out[r * e..(r + 1) * e].copy_from_slice(&sd[j * e..(j + 1) * e]);
        }
        drop(sd);
        Tensor::from_op(out, self.shape(), &[self, src], ScatterRowsBackward { rows: global, width: e })
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn rows_per_group() {
        // Two groups of three rows of two.
        let x = Tensor::from_vec((0..12).map(|v| v as f32).collect(), &[2, 3, 2]);
        assert_eq!(x.gather_rows(&[2, 0, 1, 1]).to_vec(), vec![4.0, 5.0, 0.0, 1.0, 8.0, 9.0, 8.0, 9.0]);
        let src = Tensor::from_vec(vec![-1.0, -2.0, -3.0, -4.0], &[2, 1, 2]);
        assert_eq!(x.scatter_rows(&[1, 2], &src).to_vec(), vec![0.0, 1.0, -1.0, -2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, -3.0, -4.0]);
    }

    #[test]
    fn grad_gather_and_scatter_rows() {
        let mut rng = Rng::seed(5);
        let x = Tensor::randn(&[2, 2, 4, 3], &mut rng);
        // Per (batch, head) group: its own rows, repeats allowed when gathering.
        let gather = [3, 0, 1, 1, 2, 2, 0, 3];
        check_gradients("gather_rows", |t| t[0].gather_rows(&gather), &[x.clone()]);
        let scatter = [3, 0, 1, 2, 2, 3, 0, 1];
        let src = Tensor::randn(&[2, 2, 2, 3], &mut rng);
        check_gradients("scatter_rows", |t| t[0].scatter_rows(&scatter, &t[1]), &[x.clone(), src.clone()]);
        // Scattered after a gather of the same tensor, as ProbSparse attention writes its rows.
        check_gradients("gather then scatter_rows", |t| t[0].scatter_rows(&scatter, &t[0].gather_rows(&scatter).mul_scalar(2.0)), &[x]);
    }
}

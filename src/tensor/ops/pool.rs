//! 1-d max and average pooling over the last axis with `kernel == stride` and `ceil_mode=True`
//! (NHITS's MaxPool1d/AvgPool1d): the last window may be partial; it pools what it covers.

use crate::tensor::{Backward, Tensor};

struct PoolBackward {
    kernel: usize,
    /// For max pooling: the input position (within the row) each output took its value from.
    argmax: Option<Vec<u32>>,
}

impl Backward for PoolBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let l = inputs[0].dim(-1);
        let p = out.dim(-1);
        let mut gx = vec![0.0f32; inputs[0].numel()];
        for (r, (gx_row, g_row)) in gx.chunks_mut(l).zip(g.chunks(p)).enumerate() {
            for (j, gv) in g_row.iter().enumerate() {
                match &self.argmax {
                    Some(a) => gx_row[a[r * p + j] as usize] += gv,
                    None => {
                        let (lo, hi) = (j * self.kernel, ((j + 1) * self.kernel).min(l));
                        let share = gv / (hi - lo) as f32;
                        gx_row[lo..hi].iter_mut().for_each(|x| *x += share);
                    }
                }
            }
        }
        vec![Some(gx)]
    }
    fn name(&self) -> &'static str {
        "pool1d"
    }
}

fn pool(x: &Tensor, kernel: usize, max: bool) -> Tensor {
    assert!(kernel >= 1, "pool kernel must be >= 1");
    let l = x.dim(-1);
    let p = l.div_ceil(kernel);
    let rows = x.numel() / l.max(1);
    let xd = x.data();
    let mut out = vec![0.0f32; rows * p];
    let mut argmax = if max { vec![0u32; rows * p] } else { Vec::new() };
    for r in 0..rows {
        let row = &xd[r * l..(r + 1) * l];
        for j in 0..p {
            let (lo, hi) = (j * kernel, ((j + 1) * kernel).min(l));
            let o = r * p + j;
            if max {
                let mut best = lo;
                for i in lo + 1..hi {
                    if row[i] > row[best] {
                        best = i;
                    }
                }
                out[o] = row[best];
                argmax[o] = best as u32;
            } else {
                out[o] = row[lo..hi].iter().sum::<f32>() / (hi - lo) as f32;
            }
        }
    }
    drop(xd);
    let mut shape = x.shape().to_vec();
    *shape.last_mut().unwrap() = p;
    Tensor::from_op(out, &shape, &[x], PoolBackward { kernel, argmax: max.then_some(argmax) })
}

impl Tensor {
    /// Max over non-overlapping windows of `kernel` along the last axis (ceil mode).
    pub fn max_pool1d(&self, kernel: usize) -> Tensor {
        pool(self, kernel, true)
    }
    /// Mean over non-overlapping windows of `kernel` along the last axis (ceil mode).
    pub fn avg_pool1d(&self, kernel: usize) -> Tensor {
        pool(self, kernel, false)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn partial_last_window() {
        let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 3.0, 9.0], &[1, 5]);
        assert_eq!(x.max_pool1d(2).to_vec(), vec![5.0, 3.0, 9.0]);
        assert_eq!(x.avg_pool1d(2).to_vec(), vec![3.0, 2.5, 9.0]);
        assert_eq!(x.max_pool1d(1).to_vec(), x.to_vec());
    }

    #[test]
    fn grad_pooling() {
        let mut rng = Rng::seed(61);
        let x = vec![Tensor::randn(&[2, 3, 7], &mut rng)];
        check_gradients("max_pool1d", |x| x[0].max_pool1d(3), &x);
        check_gradients("avg_pool1d", |x| x[0].avg_pool1d(2), &x);
        check_gradients("max_pool1d∘transpose", |x| x[0].transpose(1, 2).max_pool1d(2), &x);
    }
}

//! 1-d max and average pooling over the last axis (PyTorch's MaxPool1d/AvgPool1d without
//! padding): windows of `kernel` every `stride`; with `ceil_mode` a last partial window is kept
//! and pools what it covers (NHITS pools with kernel = stride, ceil mode).

use crate::tensor::{Backward, Tensor};

struct PoolBackward {
    kernel: usize,
    stride: usize,
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
                        let (lo, hi) = (j * self.stride, (j * self.stride + self.kernel).min(l));
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

/// Output length of PyTorch's pooling without padding.
fn pooled_len(l: usize, kernel: usize, stride: usize, ceil_mode: bool) -> usize {
    if l <= kernel {
        return usize::from(ceil_mode || l == kernel);
    }
    let span = l - kernel;
    let mut p = if ceil_mode { span.div_ceil(stride) + 1 } else { span / stride + 1 };
    // A last window must start inside the input.
    if ceil_mode && (p - 1) * stride >= l {
        p -= 1;
    }
    p
}

fn pool(x: &Tensor, kernel: usize, stride: usize, ceil_mode: bool, max: bool) -> Tensor {
    assert!(kernel >= 1 && stride >= 1, "pool kernel and stride must be >= 1");
    let l = x.dim(-1);
    let p = pooled_len(l, kernel, stride, ceil_mode);
    assert!(p > 0, "pool: kernel {kernel} is longer than the input ({l})");
    let rows = x.numel() / l.max(1);
    let xd = x.data();
    let mut out = vec![0.0f32; rows * p];
    let mut argmax = if max { vec![0u32; rows * p] } else { Vec::new() };
    for r in 0..rows {
        let row = &xd[r * l..(r + 1) * l];
        for j in 0..p {
            let (lo, hi) = (j * stride, (j * stride + kernel).min(l));
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
    Tensor::from_op(out, &shape, &[x], PoolBackward { kernel, stride, argmax: max.then_some(argmax) })
}

impl Tensor {
    /// Max over non-overlapping windows of `kernel` along the last axis (ceil mode).
    pub fn max_pool1d(&self, kernel: usize) -> Tensor {
        pool(self, kernel, kernel, true, true)
    }
    /// Mean over non-overlapping windows of `kernel` along the last axis (ceil mode).
    pub fn avg_pool1d(&self, kernel: usize) -> Tensor {
        pool(self, kernel, kernel, true, false)
    }
    /// Max pooling with any stride.
    pub fn max_pool1d_strided(&self, kernel: usize, stride: usize, ceil_mode: bool) -> Tensor {
        pool(self, kernel, stride, ceil_mode, true)
    }
    /// Average pooling with any stride (a moving average with stride 1).
    pub fn avg_pool1d_strided(&self, kernel: usize, stride: usize, ceil_mode: bool) -> Tensor {
        pool(self, kernel, stride, ceil_mode, false)
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
        check_gradients("avg_pool1d stride 1", |x| x[0].avg_pool1d_strided(3, 1, false), &x);
        check_gradients("max_pool1d stride 2 ceil", |x| x[0].max_pool1d_strided(3, 2, true), &x);
    }

    #[test]
    fn strided_lengths_follow_pytorch() {
        let x = Tensor::from_vec((0..7).map(|v| v as f32).collect(), &[1, 7]);
        // nn.AvgPool1d(3, stride=1)(x) → 5 windows; MaxPool1d(3, 2, ceil_mode=True) → 3.
        assert_eq!(x.avg_pool1d_strided(3, 1, false).to_vec(), vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(x.max_pool1d_strided(3, 2, true).to_vec(), vec![2.0, 4.0, 6.0]);
        assert_eq!(x.max_pool1d_strided(3, 2, false).to_vec(), vec![2.0, 4.0, 6.0]);
        assert_eq!(x.max_pool1d_strided(2, 2, false).shape(), &[1, 3]);
    }
}

//! Layer normalisation over the last axis and batch normalisation over every axis but one:
//! `y = (x - mean) / sqrt(var + eps) · weight + bias`, biased variance as PyTorch. Each is one
//! fused op over blocks of rows, on the thread pool when large. Batch norm used to be composed of
//! eleven primitive ops (permute, two means, square, sqrt, four broadcasting ops), each a pass
//! over the data with a backward of its own, in every block of TSMixer and PatchTST.

use rayon::prelude::*;

use super::binary::PARALLEL_ELEMS;
use crate::kernels::inline;
use crate::tensor::{Backward, Tensor};

struct LayerNormBackward {
    /// Normalised input x̂ and 1/σ per row, kept from the forward pass.
    xhat: Vec<f32>,
    rstd: Vec<f32>,
}

impl Backward for LayerNormBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let n = inputs[0].dim(-1);
        let rows = g.len() / n.max(1);
        let weight = inputs.get(1).map(|w| w.to_vec());
        let dxhat = |r: usize, i: usize| match &weight {
            Some(w) => g[r * n + i] * w[i],
            None => g[r * n + i],
        };
        let xhat = &self.xhat;
        let mut gx = vec![0.0f32; g.len()];
        for_row_blocks(rows, n, &mut gx, |r, gx| {
            // dx̂ = g·w; dx = rstd/n · (n·dx̂ - Σdx̂ - x̂·Σ(dx̂·x̂))
            let xh = &xhat[r * n..(r + 1) * n];
            let (mut sum, mut dot) = (0.0f32, 0.0f32);
            for (i, x) in xh.iter().enumerate() {
                let d = dxhat(r, i);
                sum += d;
                dot += d * x;
            }
            let k = self.rstd[r] / n as f32;
            for (i, (gx, x)) in gx.iter_mut().zip(xh).enumerate() {
                *gx = k * (n as f32 * dxhat(r, i) - sum - x * dot);
            }
        });
        let mut grads = vec![Some(gx)];
        if inputs.len() > 1 {
            grads.push(Some(column_sums(rows, n, |r, acc| acc.iter_mut().enumerate().for_each(|(i, a)| *a += g[r * n + i] * xhat[r * n + i]))));
        }
        if inputs.len() > 2 {
            grads.push(Some(column_sums(rows, n, |r, acc| acc.iter_mut().zip(&g[r * n..(r + 1) * n]).for_each(|(a, g)| *a += g))));
        }
        grads
    }
    fn name(&self) -> &'static str {
        "layer_norm"
    }
}

/// Rows per block of the normalisation loops. Per-channel sums are block partial sums added in
/// block order, so they do not depend on how many threads took the blocks.
const NORM_ROWS: usize = 64;

/// Per channel, the sum over `rows` of what `add_row(r, acc)` adds into `acc` (`c` values).
fn column_sums(rows: usize, c: usize, add_row: impl Fn(usize, &mut [f32]) + Sync) -> Vec<f32> {
    let block = |b: usize| {
        let mut acc = vec![0.0f32; c];
        for r in b * NORM_ROWS..((b + 1) * NORM_ROWS).min(rows) {
            add_row(r, &mut acc);
        }
        acc
    };
    let blocks = rows.div_ceil(NORM_ROWS);
    let partial: Vec<Vec<f32>> = if rows * c >= PARALLEL_ELEMS && !inline::active() {
        (0..blocks).into_par_iter().map(block).collect()
    } else {
        (0..blocks).map(block).collect()
    };
    let mut total = vec![0.0f32; c];
    for p in &partial {
        total.iter_mut().zip(p).for_each(|(t, p)| *t += p);
    }
    total
}

/// Runs `row(r, out_row)` for every row of the `[rows, c]` buffer `out`, in parallel when large.
fn for_row_blocks(rows: usize, c: usize, out: &mut [f32], row: impl Fn(usize, &mut [f32]) + Sync) {
    if rows == 0 || c == 0 {
        return;
    }
    let run = |(b, o): (usize, &mut [f32])| {
        for (i, o) in o.chunks_mut(c).enumerate() {
            row(b * NORM_ROWS + i, o);
        }
    };
    if rows * c >= PARALLEL_ELEMS && !inline::active() {
        out.par_chunks_mut(NORM_ROWS * c).enumerate().for_each(run);
    } else {
        out.chunks_mut(NORM_ROWS * c).enumerate().for_each(run);
    }
}

struct BatchNormBackward {
    /// Batch mean and sqrt(var + eps) per channel; x̂ is recomputed from the input.
    mean: Vec<f32>,
    sd: Vec<f32>,
}

impl Backward for BatchNormBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (x, w) = (inputs[0].data(), inputs[1].data());
        let (rows, c) = (inputs[0].dim(0), inputs[0].dim(1));
        let (mean, sd) = (&self.mean, &self.sd);
        let n = rows as f32;
        let xhat = |r: usize, j: usize| (x[r * c + j] - mean[j]) / sd[j];
        let gb = column_sums(rows, c, |r, acc| acc.iter_mut().zip(&g[r * c..(r + 1) * c]).for_each(|(a, g)| *a += g));
        let gw = column_sums(rows, c, |r, acc| acc.iter_mut().enumerate().for_each(|(j, a)| *a += g[r * c + j] * xhat(r, j)));
        // dx = w/σ · (g − Σg/n − x̂·Σ(g·x̂)/n)
        let mut gx = vec![0.0f32; g.len()];
        for_row_blocks(rows, c, &mut gx, |r, o| {
            for (j, o) in o.iter_mut().enumerate() {
                *o = w[j] / sd[j] * (g[r * c + j] - gb[j] / n - xhat(r, j) * gw[j] / n);
            }
        });
        vec![Some(gx), Some(gw), Some(gb)]
    }
    fn name(&self) -> &'static str {
        "batch_norm"
    }
}

impl Tensor {
    /// Normalises each row over the last axis; `weight` and `bias` are `[n]` (None = 1 and 0).
    /// With a bias a weight must be given too.
    pub fn layer_norm(&self, weight: Option<&Tensor>, bias: Option<&Tensor>, eps: f32) -> Tensor {
        let n = self.dim(-1);
        assert!(bias.is_none() || weight.is_some(), "layer_norm: a bias needs a weight");
        let xd = self.data();
        let rows = xd.len() / n.max(1);
        let (w, b) = (weight.map(|w| w.to_vec()), bias.map(|b| b.to_vec()));
        // Each row's mean and 1/σ in f64, then x̂ and y = x̂·w + b.
        let stats = |row: &[f32]| {
            let mean = row.iter().map(|v| *v as f64).sum::<f64>() / n as f64;
            let var = row.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n as f64;
            (mean, 1.0 / (var + eps as f64).sqrt())
        };
        let stats: Vec<(f64, f64)> =
            if xd.len() >= PARALLEL_ELEMS && !inline::active() { xd.par_chunks(n.max(1)).map(stats).collect() } else { xd.chunks(n.max(1)).map(stats).collect() };
        let mut xhat = vec![0.0f32; xd.len()];
        for_row_blocks(rows, n, &mut xhat, |r, out| {
            let (mean, s) = stats[r];
            for (o, v) in out.iter_mut().zip(&xd[r * n..(r + 1) * n]) {
                *o = ((*v as f64 - mean) * s) as f32;
            }
        });
        let rstd: Vec<f32> = stats.iter().map(|&(_, s)| s as f32).collect();
        drop(xd);
        let mut y = xhat.clone();
        if w.is_some() || b.is_some() {
            for_row_blocks(rows, n, &mut y, |_, y| {
                if let Some(w) = &w {
                    y.iter_mut().zip(w).for_each(|(y, w)| *y *= w);
                }
                if let Some(b) = &b {
                    y.iter_mut().zip(b).for_each(|(y, b)| *y += b);
                }
            });
        }
        let rule = LayerNormBackward { xhat, rstd };
        match (weight, bias) {
            (Some(w), Some(b)) => Tensor::from_op(y, self.shape(), &[self, w, b], rule),
            (Some(w), None) => Tensor::from_op(y, self.shape(), &[self, w], rule),
            _ => Tensor::from_op(y, self.shape(), &[self], rule),
        }
    }

    /// Batch normalisation with batch statistics over every axis but `channel_axis` (training
    /// mode); returns the output and the per-channel batch mean and biased variance (for running
    /// statistics). One fused op over the `[rows, channels]` layout (the input permuted when
    /// the channels are not last).
    pub fn batch_norm_train(&self, channel_axis: usize, weight: &Tensor, bias: &Tensor, eps: f32) -> (Tensor, Vec<f32>, Vec<f32>) {
        let c = self.shape()[channel_axis];
        assert_eq!(weight.shape(), &[c], "batch norm weight must be [{c}], got {:?}", weight.shape());
        assert_eq!(bias.shape(), &[c], "batch norm bias must be [{c}], got {:?}", bias.shape());
        let mut perm: Vec<usize> = (0..self.rank()).filter(|&a| a != channel_axis).collect();
        perm.push(channel_axis);
        let channels_last = channel_axis + 1 == self.rank();
        let flat = if channels_last { self.reshape(&[usize::MAX, c]) } else { self.permute(&perm).reshape(&[usize::MAX, c]) };
        let rows = flat.dim(0);
        let (mean, var, sd, y) = {
            let x = flat.data();
            let n = rows as f32;
            let mean: Vec<f32> = column_sums(rows, c, |r, acc| acc.iter_mut().zip(&x[r * c..(r + 1) * c]).for_each(|(a, x)| *a += x)).into_iter().map(|s| s / n).collect();
            let var: Vec<f32> = column_sums(rows, c, |r, acc| {
                acc.iter_mut().zip(&x[r * c..(r + 1) * c]).zip(&mean).for_each(|((a, x), m)| *a += (x - m) * (x - m))
            })
            .into_iter()
            .map(|s| s / n)
            .collect();
            let sd: Vec<f32> = var.iter().map(|v| (v + eps).sqrt()).collect();
            let (w, b) = (weight.data(), bias.data());
            let mut y = vec![0.0f32; x.len()];
            for_row_blocks(rows, c, &mut y, |r, y| {
                for (j, y) in y.iter_mut().enumerate() {
                    *y = (x[r * c + j] - mean[j]) / sd[j] * w[j] + b[j];
                }
            });
            (mean, var, sd, y)
        };
        let y = Tensor::from_op(y, &[rows, c], &[&flat, weight, bias], BatchNormBackward { mean: mean.clone(), sd });
        let permuted_shape: Vec<usize> = perm.iter().map(|&a| self.shape()[a]).collect();
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        let y = if channels_last { y.reshape(self.shape()) } else { y.reshape(&permuted_shape).permute(&inverse) };
        (y, mean, var)
    }

    /// Batch normalisation with given statistics (evaluation mode).
    pub fn batch_norm_eval(&self, channel_axis: usize, mean: &[f32], var: &[f32], weight: &Tensor, bias: &Tensor, eps: f32) -> Tensor {
        let c = self.shape()[channel_axis];
        let mut shape = vec![1; self.rank()];
        shape[channel_axis] = c;
        let scale: Vec<f32> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let m = Tensor::from_vec(mean.to_vec(), &shape);
        let s = Tensor::from_vec(scale, &shape);
        self.sub(&m).mul(&s).mul(&weight.reshape(&shape)).add(&bias.reshape(&shape))
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_layer_norm() {
        let mut rng = Rng::seed(81);
        let xs = vec![Tensor::randn(&[3, 2, 6], &mut rng), Tensor::randn(&[6], &mut rng), Tensor::randn(&[6], &mut rng)];
        check_gradients("layer_norm", |x| x[0].layer_norm(Some(&x[1]), Some(&x[2]), 1e-5), &xs);
        check_gradients("layer_norm no affine", |x| x[0].layer_norm(None, None, 1e-5), &xs[..1]);
        check_gradients("layer_norm∘transpose", |x| x[0].transpose(1, 2).transpose(0, 2).layer_norm(None, None, 1e-5), &xs[..1]);
    }

    #[test]
    fn empty_inputs_normalise_to_empty_outputs() {
        assert_eq!(Tensor::zeros(&[3, 0]).layer_norm(None, None, 1e-5).shape(), &[3, 0]);
        assert_eq!(Tensor::zeros(&[0, 4]).layer_norm(None, None, 1e-5).shape(), &[0, 4]);
        let (w, b) = (Tensor::ones(&[4]), Tensor::zeros(&[4]));
        assert_eq!(Tensor::zeros(&[0, 4]).batch_norm_train(1, &w, &b, 1e-5).0.shape(), &[0, 4]);
        let (w, b) = (Tensor::ones(&[0]), Tensor::zeros(&[0]));
        assert_eq!(Tensor::zeros(&[5, 0]).batch_norm_train(1, &w, &b, 1e-5).0.shape(), &[5, 0]);
    }

    #[test]
    fn layer_norm_rows_have_zero_mean_unit_variance() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 10.0, 10.0, 10.0, 10.0], &[2, 4]);
        let y = x.layer_norm(None, None, 1e-5).to_vec();
        let mean: f32 = y[..4].iter().sum::<f32>() / 4.0;
        let var: f32 = y[..4].iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-3);
        assert!(y[4..].iter().all(|v| v.abs() < 1e-3), "a constant row maps to 0");
    }

    #[test]
    fn grad_batch_norm() {
        let mut rng = Rng::seed(82);
        let xs = vec![Tensor::randn(&[4, 3, 5], &mut rng), Tensor::randn(&[3], &mut rng), Tensor::randn(&[3], &mut rng)];
        check_gradients("batch_norm_train", |x| x[0].batch_norm_train(1, &x[1], &x[2], 1e-5).0, &xs);
        let (_, mean, var) = xs[0].batch_norm_train(1, &xs[1], &xs[2], 1e-5);
        check_gradients("batch_norm_eval", |x| x[0].batch_norm_eval(1, &mean, &var, &x[1], &x[2], 1e-5), &xs);
        // Channels last (no permutes) agrees with channels at axis 1 of the transposed input.
        let last = xs[0].transpose(1, 2).batch_norm_train(2, &xs[1], &xs[2], 1e-5).0.transpose(1, 2).to_vec();
        let first = xs[0].batch_norm_train(1, &xs[1], &xs[2], 1e-5).0.to_vec();
        assert!(last.iter().zip(&first).all(|(a, b)| (a - b).abs() < 1e-5));
        check_gradients("batch_norm_train channels last", |x| x[0].batch_norm_train(2, &x[1], &x[2], 1e-5).0, &[xs[0].transpose(1, 2), xs[1].clone(), xs[2].clone()]);
    }

    #[test]
    fn layer_norm_gives_the_same_bits_on_any_thread_count() {
        let mut rng = Rng::seed(84);
        let x = Tensor::randn(&[700, 64], &mut rng);
        let (w, b) = (Tensor::randn(&[64], &mut rng), Tensor::randn(&[64], &mut rng));
        let run = || {
            let xs = [&x, &w, &b].map(|t| Tensor::param(t.to_vec(), t.shape()));
            let y = xs[0].layer_norm(Some(&xs[1]), Some(&xs[2]), 1e-5);
            let grads = y.mul(&y).sum_all().backward();
            (y.to_vec(), xs.iter().map(|t| grads.get(t).unwrap().clone()).collect::<Vec<_>>())
        };
        assert_eq!(run(), crate::kernels::inline::run(run));
    }

    /// The fused op against the definition in f64, on an input large enough for the thread pool
    /// (whose blocks must give the bits a single thread gives), forward and backward.
    #[test]
    fn batch_norm_matches_its_definition_on_any_thread_count() {
        let mut rng = Rng::seed(83);
        let (rows, c) = (700, 64);
        let x = Tensor::randn(&[rows, c], &mut rng).mul_scalar(3.0).add_scalar(1.5);
        let (w, b) = (Tensor::randn(&[c], &mut rng), Tensor::randn(&[c], &mut rng));
        let run = || {
            let xs = [&x, &w, &b].map(|t| Tensor::param(t.to_vec(), t.shape()));
            let (y, mean, var) = xs[0].batch_norm_train(1, &xs[1], &xs[2], 1e-3);
            let grads = y.mul(&y).sum_all().backward();
            (y.to_vec(), mean, var, xs.iter().map(|t| grads.get(t).unwrap().clone()).collect::<Vec<_>>())
        };
        let pooled = run();
        assert_eq!(pooled, crate::kernels::inline::run(run), "one thread and the pool give the same bits");
        let (xd, wd, bd) = (x.to_vec(), w.to_vec(), b.to_vec());
        for j in [0, 17, 63] {
            let col: Vec<f64> = (0..rows).map(|r| xd[r * c + j] as f64).collect();
            let mean = col.iter().sum::<f64>() / rows as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64;
            assert!((pooled.1[j] as f64 - mean).abs() < 1e-5 && (pooled.2[j] as f64 - var).abs() < 1e-4 * var);
            for r in [0, 350, 699] {
                let y = (col[r] - mean) / (var + 1e-3).sqrt() * wd[j] as f64 + bd[j] as f64;
                assert!((pooled.0[r * c + j] as f64 - y).abs() < 1e-4, "y[{r}, {j}]");
            }
        }
    }
}

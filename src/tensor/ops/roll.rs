//! Weighted sums of circular shifts along one axis, each batch item with its own shifts and
//! weights: Autoformer's time-delay aggregation, `Σ_i w[b, i] · roll(V[b], −d[b, i])` (PyTorch's
//! `torch.roll` in training, a `gather` on `V.repeat(…, 2)` in inference: the same values).

use rayon::prelude::*;

use crate::tensor::shape::{axis_index, numel};
use crate::tensor::{Backward, Tensor};

/// `[B, …, n, …]` around `axis` as (B, rows per item, n, inner).
fn layout(shape: &[usize], axis: usize) -> (usize, usize, usize, usize) {
    assert!(axis > 0, "weighted_rolls: axis 0 holds the batch items");
    let b = shape[0];
    (b, numel(&shape[1..axis]), shape[axis], numel(&shape[axis + 1..]))
}

struct WeightedRollsBackward {
    axis: usize,
    delays: Vec<usize>,
}

impl Backward for WeightedRollsBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let (b, rows, n, inner) = layout(x.shape(), self.axis);
        let k = w.dim(1);
        let per_item = rows * n * inner;
        let (xd, wd) = (x.data(), w.data());
        // out[t] = Σ_i w_i x[(t + d_i) mod n]: x[s] receives w_i g[(s − d_i) mod n], and w_i the
        // dot product of g with the shifted x.
        let gx = x.requires_grad().then(|| {
            let mut gx = vec![0.0f32; x.numel()];
            gx.par_chunks_mut(per_item.max(1)).enumerate().for_each(|(bi, gx)| {
                let gb = &g[bi * per_item..(bi + 1) * per_item];
                for (&d, &wi) in self.delays[bi * k..(bi + 1) * k].iter().zip(&wd[bi * k..(bi + 1) * k]) {
                    for r in 0..rows {
                        for t in 0..n {
                            let (src, dst) = ((r * n + t) * inner, (r * n + (t + d) % n) * inner);
                            gx[dst..dst + inner].iter_mut().zip(&gb[src..src + inner]).for_each(|(a, g)| *a += wi * g);
                        }
                    }
                }
            });
            gx
        });
        let gw = w.requires_grad().then(|| {
            let mut gw = vec![0.0f32; b * k];
            gw.par_chunks_mut(k.max(1)).enumerate().for_each(|(bi, gw)| {
                let (gb, xb) = (&g[bi * per_item..(bi + 1) * per_item], &xd[bi * per_item..(bi + 1) * per_item]);
                for (gwi, &d) in gw.iter_mut().zip(&self.delays[bi * k..(bi + 1) * k]) {
                    let mut s = 0.0f32;
                    for r in 0..rows {
                        for t in 0..n {
                            let (o, i) = ((r * n + t) * inner, (r * n + (t + d) % n) * inner);
                            s += gb[o..o + inner].iter().zip(&xb[i..i + inner]).map(|(g, x)| g * x).sum::<f32>();
                        }
                    }
                    *gwi = s;
                }
            });
            gw
        });
        vec![gx, gw]
    }
    fn name(&self) -> &'static str {
        "weighted_rolls"
    }
}

impl Tensor {
    /// `self` `[B, …, n, …]` with `n` on `axis` (not 0); `delays` `B × k` shifts, item-major, each
    /// below `n`; `weights` `[B, k]` → `out[b, …, t, …] = Σ_i weights[b, i] · self[b, …, (t +
    /// delays[b·k + i]) mod n, …]`, i.e. the rolls `torch.roll(self[b], −d, axis)` weighted and
    /// summed. Gradients to `self` and `weights`; the delays are constants.
    ///
    /// ```
    /// use neuro_divergent::tensor::Tensor;
    /// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3]);
    /// // 1·x rolled by 0 + 10·x rolled left by 1.
    /// let w = Tensor::from_vec(vec![1.0, 10.0], &[1, 2]);
    /// assert_eq!(x.weighted_rolls(1, &[0, 1], &w).to_vec(), vec![21.0, 32.0, 13.0]);
    /// ```
    pub fn weighted_rolls(&self, axis: isize, delays: &[usize], weights: &Tensor) -> Tensor {
        let axis = axis_index(axis, self.rank());
        let (b, rows, n, inner) = layout(self.shape(), axis);
        assert!(weights.rank() == 2 && weights.dim(0) == b, "weighted_rolls: weights {:?} are not [{b}, k]", weights.shape());
        let k = weights.dim(1);
        assert!(delays.len() == b * k && delays.iter().all(|&d| d < n), "weighted_rolls: need {b} × {k} delays below {n}");
        let per_item = rows * n * inner;
        let mut out = vec![0.0f32; self.numel()];
        {
            let (xd, wd) = (self.data(), weights.data());
            out.par_chunks_mut(per_item.max(1)).enumerate().with_min_len(crate::kernels::inline::min_len()).for_each(|(bi, out)| {
                let xb = &xd[bi * per_item..(bi + 1) * per_item];
                for (&d, &wi) in delays[bi * k..(bi + 1) * k].iter().zip(&wd[bi * k..(bi + 1) * k]) {
                    for r in 0..rows {
                        for t in 0..n {
                            let (dst, src) = ((r * n + t) * inner, (r * n + (t + d) % n) * inner);
                            out[dst..dst + inner].iter_mut().zip(&xb[src..src + inner]).for_each(|(o, x)| *o += wi * x);
                        }
                    }
                }
            });
        }
        Tensor::from_op(out, self.shape(), &[self, weights], WeightedRollsBackward { axis, delays: delays.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn equals_weighted_rolls_composed() {
        // [B 2, H 2, n 5, E 3], shifts along axis 2, per item.
        let mut rng = Rng::seed(31);
        let x = Tensor::randn(&[2, 2, 5, 3], &mut rng);
        let w = Tensor::randn(&[2, 3], &mut rng);
        let delays = [0, 4, 2, 1, 1, 3];
        let out = x.weighted_rolls(2, &delays, &w).to_vec();
        let (xv, wv) = (x.to_vec(), w.to_vec());
        for b in 0..2 {
            for h in 0..2 {
                for t in 0..5 {
                    for e in 0..3 {
                        let want: f32 = (0..3).map(|i| wv[b * 3 + i] * xv[((b * 2 + h) * 5 + (t + delays[b * 3 + i]) % 5) * 3 + e]).sum();
                        let got = out[((b * 2 + h) * 5 + t) * 3 + e];
                        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                    }
                }
            }
        }
        // No delays: zeros.
        let none = x.weighted_rolls(2, &[], &Tensor::zeros(&[2, 0]));
        assert!(none.to_vec().iter().all(|&v| v == 0.0));
    }

    #[test]
    fn grad_weighted_rolls() {
        let mut rng = Rng::seed(32);
        let inputs = vec![Tensor::randn(&[2, 3, 4, 5], &mut rng), Tensor::randn(&[2, 3], &mut rng)];
        // Time on the last axis and on an inner one; a delay repeated within an item.
        check_gradients("weighted_rolls last", |t| t[0].weighted_rolls(-1, &[1, 3, 0, 2, 2, 1], &t[1]), &inputs);
        check_gradients("weighted_rolls inner", |t| t[0].weighted_rolls(1, &[2, 0, 1, 1, 1, 2], &t[1]), &inputs);
    }
}

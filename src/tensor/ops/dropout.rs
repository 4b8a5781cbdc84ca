//! Inverted dropout: zero each value with probability p and scale the rest by 1/(1-p), so
//! evaluation needs no rescaling.
//!
//! The mask is not drawn and stored: each value's draw is a hash of its position under a key taken
//! from the caller's seeded stream (one `u64` per call). The forward pass is then one fused loop
//! that vectorizes, the backward pass recomputes the same mask instead of keeping four bytes per
//! value alive until it runs, and the values do not depend on how the loop is split over threads.
//! Drawing 32-bit values from ChaCha8 and mapping them to a stored scale took about 40% of
//! TSMixer's training step (dropout 0.9 on every mixer).

use rayon::prelude::*;

use super::binary::PARALLEL_ELEMS;
use crate::kernels::{inline, simd};
use crate::rng::{Counter, Rng};
use crate::tensor::{Backward, Tensor};

/// Positions per parallel chunk: a power of two below 2³², so no chunk straddles a 2³² boundary
/// and a chunk's positions differ only in their low 32 bits.
const CHUNK: usize = 1 << 14;

#[derive(Clone, Copy)]
pub(super) struct Mask {
    /// The call's draws, one per position.
    draws: Counter,
    /// A value is dropped when its draw falls below p·2³².
    threshold: u32,
    /// 1/(1-p) for the values kept.
    keep: f32,
}

impl Mask {
    fn new(p: f32, rng: &mut Rng) -> Mask {
        Mask::keyed(p, rng.next_u64())
    }

    /// The mask of drop probability `p` whose draws are keyed by `key`.
    pub(super) fn keyed(p: f32, key: u64) -> Mask {
        // p = 1 drops everything (PyTorch gives zeros); 1/(1-p) would be inf for the one draw
        // that can reach the threshold.
        let keep = if p >= 1.0 { 0.0 } else { 1.0 / (1.0 - p) };
        let threshold = (p as f64 * 4_294_967_296.0).min(u32::MAX as f64) as u32;
        Mask { draws: Counter::new(key), threshold, keep }
    }

    /// `out[i]` = the factor (0 or 1/(1-p)) of position `start + i`, for a run anywhere, also
    /// across a 2³² block: each block's positions hash on 32-bit lanes.
    #[inline(always)]
    pub(super) fn factors(&self, start: u64, out: &mut [f32]) {
        let (mut n, mut rest) = (start, out);
        while !rest.is_empty() {
            let lo = n as u32;
            let run = rest.len().min((u32::MAX - lo) as usize + 1);
            let (now, later) = rest.split_at_mut(run);
            let draws = self.draws.block((n >> 32) as u32);
            for (i, z) in now.iter_mut().enumerate() {
                *z = if draws.draw(lo.wrapping_add(i as u32)) < self.threshold { 0.0 } else { self.keep };
            }
            (n, rest) = (n + run as u64, later);
        }
    }

    /// `out[i] = x[i] · factor(start + i)` for one chunk starting at position `start`.
    #[inline(always)]
    fn apply_chunk(&self, start: usize, x: &[f32], out: &mut [f32]) {
        let (draws, threshold, keep) = (self.draws.block((start as u64 >> 32) as u32), self.threshold, self.keep);
        let base = start as u32;
        for (i, (o, x)) in out.iter_mut().zip(x).enumerate() {
            let draw = draws.draw(base.wrapping_add(i as u32));
            // A product, not a select: a NaN stays NaN, as in PyTorch's `x * mask`.
            *o = x * if draw < threshold { 0.0 } else { keep };
        }
    }

    /// `x` times the mask, in chunks on the thread pool when large (the same values either way).
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        if x.len() >= PARALLEL_ELEMS && !inline::active() {
            out.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).enumerate().for_each(|(c, (o, x))| {
                simd::vectorized(#[inline(always)] || self.apply_chunk(c * CHUNK, x, o))
            });
        } else {
            for (c, (o, x)) in out.chunks_mut(CHUNK).zip(x.chunks(CHUNK)).enumerate() {
                simd::vectorized(#[inline(always)] || self.apply_chunk(c * CHUNK, x, o));
            }
        }
        out
    }
}

struct DropoutBackward(Mask);

impl Backward for DropoutBackward {
    fn backward(&self, _inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        vec![Some(self.0.apply(g))]
    }
    fn name(&self) -> &'static str {
        "dropout"
    }
}

impl Tensor {
    /// Dropout with probability `p` when `train`; the identity otherwise.
    pub fn dropout(&self, p: f32, train: bool, rng: &mut Rng) -> Tensor {
        if !train || p <= 0.0 {
            return self.clone();
        }
        let mask = Mask::new(p, rng);
        let out = mask.apply(&self.data());
        Tensor::from_op(out, self.shape(), &[self], DropoutBackward(mask))
    }
}

#[cfg(test)]
mod tests {
    use super::{Mask, CHUNK};
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_dropout_with_a_fixed_mask() {
        let x = vec![Tensor::randn(&[4, 5], &mut Rng::seed(71))];
        // The same seed on every call gives the same mask, so differences are well defined.
        check_gradients("dropout", |x| x[0].dropout(0.3, true, &mut Rng::seed(5)), &x);
    }

    #[test]
    fn keeps_the_expected_fraction_and_mean() {
        let x = Tensor::ones(&[10_000]);
        let y = x.dropout(0.25, true, &mut Rng::seed(1)).to_vec();
        let kept = y.iter().filter(|v| **v > 0.0).count() as f32 / 10_000.0;
        assert!((kept - 0.75).abs() < 0.02);
        // Kept values are scaled by 1/(1-p), so the mean stays 1 (PyTorch's inverted dropout).
        assert!(y.iter().all(|v| *v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6), "kept values are 1/(1-p)");
        let mean = y.iter().sum::<f32>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        assert_eq!(x.dropout(0.25, false, &mut Rng::seed(1)).to_vec(), x.to_vec());
    }

    #[test]
    fn p_one_drops_everything() {
        let y = Tensor::ones(&[10_000]).dropout(1.0, true, &mut Rng::seed(1)).to_vec();
        assert!(y.iter().all(|v| *v == 0.0));
    }

    /// The hashed mask must look like independent draws: each position dropped with probability
    /// p, neighbours uncorrelated, calls with successive keys unrelated, and the same fraction in
    /// every chunk the thread pool may take.
    #[test]
    fn the_hashed_mask_behaves_like_independent_draws() {
        let n = 4 * CHUNK + 123;
        let mut rng = Rng::seed(3);
        let ones = vec![1.0f32; n];
        let (a, b) = (Mask::new(0.5, &mut rng).apply(&ones), Mask::new(0.5, &mut rng).apply(&ones));
        let kept = |v: &[f32]| v.iter().filter(|v| **v > 0.0).count() as f64 / v.len() as f64;
        // 4σ of a binomial fraction at n = 65659 is 0.008.
        assert!((kept(&a) - 0.5).abs() < 0.008, "{}", kept(&a));
        for chunk in a.chunks_exact(CHUNK) {
            assert!((kept(chunk) - 0.5).abs() < 0.016, "{}", kept(chunk));
        }
        let both = |u: &[f32], v: &[f32]| u.iter().zip(v).filter(|(u, v)| **u > 0.0 && **v > 0.0).count() as f64 / u.len() as f64;
        assert!((both(&a[1..], &a[..n - 1]) - 0.25).abs() < 0.007, "neighbours {}", both(&a[1..], &a[..n - 1]));
        assert!((both(&a, &b) - 0.25).abs() < 0.007, "successive keys {}", both(&a, &b));
        // Positions beyond 2³² get their own draws, not those of the positions 2³² below.
        let m = Mask::new(0.5, &mut rng);
        let (mut low, mut high) = (vec![0.0; 4096], vec![0.0; 4096]);
        m.apply_chunk(0, &ones[..4096], &mut low);
        m.apply_chunk(1 << 32, &ones[..4096], &mut high);
        assert!((both(&low, &high) - 0.25).abs() < 0.04);
    }

    #[test]
    fn the_mask_does_not_depend_on_the_thread_count() {
        let x = Tensor::randn(&[3, 40_000], &mut Rng::seed(9));
        let pooled = x.dropout(0.9, true, &mut Rng::seed(4)).to_vec();
        let alone = crate::kernels::inline::run(|| x.dropout(0.9, true, &mut Rng::seed(4)).to_vec());
        assert_eq!(pooled, alone);
    }
}

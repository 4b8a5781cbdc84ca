//! Autoformer's `AutoCorrelation` (Wu et al., "Autoformer: Decomposition Transformers with
//! Auto-Correlation for Long-Term Series Forecasting"), as NeuralForecast 3.3 runs it in place of
//! attention: the period-based dependencies of queries on keys come from their cross-correlation
//! over time, computed through the FFT, and the output sums the values rolled by the `k` most
//! correlated delays, weighted by a softmax over those correlations.

use super::module::Ctx;
use super::transformer::InnerAttention;
use crate::tensor::{no_grad, PadMode, Tensor};

/// `AutoCorrelation(mask_flag, factor)`. NeuralForecast builds it with a mask flag and an
/// attention dropout and applies neither, so neither is here.
#[derive(Clone, Copy, Debug)]
pub struct AutoCorrelation {
    /// The delays aggregated over `L` steps: `⌊factor · ln L⌋`.
    pub factor: usize,
}

impl AutoCorrelation {
    /// `int(factor · ln L)`: the delays aggregated for queries of `l` steps.
    pub fn top_k(factor: usize, l: usize) -> usize {
        (factor as f64 * (l as f64).ln()) as usize
    }

    /// The delays the correlation covers for `l` steps: `torch.fft.irfft` without `n` returns
    /// `2·(bins − 1)` points, so an odd `l` loses its last delay.
    pub fn delays(l: usize) -> usize {
        2 * (l / 2)
    }

    /// `[B, H, L, E]` queries and keys → the mean over heads and features of their circular
    /// cross-correlation, `[B, delays(L)]`: `irfft(rfft(q) · conj(rfft(k)))` along time. The
    /// inverse transform is linear, so it is taken once of the mean spectrum rather than of
    /// each head and feature's (the same values, to rounding).
    pub fn mean_correlation(q: &Tensor, k: &Tensor) -> Tensor {
        let (b, h, e) = (q.dim(0), q.dim(1), q.dim(3));
        let ((qr, qi), (kr, ki)) = (q.transpose(2, 3).rfft(), k.transpose(2, 3).rfft());
        let (re, im) = Tensor::mul_conj(&qr, &qi, &kr, &ki);
        let bins = re.dim(-1);
        let mean = |t: &Tensor| t.reshape(&[b, h * e, bins]).mean_axis(1, false);
        Tensor::irfft(&mean(&re), &mean(&im), 2 * (bins - 1))
    }
}

impl InnerAttention for AutoCorrelation {
    /// Keys and values are cut, or zero-padded, to the queries' length. In training the delays
    /// are the batch's top `k` of the mean correlation (`time_delay_agg_training`, one set for
    /// every item); in evaluation each item takes its own (`time_delay_agg_inference`).
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (b, l, s) = (q.dim(0), q.dim(2), k.dim(2));
        let fit = |t: &Tensor| match l.cmp(&s) {
            std::cmp::Ordering::Greater => t.pad(2, 0, l - s, PadMode::Constant(0.0)),
            std::cmp::Ordering::Less => t.narrow(2, 0, l),
            std::cmp::Ordering::Equal => t.clone(),
        };
        let (k, v) = (fit(k), fit(v));
        let top_k = Self::top_k(self.factor, l);
        let mean = Self::mean_correlation(q, &k);
        assert!(top_k <= mean.dim(1), "AutoCorrelation: {top_k} delays of {} (factor {}, L {l})", mean.dim(1), self.factor);
        if top_k == 0 {
            return Tensor::zeros(v.shape());
        }
        let (weights, delays) = if ctx.train {
            let index = no_grad(|| mean.mean_axis(0, false).topk(top_k).1);
            (mean.index_select(1, &index), index.repeat(b))
        } else {
            mean.topk(top_k)
        };
        v.weighted_rolls(2, &delays, &weights.softmax())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    fn qkv(l: usize, s: usize, seed: u64) -> Vec<Tensor> {
        let mut rng = Rng::seed(seed);
        vec![Tensor::randn(&[2, 2, l, 3], &mut rng), Tensor::randn(&[2, 2, s, 3], &mut rng), Tensor::randn(&[2, 2, s, 3], &mut rng)]
    }

    #[test]
    fn aggregates_the_values_rolled_by_the_best_delays() {
        // A value series that repeats every 3 steps and queries equal to the keys: the
        // correlation peaks at delays 0 and 3, so with k = ⌊1·ln 6⌋ = 1 the output is the values
        // rolled by one of them, i.e. the values themselves.
        let base: Vec<f32> = (0..6).flat_map(|t| [[1.0, -2.0, 0.5][t % 3]; 3]).collect();
        let x = Tensor::from_vec(base.repeat(4), &[2, 2, 6, 3]);
        for train in [true, false] {
            let out = AutoCorrelation { factor: 1 }.attend(&x, &x, &x, &mut Ctx::new(train, &mut Rng::seed(0)));
            for (a, b) in out.to_vec().iter().zip(x.to_vec()) {
                assert!((a - b).abs() < 1e-5, "train {train}: {a} vs {b}");
            }
        }
        // An odd length drops the last delay (NeuralForecast's irfft length); a query longer
        // than the keys pads them.
        let t = qkv(7, 4, 2);
        assert_eq!(AutoCorrelation::mean_correlation(&t[0], &t[0]).shape(), &[2, 6]);
        let out = AutoCorrelation { factor: 2 }.attend(&t[0], &t[1], &t[2], &mut Ctx::eval(&mut Rng::seed(0)));
        assert_eq!(out.shape(), &[2, 2, 7, 3]);
    }

    #[test]
    fn grad_auto_correlation() {
        // Training (batch delays) and inference (per item), keys cut and padded.
        for (train, l, s) in [(true, 6, 8), (false, 6, 4), (true, 5, 5)] {
            check_gradients(
                "AutoCorrelation",
                |t| AutoCorrelation { factor: 2 }.attend(&t[0], &t[1], &t[2], &mut Ctx::new(train, &mut Rng::seed(0))),
                &qkv(l, s, 9 + l as u64),
            );
        }
    }
}

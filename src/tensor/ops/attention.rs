//! Scaled dot-product attention as one op, `softmax(Q·Kᵀ·scale + mask)·V` with dropout on the
//! weights, computed as FlashAttention-2 does: each tile of queries meets the keys tile by tile
//! under an online softmax (a running maximum and sum per query), so the forward keeps only the
//! output and one log-sum-exp per query, and the backward recomputes each tile's probabilities
//! from them. The `Lq × Lk` weights never exist: memory grows with `Lq + Lk`, not their product.
//!
//! The dropout mask is a hash of (seed, position) rather than a stored draw, so the backward
//! regenerates the forward's mask exactly without keeping it.

use rayon::prelude::*;

use crate::kernels::activation::exp;
use crate::kernels::simd::vectorized;
use crate::tensor::{Backward, Tensor};

/// Queries per tile: the score tile is `TQ × TK`, a few KiB that stay in L1.
const TQ: usize = 16;
/// Keys per tile.
const TK: usize = 64;

/// Which keys a query may see, and the dropout on its weights.
#[derive(Clone, Debug, Default)]
pub struct AttentionSpec {
    /// Multiplies the scores (usually `1/√E`).
    pub scale: f32,
    /// Query `i` sees keys `j ≤ i` only.
    pub causal: bool,
    /// `[B, Lk]`, true where a key is padding (hidden from every query of its batch row).
    pub key_padding: Option<Vec<bool>>,
    /// Probability of zeroing a weight (inverted dropout: the kept ones are scaled by 1/(1-p)).
    pub dropout: f32,
    /// Seed of the dropout mask; take it from the model's stream so runs repeat.
    pub seed: u64,
}

/// The sizes of one call: `bh` heads of all batch rows, `lq` queries and `lk` keys of width `e`,
/// values of width `ev`.
#[derive(Clone, Copy)]
struct Dims {
    bh: usize,
    heads: usize,
    lq: usize,
    lk: usize,
    e: usize,
    ev: usize,
}

/// SplitMix64: a full-avalanche hash of one counter, which makes the mask position-addressable.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl AttentionSpec {
    /// The dropout factor of weight (head `bh`, query `i`, key `j`): 0 or 1/(1-p).
    #[inline(always)]
    fn keep(&self, d: &Dims, bh: usize, i: usize, j: usize) -> f32 {
        if self.dropout <= 0.0 {
            return 1.0;
        }
        if self.dropout >= 1.0 {
            return 0.0;
        }
        let index = ((bh * d.lq + i) * d.lk + j) as u64;
        let draw = (mix(self.seed ^ mix(index)) >> 32) as f64 / 4_294_967_296.0;
        if draw < self.dropout as f64 {
            0.0
        } else {
            1.0 / (1.0 - self.dropout)
        }
    }

    /// Whether key `j` is hidden from query `i` of head `bh`.
    #[inline(always)]
    fn hidden(&self, d: &Dims, bh: usize, i: usize, j: usize) -> bool {
        (self.causal && j > i) || self.key_padding.as_ref().is_some_and(|p| p[(bh / d.heads) * d.lk + j])
    }

    /// Keys `0..end` can be visible to queries `0..i_end` (a causal mask hides the rest).
    fn key_end(&self, d: &Dims, i_end: usize) -> usize {
        if self.causal {
            d.lk.min(i_end)
        } else {
            d.lk
        }
    }

    /// The score tile of queries `i0..i0+tq` against keys `j0..j0+tk` (row stride `TK`), with
    /// hidden positions at -inf.
    #[allow(clippy::too_many_arguments)]
    fn scores(&self, d: &Dims, bh: usize, q: &[f32], k: &[f32], i0: usize, tq: usize, j0: usize, tk: usize, s: &mut [f32]) {
        let e = d.e;
        for ii in 0..tq {
            let qi = &q[(i0 + ii) * e..(i0 + ii + 1) * e];
            let row = &mut s[ii * TK..ii * TK + tk];
            for (jj, out) in row.iter_mut().enumerate() {
                let kj = &k[(j0 + jj) * e..(j0 + jj + 1) * e];
                let dot: f32 = qi.iter().zip(kj).map(|(a, b)| a * b).sum();
                *out = if self.hidden(d, bh, i0 + ii, j0 + jj) { f32::NEG_INFINITY } else { dot * self.scale };
            }
        }
    }
}

/// One head's forward: fills `out` (`lq × ev`) and `lse` (`lq`; +inf for a query that sees no
/// key, whose output is zeros as the composed softmax gives).
fn forward_head(spec: &AttentionSpec, d: &Dims, bh: usize, q: &[f32], k: &[f32], v: &[f32], out: &mut [f32], lse: &mut [f32]) {
    let ev = d.ev;
    let mut s = vec![0.0f32; TQ * TK];
    out.fill(0.0);
    for i0 in (0..d.lq).step_by(TQ) {
        let tq = TQ.min(d.lq - i0);
        let mut max = [f32::NEG_INFINITY; TQ];
        let mut sum = [0.0f32; TQ];
        let j_end = spec.key_end(d, i0 + tq);
        for j0 in (0..j_end).step_by(TK) {
            let tk = TK.min(j_end - j0);
            spec.scores(d, bh, q, k, i0, tq, j0, tk, &mut s);
            for ii in 0..tq {
                let row = &mut s[ii * TK..ii * TK + tk];
                let tile_max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let new_max = max[ii].max(tile_max);
                if new_max == f32::NEG_INFINITY {
                    continue;
                }
                let rescale = if max[ii] == f32::NEG_INFINITY { 0.0 } else { exp(max[ii] - new_max) };
                let mut tile_sum = 0.0f32;
                for p in row.iter_mut() {
                    *p = if *p == f32::NEG_INFINITY { 0.0 } else { exp(*p - new_max) };
                    tile_sum += *p;
                }
                sum[ii] = sum[ii] * rescale + tile_sum;
                max[ii] = new_max;
                let acc = &mut out[(i0 + ii) * ev..(i0 + ii + 1) * ev];
                acc.iter_mut().for_each(|a| *a *= rescale);
                for (jj, &p) in row.iter().enumerate() {
                    let w = p * spec.keep(d, bh, i0 + ii, j0 + jj);
                    if w != 0.0 {
                        let vj = &v[(j0 + jj) * ev..(j0 + jj + 1) * ev];
                        acc.iter_mut().zip(vj).for_each(|(a, x)| *a += w * x);
                    }
                }
            }
        }
        for ii in 0..tq {
            let acc = &mut out[(i0 + ii) * ev..(i0 + ii + 1) * ev];
            if sum[ii] > 0.0 {
                let inv = 1.0 / sum[ii];
                acc.iter_mut().for_each(|a| *a *= inv);
                lse[i0 + ii] = max[ii] + sum[ii].ln();
            } else {
                acc.fill(0.0);
                lse[i0 + ii] = f32::INFINITY;
            }
        }
    }
}

/// One head's backward (FlashAttention-2): with `P = exp(S − lse)` recomputed per tile, `Z` the
/// dropout factors and `D_i = dO_i·O_i`: `dV += (P∘Z)ᵀ·dO`, `dS = P∘(Z∘(dO·Vᵀ) − D)`,
/// `dQ += scale·dS·K`, `dK += scale·dSᵀ·Q`.
#[allow(clippy::too_many_arguments)]
fn backward_head(
    spec: &AttentionSpec,
    d: &Dims,
    bh: usize,
    (q, k, v, o, lse, g): (&[f32], &[f32], &[f32], &[f32], &[f32], &[f32]),
    dq: &mut [f32],
    dk: &mut [f32],
    dv: &mut [f32],
) {
    let (e, ev) = (d.e, d.ev);
    let mut s = vec![0.0f32; TQ * TK];
    let delta: Vec<f32> = (0..d.lq).map(|i| g[i * ev..(i + 1) * ev].iter().zip(&o[i * ev..(i + 1) * ev]).map(|(a, b)| a * b).sum()).collect();
    for i0 in (0..d.lq).step_by(TQ) {
        let tq = TQ.min(d.lq - i0);
        let j_end = spec.key_end(d, i0 + tq);
        for j0 in (0..j_end).step_by(TK) {
            let tk = TK.min(j_end - j0);
            spec.scores(d, bh, q, k, i0, tq, j0, tk, &mut s);
            for ii in 0..tq {
                let i = i0 + ii;
                let (gi, qi) = (&g[i * ev..(i + 1) * ev], &q[i * e..(i + 1) * e]);
                for jj in 0..tk {
                    let score = s[ii * TK + jj];
                    if score == f32::NEG_INFINITY || lse[i] == f32::INFINITY {
                        continue;
                    }
                    let j = j0 + jj;
                    let p = exp(score - lse[i]);
                    let z = spec.keep(d, bh, i, j);
                    let vj = &v[j * ev..(j + 1) * ev];
                    if z != 0.0 {
                        let w = p * z;
                        dv[j * ev..(j + 1) * ev].iter_mut().zip(gi).for_each(|(a, x)| *a += w * x);
                    }
                    let dp = z * gi.iter().zip(vj).map(|(a, b)| a * b).sum::<f32>();
                    let ds = p * (dp - delta[i]) * spec.scale;
                    let kj = &k[j * e..(j + 1) * e];
                    dq[i * e..(i + 1) * e].iter_mut().zip(kj).for_each(|(a, x)| *a += ds * x);
                    dk[j * e..(j + 1) * e].iter_mut().zip(qi).for_each(|(a, x)| *a += ds * x);
                }
            }
        }
    }
}

struct AttentionBackward {
    spec: AttentionSpec,
    dims: Dims,
    lse: Vec<f32>,
}

impl Backward for AttentionBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let d = self.dims;
        let (q, k, v, o) = (inputs[0].data(), inputs[1].data(), inputs[2].data(), out.data());
        let mut dq = vec![0.0f32; d.bh * d.lq * d.e];
        let mut dk = vec![0.0f32; d.bh * d.lk * d.e];
        let mut dv = vec![0.0f32; d.bh * d.lk * d.ev];
        dq.par_chunks_mut(d.lq * d.e)
            .zip(dk.par_chunks_mut(d.lk * d.e))
            .zip(dv.par_chunks_mut(d.lk * d.ev))
            .enumerate()
            .for_each(|(bh, ((dq, dk), dv))| {
                let (qo, ko, vo) = (bh * d.lq * d.e, bh * d.lk * d.e, bh * d.lk * d.ev);
                let oo = bh * d.lq * d.ev;
                let views = (
                    &q[qo..qo + d.lq * d.e],
                    &k[ko..ko + d.lk * d.e],
                    &v[vo..vo + d.lk * d.ev],
                    &o[oo..oo + d.lq * d.ev],
                    &self.lse[bh * d.lq..(bh + 1) * d.lq],
                    &g[oo..oo + d.lq * d.ev],
                );
                vectorized(|| backward_head(&self.spec, &d, bh, views, dq, dk, dv));
            });
        let need = |t: &Tensor, grad: Vec<f32>| t.requires_grad().then_some(grad);
        vec![need(&inputs[0], dq), need(&inputs[1], dk), need(&inputs[2], dv)]
    }
    fn name(&self) -> &'static str {
        "attention"
    }
}

impl Tensor {
    /// Attention of queries `self` `[B, H, Lq, E]` over keys `[B, H, Lk, E]` and values
    /// `[B, H, Lk, Ev]`: `[B, H, Lq, Ev]`. One op: the weights are never stored (see the module
    /// docs); pass `dropout: 0` outside training.
    pub fn attention(&self, keys: &Tensor, values: &Tensor, spec: AttentionSpec) -> Tensor {
        let (qs, ks, vs) = (self.shape(), keys.shape(), values.shape());
        assert!(qs.len() == 4 && ks.len() == 4 && vs.len() == 4, "attention takes [B, H, L, E] tensors, got {qs:?}, {ks:?}, {vs:?}");
        assert!(qs[..2] == ks[..2] && ks[..3] == vs[..3] && qs[3] == ks[3], "attention shapes disagree: q {qs:?}, k {ks:?}, v {vs:?}");
        let d = Dims { bh: qs[0] * qs[1], heads: qs[1], lq: qs[2], lk: ks[2], e: qs[3], ev: vs[3] };
        if let Some(p) = &spec.key_padding {
            assert_eq!(p.len(), qs[0] * d.lk, "key padding mask must be [B, Lk]");
        }
        let mut out = vec![0.0f32; d.bh * d.lq * d.ev];
        let mut lse = vec![0.0f32; d.bh * d.lq];
        if d.lq > 0 && d.ev > 0 {
            let (q, k, v) = (self.data(), keys.data(), values.data());
            out.par_chunks_mut(d.lq * d.ev).zip(lse.par_chunks_mut(d.lq)).enumerate().for_each(|(bh, (out, lse))| {
                let q = &q[bh * d.lq * d.e..(bh + 1) * d.lq * d.e];
                let k = &k[bh * d.lk * d.e..(bh + 1) * d.lk * d.e];
                let v = &v[bh * d.lk * d.ev..(bh + 1) * d.lk * d.ev];
                vectorized(|| forward_head(&spec, &d, bh, q, k, v, out, lse));
            });
        }
        let shape = [qs[0], qs[1], d.lq, d.ev];
        Tensor::from_op(out, &shape, &[self, keys, values], AttentionBackward { spec, dims: d, lse })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    /// The same attention composed of primitive ops (what the models ran before this op).
    fn composed(q: &Tensor, k: &Tensor, v: &Tensor, spec: &AttentionSpec) -> Tensor {
        let (b, h, lq, lk) = (q.dim(0), q.dim(1), q.dim(2), k.dim(2));
        let d = Dims { bh: b * h, heads: h, lq, lk, e: q.dim(3), ev: v.dim(3) };
        let mut scores = q.matmul(&k.transpose(-1, -2)).mul_scalar(spec.scale);
        let mut mask = vec![0.0f32; b * h * lq * lk];
        let mut drop = vec![1.0f32; b * h * lq * lk];
        for bh in 0..b * h {
            for i in 0..lq {
                for j in 0..lk {
                    let at = (bh * lq + i) * lk + j;
                    if spec.hidden(&d, bh, i, j) {
                        mask[at] = f32::NEG_INFINITY;
                    }
                    drop[at] = spec.keep(&d, bh, i, j);
                }
            }
        }
        scores = scores.add(&Tensor::from_vec(mask, &[b, h, lq, lk]));
        scores.softmax().mul(&Tensor::from_vec(drop, &[b, h, lq, lk])).matmul(v)
    }

    fn inputs(b: usize, h: usize, lq: usize, lk: usize, e: usize, ev: usize, seed: u64) -> Vec<Tensor> {
        let mut rng = Rng::seed(seed);
        vec![Tensor::randn(&[b, h, lq, e], &mut rng), Tensor::randn(&[b, h, lk, e], &mut rng), Tensor::randn(&[b, h, lk, ev], &mut rng)]
    }

    fn specs(b: usize, lk: usize) -> Vec<AttentionSpec> {
        let padding: Vec<bool> = (0..b * lk).map(|i| i % 5 == 3).collect();
        vec![
            AttentionSpec { scale: 0.5, ..Default::default() },
            AttentionSpec { scale: 0.5, causal: true, ..Default::default() },
            AttentionSpec { scale: 0.3, key_padding: Some(padding.clone()), ..Default::default() },
            AttentionSpec { scale: 0.4, causal: true, key_padding: Some(padding), dropout: 0.3, seed: 7 },
        ]
    }

    #[test]
    fn grad_attention_with_masks_and_dropout() {
        for spec in specs(2, 5) {
            let x = inputs(2, 2, 4, 5, 3, 2, 11);
            check_gradients("attention", |t| t[0].attention(&t[1], &t[2], spec.clone()), &x);
        }
    }

    /// Lengths beyond one tile (and not multiples of it), so the online softmax crosses tiles.
    #[test]
    fn equals_the_composition_forward_and_backward() {
        for spec in specs(2, 150) {
            let x: Vec<Tensor> = inputs(2, 3, 37, 150, 8, 6, 5).iter().map(|t| Tensor::param(t.to_vec(), t.shape())).collect();
            let fused = x[0].attention(&x[1], &x[2], spec.clone());
            let plain = composed(&x[0], &x[1], &x[2], &spec);
            let close = |a: &[f32], b: &[f32], what: &str| {
                for (i, (a, b)) in a.iter().zip(b).enumerate() {
                    assert!((a - b).abs() <= 2e-5 * (1.0 + b.abs()), "{what}[{i}]: {a} vs {b} ({spec:?})");
                }
            };
            close(&fused.to_vec(), &plain.to_vec(), "output");
            let w = Tensor::randn(fused.shape(), &mut Rng::seed(3));
            let (gf, gp) = (fused.mul(&w).sum_all().backward(), plain.mul(&w).sum_all().backward());
            for (t, name) in x.iter().zip(["dq", "dk", "dv"]) {
                close(&gf.get(t).unwrap(), &gp.get(t).unwrap(), name);
            }
        }
    }

    #[test]
    fn a_query_that_sees_no_key_gives_zeros_and_no_gradient() {
        let x: Vec<Tensor> = inputs(1, 1, 2, 3, 2, 2, 1).iter().map(|t| Tensor::param(t.to_vec(), t.shape())).collect();
        let spec = AttentionSpec { scale: 1.0, key_padding: Some(vec![true; 3]), ..Default::default() };
        let y = x[0].attention(&x[1], &x[2], spec);
        assert!(y.to_vec().iter().all(|v| *v == 0.0));
        let g = y.sum_all().backward();
        assert!(g.get(&x[0]).unwrap().iter().all(|v| *v == 0.0));
    }

    #[test]
    fn dropout_keeps_the_expected_fraction_and_repeats() {
        let d = Dims { bh: 4, heads: 2, lq: 100, lk: 100, e: 1, ev: 1 };
        let spec = AttentionSpec { scale: 1.0, dropout: 0.25, seed: 9, ..Default::default() };
        let kept = (0..d.bh * d.lq * d.lk).filter(|n| spec.keep(&d, n / 10_000, n / 100 % 100, n % 100) > 0.0).count();
        assert!((kept as f64 / 40_000.0 - 0.75).abs() < 0.01, "kept {kept}");
        let x = inputs(2, 2, 9, 9, 4, 4, 2);
        let run = |seed| x[0].attention(&x[1], &x[2], AttentionSpec { seed, ..spec.clone() }).to_vec();
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}

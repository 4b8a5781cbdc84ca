//! Scaled dot-product attention as one op, `softmax(Q·Kᵀ·scale + mask)·V` with dropout on the
//! weights, computed as FlashAttention-2 does: each tile of queries meets the keys tile by tile
//! under an online softmax (a running maximum and sum per query), so the forward keeps only the
//! output and one log-sum-exp per query, and the backward recomputes each tile's probabilities
//! from them. The `Lq × Lk` weights never exist: memory grows with `Lq + Lk`, not their product.
//!
//! The dropout mask is a hash of (seed, position) (`rng::Counter`, as for `Tensor::dropout`)
//! rather than a stored draw, so the backward regenerates the forward's mask exactly without
//! keeping it.

use rayon::prelude::*;

use crate::kernels::activation::exp;
use crate::kernels::gemm::count_flops;
use crate::kernels::simd::vectorized;
use crate::rng::Counter;
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

impl Dims {
    /// Multiply-adds of one `Lq × Lk` product per head over widths `e + ev`: the floor counts
    /// the products the composed attention would run (2 forward, 4 backward), as GEMMs.
    fn pair_flops(&self) -> u64 {
        2 * (self.bh * self.lq * self.lk * (self.e + self.ev)) as u64
    }
}

impl AttentionSpec {
    /// The dropout factor of weight (head `bh`, query `i`, key `j`): 0 or 1/(1-p).
    #[inline(always)]
    fn keep(&self, d: &Dims, bh: usize, i: usize, j: usize) -> f32 {
        if self.dropout >= 1.0 {
            return 0.0;
        }
        // A weight is dropped when its 32-bit draw falls below p·2³² (as `Tensor::dropout`).
        let threshold = (self.dropout as f64 * 4_294_967_296.0) as u64;
        let draw = Counter::new(self.seed).draw_at(((bh * d.lq + i) * d.lk + j) as u64) as u64;
        if draw < threshold {
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
}

/// One key tile (`tk` keys from `j0`) laid out for row-at-a-time products: keys (and values)
/// transposed, so each query's scores are `width` vectorized axpys over the tile.
struct KeyTile {
    j0: usize,
    tk: usize,
    /// `[e, TK]`
    kt: Vec<f32>,
    /// `[ev, TK]` (backward only: `dO·Vᵀ`)
    vt: Vec<f32>,
    /// 0 or -inf per key (padding).
    bias: [f32; TK],
    padded: bool,
}

impl KeyTile {
    fn new(d: &Dims) -> Self {
        KeyTile { j0: 0, tk: 0, kt: vec![0.0; d.e * TK], vt: vec![0.0; d.ev * TK], bias: [0.0; TK], padded: false }
    }

    #[inline(always)]
    fn load(&mut self, spec: &AttentionSpec, d: &Dims, bh: usize, k: &[f32], v: Option<&[f32]>, j0: usize, tk: usize) {
        (self.j0, self.tk) = (j0, tk);
        for jj in 0..tk {
            for c in 0..d.e {
                self.kt[c * TK + jj] = k[(j0 + jj) * d.e + c];
            }
        }
        if let Some(v) = v {
            for jj in 0..tk {
                for c in 0..d.ev {
                    self.vt[c * TK + jj] = v[(j0 + jj) * d.ev + c];
                }
            }
        }
        self.padded = false;
        if let Some(p) = &spec.key_padding {
            let row = &p[(bh / d.heads) * d.lk + j0..][..tk];
            for (b, &hide) in self.bias.iter_mut().zip(row) {
                *b = if hide { f32::NEG_INFINITY } else { 0.0 };
                self.padded |= hide;
            }
        }
    }

    /// `out[jj] = scale·(q·k_jj)`, -inf where hidden from query `i`.
    #[inline(always)]
    fn scores(&self, spec: &AttentionSpec, qi: &[f32], i: usize, out: &mut [f32; TK]) {
        let tk = self.tk;
        let out = &mut out[..tk];
        out.fill(0.0);
        for (c, &qc) in qi.iter().enumerate() {
            let a = qc * spec.scale;
            out.iter_mut().zip(&self.kt[c * TK..c * TK + tk]).for_each(|(o, k)| *o += a * k);
        }
        if self.padded {
            out.iter_mut().zip(&self.bias).for_each(|(o, b)| *o += b);
        }
        if spec.causal && self.j0 + tk > i + 1 {
            let first_hidden = (i + 1).saturating_sub(self.j0);
            out[first_hidden..].fill(f32::NEG_INFINITY);
        }
    }

    /// The dropout factors of query `i` against this tile.
    #[inline(always)]
    fn keep(&self, spec: &AttentionSpec, d: &Dims, bh: usize, i: usize, out: &mut [f32; TK]) {
        for (jj, z) in out[..self.tk].iter_mut().enumerate() {
            *z = spec.keep(d, bh, i, self.j0 + jj);
        }
    }
}

/// `e^(x - shift)`, and 0 for a hidden score (branch-free, so the loop vectorizes).
#[inline(always)]
fn shifted_exp(x: f32, shift: f32) -> f32 {
    let p = exp(x - shift);
    if x == f32::NEG_INFINITY {
        0.0
    } else {
        p
    }
}

/// One head's forward: fills `out` (`lq × ev`) and `lse` (`lq`; +inf for a query that sees no
/// key, whose output is zeros as the composed softmax gives).
#[inline(always)]
fn forward_head(spec: &AttentionSpec, d: &Dims, bh: usize, q: &[f32], k: &[f32], v: &[f32], out: &mut [f32], lse: &mut [f32]) {
    let (e, ev) = (d.e, d.ev);
    let mut s = vec![[0.0f32; TK]; TQ];
    let mut z = [0.0f32; TK];
    let mut tile = KeyTile::new(d);
    out.fill(0.0);
    for i0 in (0..d.lq).step_by(TQ) {
        let tq = TQ.min(d.lq - i0);
        let mut max = [f32::NEG_INFINITY; TQ];
        let mut sum = [0.0f32; TQ];
        let j_end = spec.key_end(d, i0 + tq);
        for j0 in (0..j_end).step_by(TK) {
            let tk = TK.min(j_end - j0);
            tile.load(spec, d, bh, k, None, j0, tk);
            for ii in 0..tq {
                let i = i0 + ii;
                let row = &mut s[ii];
                tile.scores(spec, &q[i * e..(i + 1) * e], i, row);
                let row = &mut row[..tk];
                let tile_max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let new_max = max[ii].max(tile_max);
                if new_max == f32::NEG_INFINITY {
                    continue;
                }
                let rescale = if max[ii] == f32::NEG_INFINITY { 0.0 } else { exp(max[ii] - new_max) };
                row.iter_mut().for_each(|p| *p = shifted_exp(*p, new_max));
                sum[ii] = sum[ii] * rescale + row.iter().sum::<f32>();
                max[ii] = new_max;
                if spec.dropout > 0.0 {
                    tile.keep(spec, d, bh, i, &mut z);
                    row.iter_mut().zip(&z).for_each(|(p, z)| *p *= z);
                }
                let acc = &mut out[i * ev..(i + 1) * ev];
                acc.iter_mut().for_each(|a| *a *= rescale);
                for (jj, &w) in row.iter().enumerate() {
                    let vj = &v[(j0 + jj) * ev..(j0 + jj + 1) * ev];
                    acc.iter_mut().zip(vj).for_each(|(a, x)| *a += w * x);
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
#[inline(always)]
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
    let (mut p, mut z, mut dp) = ([0.0f32; TK], [1.0f32; TK], [0.0f32; TK]);
    let mut tile = KeyTile::new(d);
    let delta: Vec<f32> = (0..d.lq).map(|i| g[i * ev..(i + 1) * ev].iter().zip(&o[i * ev..(i + 1) * ev]).map(|(a, b)| a * b).sum()).collect();
    // Key tiles outside, so each tile's dK and dV rows stay in cache over all queries.
    let j_end = spec.key_end(d, d.lq);
    for j0 in (0..j_end).step_by(TK) {
        let tk = TK.min(j_end - j0);
        tile.load(spec, d, bh, k, Some(v), j0, tk);
        let first_query = if spec.causal { j0 } else { 0 };
        for i in first_query..d.lq {
            if lse[i] == f32::INFINITY {
                continue;
            }
            let (gi, qi) = (&g[i * ev..(i + 1) * ev], &q[i * e..(i + 1) * e]);
            tile.scores(spec, qi, i, &mut p);
            p[..tk].iter_mut().for_each(|x| *x = shifted_exp(*x, lse[i]));
            if spec.dropout > 0.0 {
                tile.keep(spec, d, bh, i, &mut z);
            }
            // dP = Z∘(dO_i·Vᵀ)
            let dp = &mut dp[..tk];
            dp.fill(0.0);
            for (c, &gc) in gi.iter().enumerate() {
                dp.iter_mut().zip(&tile.vt[c * TK..c * TK + tk]).for_each(|(o, x)| *o += gc * x);
            }
            let dq_i = &mut dq[i * e..(i + 1) * e];
            for jj in 0..tk {
                let (pj, zj) = (p[jj], z[jj]);
                let j = j0 + jj;
                let w = pj * zj;
                dv[j * ev..(j + 1) * ev].iter_mut().zip(gi).for_each(|(a, x)| *a += w * x);
                let ds = pj * (zj * dp[jj] - delta[i]) * spec.scale;
                dq_i.iter_mut().zip(&k[j * e..(j + 1) * e]).for_each(|(a, x)| *a += ds * x);
                dk[j * e..(j + 1) * e].iter_mut().zip(qi).for_each(|(a, x)| *a += ds * x);
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
        count_flops(2 * d.pair_flops());
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
                vectorized(#[inline(always)] || backward_head(&self.spec, &d, bh, views, dq, dk, dv));
            });
        let need = |t: &Tensor, grad: Vec<f32>| t.requires_grad().then_some(grad);
        vec![need(&inputs[0], dq), need(&inputs[1], dk), need(&inputs[2], dv)]
    }
    fn name(&self) -> &'static str {
        "attention"
    }
}

/// Below this many weights (`B·H·Lq·Lk`, 16 MiB of f32) the composed attention runs: its GEMMs
/// beat the tiled loops on short inputs (`cargo bench --bench attention`), and its buffers are
/// small. Above it the fused op keeps memory linear in the length.
const FUSED_FROM_WEIGHTS: usize = 1 << 22;

fn dims(q: &Tensor, k: &Tensor, v: &Tensor, spec: &AttentionSpec) -> Dims {
    let (qs, ks, vs) = (q.shape(), k.shape(), v.shape());
    assert!(qs.len() == 4 && ks.len() == 4 && vs.len() == 4, "attention takes [B, H, L, E] tensors, got {qs:?}, {ks:?}, {vs:?}");
    assert!(qs[..2] == ks[..2] && ks[..3] == vs[..3] && qs[3] == ks[3], "attention shapes disagree: q {qs:?}, k {ks:?}, v {vs:?}");
    let d = Dims { bh: qs[0] * qs[1], heads: qs[1], lq: qs[2], lk: ks[2], e: qs[3], ev: vs[3] };
    if let Some(p) = &spec.key_padding {
        assert_eq!(p.len(), qs[0] * d.lk, "key padding mask must be [B, Lk]");
    }
    d
}

impl Tensor {
    /// Attention of queries `self` `[B, H, Lq, E]` over keys `[B, H, Lk, E]` and values
    /// `[B, H, Lk, Ev]`: `[B, H, Lq, Ev]`, composed of primitive ops for short inputs and fused
    /// (see [`Tensor::flash_attention`]) for long ones; both draw the same dropout mask, so the
    /// choice changes rounding only. Pass `dropout: 0` outside training.
    pub fn attention(&self, keys: &Tensor, values: &Tensor, spec: AttentionSpec) -> Tensor {
        let d = dims(self, keys, values, &spec);
        if d.bh * d.lq * d.lk >= FUSED_FROM_WEIGHTS {
            self.flash_attention(keys, values, spec)
        } else {
            self.composed_attention(keys, values, &spec)
        }
    }

    /// The attention as matmul, scale, mask, softmax, dropout and matmul: `B·H·Lq·Lk` weights
    /// held for the backward, several times over.
    pub fn composed_attention(&self, keys: &Tensor, values: &Tensor, spec: &AttentionSpec) -> Tensor {
        let d = dims(self, keys, values, spec);
        let shape = [self.dim(0), d.heads, d.lq, d.lk];
        let mut scores = self.matmul(&keys.transpose(-1, -2)).mul_scalar(spec.scale);
        if spec.causal || spec.key_padding.is_some() {
            let mut mask = vec![0.0f32; d.bh * d.lq * d.lk];
            for (at, m) in mask.iter_mut().enumerate() {
                let (bh, i, j) = (at / (d.lq * d.lk), at / d.lk % d.lq, at % d.lk);
                if spec.hidden(&d, bh, i, j) {
                    *m = f32::NEG_INFINITY;
                }
            }
            scores = scores.add(&Tensor::from_vec(mask, &shape));
        }
        let mut weights = scores.softmax();
        if spec.dropout > 0.0 {
            let keep: Vec<f32> = (0..d.bh * d.lq * d.lk).map(|at| spec.keep(&d, at / (d.lq * d.lk), at / d.lk % d.lq, at % d.lk)).collect();
            weights = weights.mul(&Tensor::from_vec(keep, &shape));
        }
        weights.matmul(values)
    }

    /// The fused attention: never stores the weights (see the module docs).
    pub fn flash_attention(&self, keys: &Tensor, values: &Tensor, spec: AttentionSpec) -> Tensor {
        let d = dims(self, keys, values, &spec);
        let qs = self.shape();
        count_flops(d.pair_flops());
        let mut out = vec![0.0f32; d.bh * d.lq * d.ev];
        let mut lse = vec![0.0f32; d.bh * d.lq];
        if d.lq > 0 && d.ev > 0 {
            let (q, k, v) = (self.data(), keys.data(), values.data());
            out.par_chunks_mut(d.lq * d.ev).zip(lse.par_chunks_mut(d.lq)).enumerate().with_min_len(crate::kernels::inline::min_len()).for_each(|(bh, (out, lse))| {
                let q = &q[bh * d.lq * d.e..(bh + 1) * d.lq * d.e];
                let k = &k[bh * d.lk * d.e..(bh + 1) * d.lk * d.e];
                let v = &v[bh * d.lk * d.ev..(bh + 1) * d.lk * d.ev];
                vectorized(#[inline(always)] || forward_head(&spec, &d, bh, q, k, v, out, lse));
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
            check_gradients("flash_attention", |t| t[0].flash_attention(&t[1], &t[2], spec.clone()), &x);
            check_gradients("composed_attention", |t| t[0].composed_attention(&t[1], &t[2], &spec), &x);
        }
    }

    /// Lengths beyond one tile (and not multiples of it), so the online softmax crosses tiles.
    #[test]
    fn equals_the_composition_forward_and_backward() {
        for spec in specs(2, 150) {
            let x: Vec<Tensor> = inputs(2, 3, 37, 150, 8, 6, 5).iter().map(|t| Tensor::param(t.to_vec(), t.shape())).collect();
            let fused = x[0].flash_attention(&x[1], &x[2], spec.clone());
            let plain = x[0].composed_attention(&x[1], &x[2], &spec);
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
        let y = x[0].flash_attention(&x[1], &x[2], spec);
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
        let run = |seed| x[0].flash_attention(&x[1], &x[2], AttentionSpec { seed, ..spec.clone() }).to_vec();
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }
}

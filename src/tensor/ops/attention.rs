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
use super::dropout::Mask;
#[cfg(test)]
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
    /// The dropout factor of weight (head `bh`, query `i`, key `j`): 0 or 1/(1-p). The
    /// definition that [`AttentionSpec::keep_row`] computes a row at a time.
    #[cfg(test)]
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

    /// The dropout factors of query `i` of head `bh` against keys `j0..j0 + out.len()`: those
    /// of `Tensor::dropout`'s mask keyed by the seed, at the weights' flat positions.
    #[inline(always)]
    fn keep_row(&self, d: &Dims, bh: usize, i: usize, j0: usize, out: &mut [f32]) {
        Mask::keyed(self.dropout, self.seed).factors(((bh * d.lq + i) * d.lk + j0) as u64, out);
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

/// The loops below work on fixed groups of `LANES` values, each held in registers: a key tile's
/// scores, a query's output or gradient row. Fixed in the source rather than left to the
/// compiler, so every instruction set sums in the same order and gives the same bits.
const LANES: usize = 8;

/// `n` rounded up to whole lane groups.
fn lanes(n: usize) -> usize {
    n.div_ceil(LANES) * LANES
}

/// One lane group of a slice that holds at least `at + LANES` values.
#[inline(always)]
fn group(xs: &[f32], at: usize) -> &[f32; LANES] {
    xs[at..at + LANES].try_into().expect("a whole lane group")
}

/// The largest of `xs` (whole lane groups).
#[inline(always)]
fn lane_max(xs: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    for at in (0..xs.len()).step_by(LANES) {
        let x = group(xs, at);
        (0..LANES).for_each(|l| m[l] = m[l].max(x[l]));
    }
    m.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

/// The sum of `xs` (whole lane groups), lane by lane and then the lanes pairwise.
#[inline(always)]
fn lane_sum(xs: &[f32]) -> f32 {
    let mut s = [0.0f32; LANES];
    for at in (0..xs.len()).step_by(LANES) {
        let x = group(xs, at);
        (0..LANES).for_each(|l| s[l] += x[l]);
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

/// Queries whose products over a key tile run together: `R` independent sums per value, where
/// one query alone would wait on each addition before the next.
const BLOCK: usize = 8;

/// For each of `R` queries `r`, `out[at[r]..][..n] += Σ_j w[r][j]·rows[j]` over `keys` rows in the
/// order of `j` (the bits of one query at a time), where row `j` starts at `j·stride` and holds
/// `lanes(n)` values, zeros past `n`. The sums stay in registers over all rows.
#[inline(always)]
fn accumulate_rows<const R: usize>(out: &mut [f32], at: [usize; R], n: usize, w: [&[f32; TK]; R], keys: usize, rows: &[f32], stride: usize) {
    let rows = &rows[..keys * stride];
    for c0 in (0..n).step_by(LANES) {
        let width = LANES.min(n - c0);
        let mut a = [[0.0f32; LANES]; R];
        for r in 0..R {
            a[r][..width].copy_from_slice(&out[at[r] + c0..][..width]);
        }
        for (j, row) in rows.chunks_exact(stride).enumerate() {
            let x = group(row, c0);
            for r in 0..R {
                let wj = w[r][j];
                (0..LANES).for_each(|l| a[r][l] += wj * x[l]);
            }
        }
        for r in 0..R {
            out[at[r] + c0..][..width].copy_from_slice(&a[r][..width]);
        }
    }
}

/// [`accumulate_rows`] over any number of queries: blocks of [`BLOCK`], then one at a time.
#[inline(always)]
fn accumulate_queries(out: &mut [f32], at: &[usize], n: usize, w: &[&[f32; TK]], keys: usize, rows: &[f32], stride: usize) {
    for (at, w) in at.chunks_exact(BLOCK).zip(w.chunks_exact(BLOCK)) {
        accumulate_rows::<BLOCK>(out, at.try_into().expect("a block"), n, w.try_into().expect("a block"), keys, rows, stride);
    }
    let rest = at.len() % BLOCK;
    for (&at, &w) in at[at.len() - rest..].iter().zip(&w[w.len() - rest..]) {
        accumulate_rows::<1>(out, [at], n, [w], keys, rows, stride);
    }
}

/// `out[j] = Σ_c (x[c]·scale)·cols[c·TK + j]` for the keys of a tile, in the order of `c`, one
/// lane group of keys at a time.
#[inline(always)]
fn products(x: &[f32], scale: f32, cols: &[f32], keys: usize, out: &mut [f32; TK]) {
    for j0 in (0..lanes(keys)).step_by(LANES) {
        let mut s = [0.0f32; LANES];
        for (c, &xc) in x.iter().enumerate() {
            let a = xc * scale;
            let col = group(cols, c * TK + j0);
            (0..LANES).for_each(|l| s[l] += a * col[l]);
        }
        out[j0..j0 + LANES].copy_from_slice(&s);
    }
}

/// One key tile (`tk` keys from `j0`) in the layouts its products read, zero past `tk`: keys
/// transposed (scores, lanes over keys) and by rows (`dQ += dS·K`); values transposed
/// (`dO·Vᵀ`) and by rows (`O += P·V`).
struct KeyTile {
    j0: usize,
    tk: usize,
    /// `[e, TK]`
    kt: Vec<f32>,
    /// `[TK, lanes(e)]` (backward only)
    kr: Vec<f32>,
    /// `[ev, TK]` (backward only)
    vt: Vec<f32>,
    /// `[TK, lanes(ev)]` (forward only)
    vr: Vec<f32>,
    /// 0 or -inf per key (padding).
    bias: [f32; TK],
    padded: bool,
}

impl KeyTile {
    fn new(d: &Dims) -> Self {
        let (e, ev) = (d.e, d.ev);
        KeyTile { j0: 0, tk: 0, kt: vec![0.0; e * TK], kr: vec![0.0; TK * lanes(e)], vt: vec![0.0; ev * TK], vr: vec![0.0; TK * lanes(ev)], bias: [0.0; TK], padded: false }
    }

    /// The tile of keys `j0..j0 + tk`; the backward's layouts when `backward`, else the forward's.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn load(&mut self, spec: &AttentionSpec, d: &Dims, bh: usize, k: &[f32], v: &[f32], j0: usize, tk: usize, backward: bool) {
        let (e, ev) = (d.e, d.ev);
        if tk < self.tk {
            // The last, shorter tile: what the previous tile left past `tk` must read as zeros.
            self.kt.fill(0.0);
            self.kr.fill(0.0);
            self.vt.fill(0.0);
            self.vr.fill(0.0);
        }
        (self.j0, self.tk) = (j0, tk);
        for jj in 0..tk {
            let kj = &k[(j0 + jj) * e..(j0 + jj + 1) * e];
            for (c, &x) in kj.iter().enumerate() {
                self.kt[c * TK + jj] = x;
            }
            let vj = &v[(j0 + jj) * ev..(j0 + jj + 1) * ev];
            if backward {
                self.kr[jj * lanes(e)..][..e].copy_from_slice(kj);
                for (c, &x) in vj.iter().enumerate() {
                    self.vt[c * TK + jj] = x;
                }
            } else {
                self.vr[jj * lanes(ev)..][..ev].copy_from_slice(vj);
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

    /// `out[jj] = scale·(q·k_jj)`, -inf where hidden from query `i` and past `tk` up to whole
    /// lane groups.
    #[inline(always)]
    fn scores(&self, spec: &AttentionSpec, qi: &[f32], i: usize, out: &mut [f32; TK]) {
        let tk = self.tk;
        products(qi, spec.scale, &self.kt, tk, out);
        if self.padded {
            out[..tk].iter_mut().zip(&self.bias).for_each(|(o, b)| *o += b);
        }
        let visible = if spec.causal { (i + 1).saturating_sub(self.j0).min(tk) } else { tk };
        out[visible..lanes(tk)].fill(f32::NEG_INFINITY);
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
#[allow(clippy::too_many_arguments)]
fn forward_head(spec: &AttentionSpec, d: &Dims, bh: usize, q: &[f32], k: &[f32], v: &[f32], out: &mut [f32], lse: &mut [f32]) {
    let (e, ev) = (d.e, d.ev);
    let mut s = [[0.0f32; TK]; TQ];
    let mut z = [0.0f32; TK];
    let mut tile = KeyTile::new(d);
    let at: [usize; TQ] = std::array::from_fn(|ii| ii * ev);
    out.fill(0.0);
    for i0 in (0..d.lq).step_by(TQ) {
        let tq = TQ.min(d.lq - i0);
        let mut max = [f32::NEG_INFINITY; TQ];
        let mut sum = [0.0f32; TQ];
        let j_end = spec.key_end(d, i0 + tq);
        let block = &mut out[i0 * ev..(i0 + tq) * ev];
        for j0 in (0..j_end).step_by(TK) {
            let tk = TK.min(j_end - j0);
            tile.load(spec, d, bh, k, v, j0, tk, false);
            for (ii, row) in s[..tq].iter_mut().enumerate() {
                let i = i0 + ii;
                tile.scores(spec, &q[i * e..(i + 1) * e], i, row);
                let row = &mut row[..lanes(tk)];
                let new_max = max[ii].max(lane_max(row));
                if new_max == f32::NEG_INFINITY {
                    // Nothing visible yet: the weights are zeros, and the output stays as it is.
                    row.fill(0.0);
                    continue;
                }
                let rescale = if max[ii] == f32::NEG_INFINITY { 0.0 } else { exp(max[ii] - new_max) };
                row.iter_mut().for_each(|p| *p = shifted_exp(*p, new_max));
                sum[ii] = sum[ii] * rescale + lane_sum(row);
                max[ii] = new_max;
                if spec.dropout > 0.0 {
                    spec.keep_row(d, bh, i, j0, &mut z[..tk]);
                    row[..tk].iter_mut().zip(&z).for_each(|(p, z)| *p *= z);
                }
                block[ii * ev..(ii + 1) * ev].iter_mut().for_each(|a| *a *= rescale);
            }
            let weights: [&[f32; TK]; TQ] = std::array::from_fn(|ii| &s[ii]);
            accumulate_queries(block, &at[..tq], ev, &weights[..tq], tk, &tile.vr, lanes(ev));
        }
        for ii in 0..tq {
            let acc = &mut block[ii * ev..(ii + 1) * ev];
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
    let (mut p, mut ds) = ([[0.0f32; TK]; BLOCK], [[0.0f32; TK]; BLOCK]);
    let (mut z, mut dp) = ([1.0f32; TK], [0.0f32; TK]);
    let mut tile = KeyTile::new(d);
    // The tile's dK and dV, transposed like its keys: a query adds to them lane group by lane
    // group, and each value sums its queries in their order, as a row-by-row update would.
    let (mut dkt, mut dvt) = (vec![0.0f32; e * TK], vec![0.0f32; ev * TK]);
    let delta: Vec<f32> = (0..d.lq).map(|i| g[i * ev..(i + 1) * ev].iter().zip(&o[i * ev..(i + 1) * ev]).map(|(a, b)| a * b).sum()).collect();
    // Queries that see no key have no gradient.
    let seen: Vec<usize> = (0..d.lq).filter(|&i| lse[i] != f32::INFINITY).collect();
    // Key tiles outside, so each tile's dK and dV stay in cache over all queries.
    let j_end = spec.key_end(d, d.lq);
    for j0 in (0..j_end).step_by(TK) {
        let tk = TK.min(j_end - j0);
        let width = lanes(tk);
        tile.load(spec, d, bh, k, v, j0, tk, true);
        dkt.fill(0.0);
        dvt.fill(0.0);
        let first = if spec.causal { seen.partition_point(|&i| i < j0) } else { 0 };
        for queries in seen[first..].chunks(BLOCK) {
            for (r, &i) in queries.iter().enumerate() {
                let (gi, qi) = (&g[i * ev..(i + 1) * ev], &q[i * e..(i + 1) * e]);
                let (p, ds) = (&mut p[r], &mut ds[r]);
                tile.scores(spec, qi, i, p);
                p[..width].iter_mut().for_each(|x| *x = shifted_exp(*x, lse[i]));
                if spec.dropout > 0.0 {
                    spec.keep_row(d, bh, i, j0, &mut z[..tk]);
                }
                // dP = dO_i·Vᵀ; the weights P∘Z go into p, dS into ds.
                products(gi, 1.0, &tile.vt, tk, &mut dp);
                let delta_i = delta[i];
                for jj in 0..width {
                    let (pj, zj) = (p[jj], z[jj]);
                    ds[jj] = pj * (zj * dp[jj] - delta_i) * spec.scale;
                    p[jj] = pj * zj;
                }
                for (c, &x) in gi.iter().enumerate() {
                    dvt[c * TK..c * TK + width].iter_mut().zip(&p[..width]).for_each(|(a, w)| *a += w * x);
                }
                for (c, &x) in qi.iter().enumerate() {
                    dkt[c * TK..c * TK + width].iter_mut().zip(&ds[..width]).for_each(|(a, s)| *a += s * x);
                }
            }
            let n = queries.len();
            let at: [usize; BLOCK] = std::array::from_fn(|r| queries.get(r).map_or(0, |&i| i * e));
            let rows: [&[f32; TK]; BLOCK] = std::array::from_fn(|r| &ds[r]);
            accumulate_queries(dq, &at[..n], e, &rows[..n], tk, &tile.kr, lanes(e));
        }
        for jj in 0..tk {
            let j = j0 + jj;
            dk[j * e..(j + 1) * e].iter_mut().enumerate().for_each(|(c, x)| *x = dkt[c * TK + jj]);
            dv[j * ev..(j + 1) * ev].iter_mut().enumerate().for_each(|(c, x)| *x = dvt[c * TK + jj]);
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

/// Below this many weights (`B·H·Lq·Lk`) the composed attention runs: with a handful of keys per
/// query the fused op's per-head setup costs more than the composition's few small products
/// (they break even near 4096 weights at 16 heads of width 8 and at 4 of width 32, measured with
/// `cargo bench --bench attention` at other `LENGTHS`, `HEADS` and `WIDTH`). Above it the fused
/// op is faster, and keeps memory linear in the length.
const FUSED_FROM_WEIGHTS: usize = 1 << 12;

/// Under mixed precision the composed attention's matmuls round their operands and the fused
/// op's products do not, so the composition runs up to where its buffers grow large (16 MiB).
const ROUNDED_FUSED_FROM_WEIGHTS: usize = 1 << 22;

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
        let from = if crate::tensor::precision::autocast().is_some() { ROUNDED_FUSED_FROM_WEIGHTS } else { FUSED_FROM_WEIGHTS };
        if d.bh * d.lq * d.lk >= from {
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
            let mut keep = vec![0.0f32; d.bh * d.lq * d.lk];
            if d.lk > 0 {
                keep.chunks_mut(d.lk).enumerate().for_each(|(row, z)| spec.keep_row(&d, row / d.lq, row % d.lq, 0, z));
            }
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

    /// Lengths beyond one tile (and not multiples of it), so the online softmax crosses tiles;
    /// widths below, at and above one lane group.
    #[test]
    fn equals_the_composition_forward_and_backward() {
        for ((lq, lk, e, ev), spec) in [(37, 150, 8, 6), (20, 70, 11, 17)].into_iter().flat_map(|dims| specs(2, dims.1).into_iter().map(move |s| (dims, s))) {
            let x: Vec<Tensor> = inputs(2, 3, lq, lk, e, ev, 5).iter().map(|t| Tensor::param(t.to_vec(), t.shape())).collect();
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
        let mut factors = vec![0.0f32; d.bh * d.lq * d.lk];
        factors.chunks_mut(d.lk).enumerate().for_each(|(row, z)| spec.keep_row(&d, row / d.lq, row % d.lq, 0, z));
        let kept = factors.iter().filter(|z| **z > 0.0).count();
        assert!((kept as f64 / 40_000.0 - 0.75).abs() < 0.01, "kept {kept}");
        let x = inputs(2, 2, 9, 9, 4, 4, 2);
        let run = |seed| x[0].flash_attention(&x[1], &x[2], AttentionSpec { seed, ..spec.clone() }).to_vec();
        assert_eq!(run(9), run(9));
        assert_ne!(run(9), run(10));
    }

    /// Past a few thousand weights the fused op runs, except under mixed precision, whose
    /// rounded products only the composition has.
    #[test]
    fn mid_sized_attention_is_fused_in_f32_and_composed_under_mixed_precision() {
        use crate::tensor::{with_precision, Precision};
        let x = inputs(2, 4, 24, 24, 8, 8, 4);
        let spec = AttentionSpec { scale: 0.35, ..Default::default() };
        assert_eq!(x[0].attention(&x[1], &x[2], spec.clone()).to_vec(), x[0].flash_attention(&x[1], &x[2], spec.clone()).to_vec());
        let mixed = |f: &dyn Fn() -> Tensor| with_precision(Precision::Bf16Mixed, f).to_vec();
        assert_eq!(mixed(&|| x[0].attention(&x[1], &x[2], spec.clone())), mixed(&|| x[0].composed_attention(&x[1], &x[2], &spec)));
    }

    /// A row's positions may cross a 2³² block (here at its second key): each still gets its own draw.
    #[test]
    fn a_row_of_dropout_factors_is_the_per_weight_definition() {
        let d = Dims { bh: 1, heads: 1, lq: 1 << 16, lk: (1 << 16) + 1, e: 1, ev: 1 };
        let spec = AttentionSpec { scale: 1.0, dropout: 0.5, seed: 3, ..Default::default() };
        for (i, j0, n) in [(0, 0, 77), ((1 << 16) - 1, 0, 100), (5, 60, 3)] {
            let mut row = vec![0.0f32; n];
            spec.keep_row(&d, 0, i, j0, &mut row);
            let want: Vec<f32> = (0..n).map(|jj| spec.keep(&d, 0, i, j0 + jj)).collect();
            assert_eq!(row, want, "query {i}, keys from {j0}");
        }
        let mut all = vec![1.0f32; 9];
        AttentionSpec { dropout: 1.0, ..spec }.keep_row(&d, 0, 0, 0, &mut all);
        assert!(all.iter().all(|z| *z == 0.0));
    }
}

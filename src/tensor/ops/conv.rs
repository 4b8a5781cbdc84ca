//! 2-d convolution by im2col + GEMM (PyTorch's cross-correlation, with stride, asymmetric
//! padding, dilation and groups); 1-d convolution is the height-1 case, and causal convolution is
//! left padding of (kernel-1)·dilation.

use rayon::prelude::*;

use super::binary::PARALLEL_ELEMS;
use crate::kernels::gemm::{matmul_into, MatRef};
use crate::kernels::half::HalfKind;
use crate::tensor::precision::{autocast, round_grads, round_in_place, rounded};
use crate::tensor::{Backward, Tensor};

/// Geometry of a 2-d convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dSpec {
    pub stride: (usize, usize),
    /// (top, bottom, left, right)
    pub padding: (usize, usize, usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
}

impl Default for Conv2dSpec {
    fn default() -> Self {
        Conv2dSpec { stride: (1, 1), padding: (0, 0, 0, 0), dilation: (1, 1), groups: 1 }
    }
}

/// Sizes derived from the input and weight shapes.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    ho: usize,
    wo: usize,
    g: usize,
}

impl Dims {
    fn cg(&self) -> usize {
        self.c / self.g
    }
    fn og(&self) -> usize {
        self.o / self.g
    }
    /// Rows of a group's column matrix.
    fn rows(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    fn cols(&self) -> usize {
        self.ho * self.wo
    }
}

/// Column-matrix values one pass holds (16 MB): a pass folds as many batch items as fit into one
/// GEMM, wide enough for the kernel and its threads (one item of a TimesNet fold is a few dozen
/// columns), with memory bounded whatever the batch.
const PASS_VALUES: usize = 1 << 22;

impl Dims {
    /// Batch items per pass when a pass may hold `limit` column-matrix values.
    fn per_pass(&self, limit: usize) -> usize {
        (limit / (self.rows() * self.cols()).max(1)).clamp(1, self.b.max(1))
    }
}

/// For kernel offset `k` along an axis: the output positions `lo..hi` that read inside the input,
/// and the input position of output `o` (`o·stride + k·dilation − pad`) at `lo`.
fn span(k: usize, out: usize, len: usize, stride: usize, dil: usize, pad: usize) -> (usize, usize) {
    let off = k * dil;
    // First o with o·stride + off >= pad; last with o·stride + off < len + pad.
    let lo = pad.saturating_sub(off).div_ceil(stride);
    let hi = if len + pad > off { ((len + pad - off - 1) / stride + 1).min(out) } else { 0 };
    (lo.min(hi), hi)
}

/// Calls `f(r, i, dst_offset, src_offset)` for every in-bounds (row, output position) pair of item
/// `i` of a pass: column-matrix entry (r, i·cols + oi·wo + oj) reads input value `src` of that
/// item's group (channel-major `[cg, h, w]`), with `oj` running over `lo..hi` contiguously.
#[inline]
fn for_each_run(d: &Dims, s: &Conv2dSpec, r: usize, mut f: impl FnMut(usize, usize, usize)) {
    let kk = d.kh * d.kw;
    let (c, ki, kj) = (r / kk, r % kk / d.kw, r % d.kw);
    let (ylo, yhi) = span(ki, d.ho, d.h, s.stride.0, s.dilation.0, s.padding.0);
    let (xlo, xhi) = span(kj, d.wo, d.w, s.stride.1, s.dilation.1, s.padding.2);
    if xlo >= xhi {
        return;
    }
    for oi in ylo..yhi {
        let y = oi * s.stride.0 + ki * s.dilation.0 - s.padding.0;
        let x0 = xlo * s.stride.1 + kj * s.dilation.1 - s.padding.2;
        // (column offset of the run, input offset of its first value, run length)
        f(oi * d.wo + xlo, (c * d.h + y) * d.w + x0, xhi - xlo);
    }
}

/// The column matrix `[rows, n·cols]` of batch items `b0..b0+n`, group `gi`; zeros in padding.
fn im2col(xd: &[f32], d: &Dims, s: &Conv2dSpec, (b0, n): (usize, usize), gi: usize, cols: &mut [f32]) {
    let width = n * d.cols();
    let fill = |r: usize, row: &mut [f32]| {
        row.fill(0.0);
        for i in 0..n {
            let src = &xd[((b0 + i) * d.c + gi * d.cg()) * d.h * d.w..];
            let dst = &mut row[i * d.cols()..];
            for_each_run(d, s, r, |at, from, len| {
                if s.stride.1 == 1 {
                    dst[at..at + len].copy_from_slice(&src[from..from + len]);
                } else {
                    for j in 0..len {
                        dst[at + j] = src[from + j * s.stride.1];
                    }
                }
            });
        }
    };
    let cols = &mut cols[..d.rows() * width];
    if cols.len() >= PARALLEL_ELEMS && !crate::kernels::inline::active() {
        cols.par_chunks_mut(width).enumerate().for_each(|(r, row)| fill(r, row));
    } else {
        cols.chunks_mut(width).enumerate().for_each(|(r, row)| fill(r, row));
    }
}

/// Adds the column-matrix gradient `dcols` `[rows, n·cols]` back onto the input gradient of batch
/// items `b0..b0+n`, group `gi` (col2im); each (item, channel) plane is summed by one thread.
fn col2im(dcols: &[f32], d: &Dims, s: &Conv2dSpec, (b0, n): (usize, usize), gi: usize, gx: &mut [f32]) {
    let (plane, width, kk) = (d.h * d.w, n * d.cols(), d.kh * d.kw);
    let planes = &mut gx[(b0 * d.c + gi * d.cg()) * plane..];
    let add = |j: usize, dst: &mut [f32]| {
        // Planes run over every channel of each item from the group's first: only its cg count.
        let (i, c) = (j / d.c, j % d.c);
        if i >= n || c >= d.cg() {
            return;
        }
        for r in c * kk..(c + 1) * kk {
            let src = &dcols[r * width + i * d.cols()..];
            for_each_run(d, s, r, |at, from, len| {
                let from = from - c * plane;
                for t in 0..len {
                    dst[from + t * s.stride.1] += src[at + t];
                }
            });
        }
    };
    let planes = &mut planes[..((n - 1) * d.c + d.cg()) * plane];
    if d.rows() * width >= PARALLEL_ELEMS && !crate::kernels::inline::active() {
        planes.par_chunks_mut(plane).enumerate().for_each(|(j, p)| add(j, p));
    } else {
        planes.chunks_mut(plane).enumerate().for_each(|(j, p)| add(j, p));
    }
}

struct ConvBackward {
    dims: Dims,
    spec: Conv2dSpec,
    /// Column-matrix values per pass, as in the forward.
    limit: usize,
    /// Mixed precision's 16-bit type (`tensor::precision`), None in f32.
    kind: Option<HalfKind>,
}

impl Backward for ConvBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        round_grads(self.kind, self.grads(inputs, &rounded(self.kind, g)))
    }
    fn name(&self) -> &'static str {
        "conv2d"
    }
}

impl ConvBackward {
    fn grads(&self, inputs: &[Tensor], g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (d, s) = (self.dims, self.spec);
        let (x, w) = (&inputs[0], &inputs[1]);
        let (xd, wd) = (x.data(), w.data());
        let (xd, wd) = (rounded(self.kind, &xd), rounded(self.kind, &wd));
        let mut gx = x.requires_grad().then(|| vec![0.0f32; x.numel()]);
        let mut gw = w.requires_grad().then(|| vec![0.0f32; w.numel()]);
        let per = d.per_pass(self.limit);
        let mut cols = vec![0.0f32; d.rows() * per * d.cols()];
        let mut dcols = vec![0.0f32; if gx.is_some() { cols.len() } else { 0 }];
        let mut gout = vec![0.0f32; d.og() * per * d.cols()];
        let wsize = d.og() * d.rows();
        for b0 in (0..d.b).step_by(per) {
            let n = per.min(d.b - b0);
            let width = n * d.cols();
            for gi in 0..d.g {
                // The group's output gradient as `[og, n·cols]`, the layout of the pass's product.
                for oc in 0..d.og() {
                    for i in 0..n {
                        let from = ((b0 + i) * d.o + gi * d.og() + oc) * d.cols();
                        gout[oc * width + i * d.cols()..][..d.cols()].copy_from_slice(&g[from..from + d.cols()]);
                    }
                }
                let gout = MatRef::new(&gout[..d.og() * width], d.og(), width);
                if let Some(gw) = gw.as_mut() {
                    im2col(&xd, &d, &s, (b0, n), gi, &mut cols);
                    // dW_g += dOut_g · colsᵀ
                    matmul_into(gout, MatRef::new(&cols[..d.rows() * width], d.rows(), width).t(), &mut gw[gi * wsize..(gi + 1) * wsize], true);
                }
                if let Some(gx) = gx.as_mut() {
                    // dcols = W_gᵀ · dOut_g, then added back onto the input (col2im).
                    matmul_into(MatRef::new(&wd[gi * wsize..(gi + 1) * wsize], d.og(), d.rows()).t(), gout, &mut dcols, false);
                    col2im(&dcols, &d, &s, (b0, n), gi, gx);
                }
            }
        }
        let mut grads = vec![gx, gw];
        if let Some(bias) = inputs.get(2) {
            grads.push(bias.requires_grad().then(|| {
                let mut gb = vec![0.0f32; d.o];
                for (k, chunk) in g.chunks(d.cols()).enumerate() {
                    gb[k % d.o] += chunk.iter().sum::<f32>();
                }
                gb
            }));
        }
        grads
    }
}

impl Tensor {
    /// 2-d convolution of `self` `[B, C, H, W]` with `weight` `[O, C/groups, KH, KW]`.
    pub fn conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, spec: Conv2dSpec) -> Tensor {
        self.conv2d_passes(weight, bias, spec, PASS_VALUES)
    }

    /// [`Tensor::conv2d`] with passes of at most `limit` column-matrix values (tests vary it).
    fn conv2d_passes(&self, weight: &Tensor, bias: Option<&Tensor>, spec: Conv2dSpec, limit: usize) -> Tensor {
        let (xs, ws) = (self.shape(), weight.shape());
        assert!(xs.len() == 4 && ws.len() == 4, "conv2d needs [B, C, H, W] and [O, C/g, KH, KW], got {xs:?} and {ws:?}");
        let g = spec.groups.max(1);
        let (b, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, kh, kw) = (ws[0], ws[2], ws[3]);
        assert!(c % g == 0 && o % g == 0 && ws[1] == c / g, "conv2d: channels {c} → {o} do not fit groups {g} and weight {ws:?}");
        let span = |n: usize, pad: usize, k: usize, dil: usize, st: usize| {
            let padded = n + pad;
            let reach = dil * (k - 1) + 1;
            assert!(padded >= reach, "conv2d: kernel reach {reach} exceeds the padded input {padded}");
            (padded - reach) / st + 1
        };
        let ho = span(h, spec.padding.0 + spec.padding.1, kh, spec.dilation.0, spec.stride.0);
        let wo = span(w, spec.padding.2 + spec.padding.3, kw, spec.dilation.1, spec.stride.1);
        let d = Dims { b, c, h, w, o, kh, kw, ho, wo, g };
        let mut out = vec![0.0f32; b * o * ho * wo];
        let kind = autocast();
        {
            let (xd, wd) = (self.data(), weight.data());
            let (xd, wd) = (rounded(kind, &xd), rounded(kind, &wd));
            let per = d.per_pass(limit);
            let mut cols = vec![0.0f32; d.rows() * per * d.cols()];
            let mut prod = vec![0.0f32; d.og() * per * d.cols()];
            let wsize = d.og() * d.rows();
            for b0 in (0..b).step_by(per) {
                let n = per.min(b - b0);
                let width = n * d.cols();
                for gi in 0..g {
                    im2col(&xd, &d, &spec, (b0, n), gi, &mut cols);
                    matmul_into(MatRef::new(&wd[gi * wsize..(gi + 1) * wsize], d.og(), d.rows()), MatRef::new(&cols[..d.rows() * width], d.rows(), width), &mut prod, false);
                    // `[og, n·cols]` → each item's `[og, cols]` block of `[B, O, cols]`.
                    for oc in 0..d.og() {
                        for i in 0..n {
                            let to = ((b0 + i) * o + gi * d.og() + oc) * d.cols();
                            out[to..to + d.cols()].copy_from_slice(&prod[oc * width + i * d.cols()..][..d.cols()]);
                        }
                    }
                }
            }
            if let Some(bias) = bias {
                assert_eq!(bias.shape(), &[o], "conv2d bias must be [{o}]");
                let bd = bias.data();
                let bd = rounded(kind, &bd);
                for (k, chunk) in out.chunks_mut(d.cols()).enumerate() {
                    let v = bd[k % o];
                    chunk.iter_mut().for_each(|x| *x += v);
                }
            }
        }
        round_in_place(kind, &mut out);
        let rule = ConvBackward { dims: d, spec, limit, kind };
        let shape = [b, o, ho, wo];
        match bias {
            Some(bias) => Tensor::from_op(out, &shape, &[self, weight, bias], rule),
            None => Tensor::from_op(out, &shape, &[self, weight], rule),
        }
    }

    /// 1-d convolution of `self` `[B, C, L]` with `weight` `[O, C/groups, K]`; `padding` is
    /// (left, right) so a causal convolution pads ((K-1)·dilation, 0).
    pub fn conv1d(&self, weight: &Tensor, bias: Option<&Tensor>, stride: usize, padding: (usize, usize), dilation: usize, groups: usize) -> Tensor {
        let (xs, ws) = (self.shape(), weight.shape());
        assert!(xs.len() == 3 && ws.len() == 3, "conv1d needs [B, C, L] and [O, C/g, K], got {xs:?} and {ws:?}");
        let spec = Conv2dSpec { stride: (1, stride), padding: (0, 0, padding.0, padding.1), dilation: (1, dilation), groups };
        let y = self.reshape(&[xs[0], xs[1], 1, xs[2]]).conv2d(&weight.reshape(&[ws[0], ws[1], 1, ws[2]]), bias, spec);
        let s = y.shape().to_vec();
        y.reshape(&[s[0], s[1], s[3]])
    }
}

#[cfg(test)]
mod tests {
    use super::Conv2dSpec;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    /// Direct-loop 1-d convolution (groups 1) to check the im2col path.
    fn naive_conv1d(x: &[f32], w: &[f32], (b, c, l): (usize, usize, usize), (o, k): (usize, usize), stride: usize, pad: (usize, usize), dil: usize) -> Vec<f32> {
        let lo = (l + pad.0 + pad.1 - dil * (k - 1) - 1) / stride + 1;
        let mut out = vec![0.0; b * o * lo];
        for bi in 0..b {
            for oi in 0..o {
                for t in 0..lo {
                    let mut s = 0.0;
                    for ci in 0..c {
                        for ki in 0..k {
                            let p = (t * stride + ki * dil) as isize - pad.0 as isize;
                            if p >= 0 && (p as usize) < l {
                                s += x[(bi * c + ci) * l + p as usize] * w[(oi * c + ci) * k + ki];
                            }
                        }
                    }
                    out[(bi * o + oi) * lo + t] = s;
                }
            }
        }
        out
    }

    /// Direct-loop 2-d convolution with groups, to check the batched im2col path.
    fn naive_conv2d(x: &Tensor, w: &Tensor, bias: &Tensor, s: Conv2dSpec, (ho, wo): (usize, usize)) -> Vec<f32> {
        let (xd, wd, bd) = (x.to_vec(), w.to_vec(), bias.to_vec());
        let (xs, ws) = (x.shape(), w.shape());
        let ((b, c, h, wi), (o, cg, kh, kw)) = ((xs[0], xs[1], xs[2], xs[3]), (ws[0], ws[1], ws[2], ws[3]));
        let og = o / s.groups;
        let mut out = vec![0.0; b * o * ho * wo];
        for (bi, oc, oi, oj) in (0..b).flat_map(|bi| (0..o).flat_map(move |oc| (0..ho).flat_map(move |oi| (0..wo).map(move |oj| (bi, oc, oi, oj))))) {
            let mut sum = bd[oc];
            for (ci, ki, kj) in (0..cg).flat_map(|ci| (0..kh).flat_map(move |ki| (0..kw).map(move |kj| (ci, ki, kj)))) {
                let y = (oi * s.stride.0 + ki * s.dilation.0) as isize - s.padding.0 as isize;
                let xx = (oj * s.stride.1 + kj * s.dilation.1) as isize - s.padding.2 as isize;
                if y >= 0 && xx >= 0 && (y as usize) < h && (xx as usize) < wi {
                    let channel = (oc / og) * cg + ci;
                    sum += xd[((bi * c + channel) * h + y as usize) * wi + xx as usize] * wd[((oc * cg + ci) * kh + ki) * kw + kj];
                }
            }
            out[((bi * o + oc) * ho + oi) * wo + oj] = sum;
        }
        out
    }

    #[test]
    fn conv1d_matches_direct_loops() {
        let mut rng = Rng::seed(111);
        let x = Tensor::randn(&[2, 3, 11], &mut rng);
        let w = Tensor::randn(&[4, 3, 3], &mut rng);
        for (stride, pad, dil) in [(1, (0, 0), 1), (2, (1, 1), 1), (1, (4, 0), 2), (3, (2, 0), 2)] {
            let got = x.conv1d(&w, None, stride, pad, dil, 1).to_vec();
            let want = naive_conv1d(&x.to_vec(), &w.to_vec(), (2, 3, 11), (4, 3), stride, pad, dil);
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "stride {stride} pad {pad:?} dil {dil}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn grad_conv1d_causal_dilated_grouped() {
        let mut rng = Rng::seed(112);
        let xs = vec![Tensor::randn(&[2, 4, 9], &mut rng), Tensor::randn(&[6, 2, 3], &mut rng), Tensor::randn(&[6], &mut rng)];
        check_gradients("conv1d causal", |x| x[0].conv1d(&x[1], Some(&x[2]), 1, (4, 0), 2, 2), &xs);
        check_gradients("conv1d strided", |x| x[0].conv1d(&x[1], None, 2, (1, 2), 1, 2), &xs[..2]);
    }

    #[test]
    fn grad_conv2d() {
        let mut rng = Rng::seed(113);
        let xs = vec![Tensor::randn(&[2, 2, 5, 6], &mut rng), Tensor::randn(&[3, 2, 3, 2], &mut rng), Tensor::randn(&[3], &mut rng)];
        let spec = Conv2dSpec { stride: (2, 1), padding: (1, 1, 0, 1), dilation: (1, 2), groups: 1 };
        check_gradients("conv2d", |x| x[0].conv2d(&x[1], Some(&x[2]), spec), &xs);
        check_gradients("conv2d∘permute", |x| x[0].permute(&[0, 1, 3, 2]).conv2d(&x[1], None, Conv2dSpec::default()), &xs[..2]);
    }

    /// Batch items folded into one product (up to the pass limit) give the same values and
    /// gradients as one item per pass, for every geometry: padding wider than the kernel's reach
    /// (whole rows of zeros), strides, dilation, groups.
    #[test]
    fn grad_conv2d_passes() {
        let mut rng = Rng::seed(114);
        for spec in [
            Conv2dSpec::default(),
            Conv2dSpec { padding: (4, 1, 2, 5), ..Conv2dSpec::default() },
            Conv2dSpec { stride: (2, 3), padding: (1, 2, 2, 1), dilation: (2, 1), groups: 2 },
        ] {
            let cg = 4 / spec.groups;
            let xs = vec![Tensor::randn(&[3, 4, 5, 6], &mut rng), Tensor::randn(&[6, cg, 3, 3], &mut rng), Tensor::randn(&[6], &mut rng)];
            let one = xs[0].conv2d_passes(&xs[1], Some(&xs[2]), spec, 1);
            let all = xs[0].conv2d(&xs[1], Some(&xs[2]), spec);
            assert_eq!(one.shape(), all.shape());
            let want = naive_conv2d(&xs[0], &xs[1], &xs[2], spec, (all.dim(2), all.dim(3)));
            for ((a, b), c) in one.to_vec().iter().zip(&all.to_vec()).zip(&want) {
                assert!((a - c).abs() < 1e-4 && (b - c).abs() < 1e-4, "{spec:?}: {a}, {b} vs {c}");
            }
            // Two items per pass: a full pass and a last pass of one.
            let two = 2 * (cg * 9) * one.dim(2) * one.dim(3);
            check_gradients("conv2d passes", |x| x[0].conv2d_passes(&x[1], Some(&x[2]), spec, two), &xs);
            check_gradients("conv2d", |x| x[0].conv2d(&x[1], Some(&x[2]), spec), &xs);
        }
    }
}

//! 2-d convolution by im2col + GEMM (PyTorch's cross-correlation, with stride, asymmetric
//! padding, dilation and groups); 1-d convolution is the height-1 case, and causal convolution is
//! left padding of (kernel-1)·dilation.

use crate::kernels::gemm::{matmul_into, MatRef};
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

/// Input position read by column-matrix entry (row r, output position p), or None in padding.
fn source(d: &Dims, s: &Conv2dSpec, r: usize, p: usize) -> Option<(usize, usize, usize)> {
    let (c, rest) = (r / (d.kh * d.kw), r % (d.kh * d.kw));
    let (ki, kj) = (rest / d.kw, rest % d.kw);
    let (oi, oj) = (p / d.wo, p % d.wo);
    let y = (oi * s.stride.0 + ki * s.dilation.0) as isize - s.padding.0 as isize;
    let x = (oj * s.stride.1 + kj * s.dilation.1) as isize - s.padding.2 as isize;
    (y >= 0 && x >= 0 && (y as usize) < d.h && (x as usize) < d.w).then(|| (c, y as usize, x as usize))
}

/// The column matrix `[rows, cols]` of batch `b`, group `gi`.
fn im2col(xd: &[f32], d: &Dims, s: &Conv2dSpec, b: usize, gi: usize, cols: &mut [f32]) {
    let base = (b * d.c + gi * d.cg()) * d.h * d.w;
    for r in 0..d.rows() {
        for p in 0..d.cols() {
            cols[r * d.cols() + p] = source(d, s, r, p).map_or(0.0, |(c, y, x)| xd[base + (c * d.h + y) * d.w + x]);
        }
    }
}

struct ConvBackward {
    dims: Dims,
    spec: Conv2dSpec,
}

impl Backward for ConvBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (d, s) = (self.dims, self.spec);
        let (x, w) = (&inputs[0], &inputs[1]);
        let xd = x.data();
        let wd = w.data();
        let mut gx = x.requires_grad().then(|| vec![0.0f32; x.numel()]);
        let mut gw = w.requires_grad().then(|| vec![0.0f32; w.numel()]);
        let mut cols = vec![0.0f32; d.rows() * d.cols()];
        let mut dcols = vec![0.0f32; d.rows() * d.cols()];
        let wsize = d.og() * d.rows();
        for b in 0..d.b {
            for gi in 0..d.g {
                let gout = &g[(b * d.o + gi * d.og()) * d.cols()..][..d.og() * d.cols()];
                if let Some(gw) = gw.as_mut() {
                    im2col(&xd, &d, &s, b, gi, &mut cols);
                    // dW_g += dOut_g · colsᵀ
                    matmul_into(MatRef::new(gout, d.og(), d.cols()), MatRef::new(&cols, d.rows(), d.cols()).t(), &mut gw[gi * wsize..(gi + 1) * wsize], true);
                }
                if let Some(gx) = gx.as_mut() {
                    // dcols = W_gᵀ · dOut_g, then scattered back onto the input (col2im).
                    matmul_into(MatRef::new(&wd[gi * wsize..(gi + 1) * wsize], d.og(), d.rows()).t(), MatRef::new(gout, d.og(), d.cols()), &mut dcols, false);
                    let base = (b * d.c + gi * d.cg()) * d.h * d.w;
                    for r in 0..d.rows() {
                        for p in 0..d.cols() {
                            if let Some((c, y, xx)) = source(&d, &s, r, p) {
                                gx[base + (c * d.h + y) * d.w + xx] += dcols[r * d.cols() + p];
                            }
                        }
                    }
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
    fn name(&self) -> &'static str {
        "conv2d"
    }
}

impl Tensor {
    /// 2-d convolution of `self` `[B, C, H, W]` with `weight` `[O, C/groups, KH, KW]`.
    pub fn conv2d(&self, weight: &Tensor, bias: Option<&Tensor>, spec: Conv2dSpec) -> Tensor {
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
        {
            let xd = self.data();
            let wd = weight.data();
            let mut cols = vec![0.0f32; d.rows() * d.cols()];
            let wsize = d.og() * d.rows();
            for bi in 0..b {
                for gi in 0..g {
                    im2col(&xd, &d, &spec, bi, gi, &mut cols);
                    let dst = &mut out[(bi * o + gi * d.og()) * d.cols()..][..d.og() * d.cols()];
                    matmul_into(MatRef::new(&wd[gi * wsize..(gi + 1) * wsize], d.og(), d.rows()), MatRef::new(&cols, d.rows(), d.cols()), dst, false);
                }
            }
            if let Some(bias) = bias {
                assert_eq!(bias.shape(), &[o], "conv2d bias must be [{o}]");
                let bd = bias.data();
                for (k, chunk) in out.chunks_mut(d.cols()).enumerate() {
                    let v = bd[k % o];
                    chunk.iter_mut().for_each(|x| *x += v);
                }
            }
        }
        let rule = ConvBackward { dims: d, spec };
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
}

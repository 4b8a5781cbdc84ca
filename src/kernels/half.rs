//! Weights in 16 bits (bf16 or f16) for inference, products accumulated in f32.
//!
//! A forecast for one series multiplies one row by every weight matrix once: it reads each weight
//! once and does one multiply-add with it, so memory, not arithmetic, sets its speed. A model
//! loaded from a file saved with 16-bit weights keeps those bits beside the f32 values they
//! round to ([`crate::tensor::Tensor::half`]); products of a few rows read the 16-bit copy (half
//! the bytes) and widen each weight to f32 in registers, while batches keep going through the
//! f32 GEMM (a converted copy, so large predicts run exactly as fast as before). Both paths see
//! the same weight values, so they agree to f32 rounding.

use half::{bf16, f16};

/// How weights are stored: NeuralForecast/PyTorch's `torch.bfloat16` or `torch.float16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HalfKind {
    /// 8 exponent bits, as f32: any f32 magnitude, about 3 significant digits.
    Bf16,
    /// 5 exponent bits: up to ±65504, about 3.3 significant digits.
    F16,
}

impl HalfKind {
    /// The nearest 16-bit value (ties to even).
    pub fn encode(self, v: f32) -> u16 {
        match self {
            HalfKind::Bf16 => bf16::from_f32(v).to_bits(),
            HalfKind::F16 => f16::from_f32(v).to_bits(),
        }
    }

    pub fn decode(self, bits: u16) -> f32 {
        match self {
            HalfKind::Bf16 => bf16::from_bits(bits).to_f32(),
            HalfKind::F16 => f16::from_bits(bits).to_f32(),
        }
    }
}

/// A row-major matrix of 16-bit values.
#[derive(Debug, PartialEq)]
pub struct HalfMatrix {
    pub kind: HalfKind,
    pub bits: Vec<u16>,
}

impl HalfMatrix {
    pub fn encode(kind: HalfKind, values: &[f32]) -> HalfMatrix {
        HalfMatrix { kind, bits: values.iter().map(|&v| kind.encode(v)).collect() }
    }
}

/// `c (+)= x · Wᵀ` for `m` rows `x` (`[m, k]`) and `W` = `w` as `[n, k]`, in f32.
///
/// Panics unless `x` holds `m·k` values, `w` `n·k` and `c` `m·n`.
pub fn linear_rows(x: &[f32], m: usize, k: usize, w: &HalfMatrix, n: usize, c: &mut [f32], accumulate: bool) {
    assert!(x.len() >= m * k && w.bits.len() >= n * k && c.len() >= m * n, "half linear: {m}x{k} · ({n}x{k})ᵀ does not fit its buffers");
    super::gemm::count_flops(2 * (m * k * n) as u64);
    let columns = |j0: usize, out: &mut [f32], row: &[f32]| {
        let mut j = 0;
        while j < out.len() {
            let width = (out.len() - j).min(4);
            let cols: [&[u16]; 4] = std::array::from_fn(|q| &w.bits[(j0 + j + q.min(width - 1)) * k..][..k]);
            let v = dot4(row, cols, w.kind);
            for q in 0..width {
                out[j + q] = if accumulate { out[j + q] + v[q] } else { v[q] };
            }
            j += width;
        }
    };
    if m == 1 {
        super::inline::split_row(&mut c[..n], k, true, |j0, out| columns(j0, out, &x[..k]));
    } else {
        for i in 0..m {
            columns(0, &mut c[i * n..(i + 1) * n], &x[i * k..(i + 1) * k]);
        }
    }
}

/// The dot products of `x` with four 16-bit columns.
fn dot4(x: &[f32], cols: [&[u16]; 4], kind: HalfKind) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    {
        if super::simd::has_avx2_fma() && std::arch::is_x86_feature_detected!("f16c") {
            // SAFETY: the CPU has the features the function was compiled for.
            return unsafe { dot4_avx2(x, cols, kind) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if super::simd::has_neon() {
            // SAFETY: NEON is baseline on aarch64.
            return unsafe { dot4_neon(x, cols, kind) };
        }
    }
    std::array::from_fn(|q| x.iter().zip(cols[q]).map(|(a, &b)| a * kind.decode(b)).sum())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot4_avx2(x: &[f32], cols: [&[u16]; 4], kind: HalfKind) -> [f32; 4] {
    use std::arch::x86_64::*;
    // Eight 16-bit weights widened to f32 lanes.
    let widen = |p: *const u16| -> __m256 {
        let h = _mm_loadu_si128(p as *const __m128i);
        match kind {
            HalfKind::F16 => _mm256_cvtph_ps(h),
            HalfKind::Bf16 => _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)),
        }
    };
    super::gemm::dot4_lanes(x, cols, widen, |b| kind.decode(b))
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn dot4_neon(x: &[f32], cols: [&[u16]; 4], kind: HalfKind) -> [f32; 4] {
    use std::arch::aarch64::*;
    // Four 16-bit weights widened to f32 lanes: FCVTL for f16, a widening shift for bf16.
    let widen = |p: *const u16| -> float32x4_t {
        let h = vld1_u16(p);
        match kind {
            HalfKind::F16 => {
                // FCVTL by `asm!`: its intrinsic, `vcvt_f32_f16`, is stable only from Rust 1.94
                // (the crate builds with 1.80).
                let wide: float32x4_t;
                std::arch::asm!("fcvtl {wide:v}.4s, {h:v}.4h", h = in(vreg) h, wide = lateout(vreg) wide, options(pure, nomem, nostack, preserves_flags));
                wide
            }
            HalfKind::Bf16 => vreinterpretq_f32_u32(vshll_n_u16::<16>(h)),
        }
    };
    super::gemm::dot4_lanes(x, cols, widen, |b| kind.decode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_with_16_bit_weights_equal_f32_products_with_the_rounded_weights() {
        for kind in [HalfKind::Bf16, HalfKind::F16] {
            for (m, k, n) in [(1, 1024, 1030), (3, 37, 70), (2, 5, 9), (1, 24, 1024)] {
                let x: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
                let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos() * 0.3).collect();
                let half = HalfMatrix::encode(kind, &w);
                let rounded: Vec<f32> = half.bits.iter().map(|&b| kind.decode(b)).collect();
                let mut c = vec![1.0; m * n];
                linear_rows(&x, m, k, &half, n, &mut c, true);
                for i in 0..m {
                    for j in 0..n {
                        let want: f32 = (0..k).map(|p| x[i * k + p] * rounded[j * k + p]).sum();
                        let got = c[i * n + j] - 1.0;
                        assert!((got - want).abs() < 1e-4 * (1.0 + want.abs()) * (k as f32).sqrt(), "{kind:?} {m}x{k}x{n} [{i},{j}]: {got} vs {want}");
                    }
                }
                // Inline (one thread) gives the same values.
                let mut c1 = vec![0.0; m * n];
                super::super::inline::run(|| linear_rows(&x, m, k, &half, n, &mut c1, false));
                assert!(c1.iter().zip(&c).all(|(a, b)| (a - (b - 1.0)).abs() <= 1e-4 * (1.0 + a.abs())));
            }
        }
    }

    use crate::kernels::simd::{same, scalar, ODD_LENGTHS};

    #[test]
    fn every_16_bit_pattern_widens_as_the_scalar_decode_on_every_path() {
        // Subnormals, infinities and NaNs included: each pattern sits alone in a column of
        // zeros (at every position, vector part and tail), multiplied by ones.
        const K: usize = 17;
        let x = [1.0f32; K];
        for kind in [HalfKind::Bf16, HalfKind::F16] {
            for first in (0..=u16::MAX).step_by(4) {
                let mut cols = [[0u16; K]; 4];
                for q in 0..4 {
                    let b = first + q as u16;
                    cols[q][b as usize % K] = b;
                }
                let cols: [&[u16]; 4] = std::array::from_fn(|q| &cols[q][..]);
                for got in [dot4(&x, cols, kind), scalar(|| dot4(&x, cols, kind))] {
                    for (q, g) in got.into_iter().enumerate() {
                        let want = kind.decode(first + q as u16);
                        assert!(same(g, want), "{kind:?} {:#06x}: {g:e} vs {want:e}", first + q as u16);
                    }
                }
            }
        }
    }

    #[test]
    fn dot4_agrees_with_its_scalar_path_on_odd_lengths_unaligned_slices_and_special_values() {
        for kind in [HalfKind::Bf16, HalfKind::F16] {
            let (inf, nan, tiny) = (kind.encode(f32::INFINITY), kind.encode(f32::NAN), 1u16); // 1: the smallest subnormal
            for k in ODD_LENGTHS {
                for offset in 0..4 {
                    // Exact in both formats, with exact partial sums: every path gives the same bits.
                    let x: Vec<f32> = (0..k + offset).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.25).collect();
                    let w: Vec<u16> = (0..4 * (k + 3)).map(|i| kind.encode(((i * 5 % 13) as f32 - 6.0) * 0.5)).collect();
                    let x = &x[offset..];
                    // An odd offset into u16s: no column starts on a 4-byte boundary.
                    let cols: [&[u16]; 4] = std::array::from_fn(|q| &w[offset + q * (k + 1) + q..][..k]);
                    let exact: [f32; 4] = std::array::from_fn(|q| x.iter().zip(cols[q]).map(|(a, &b)| (a * kind.decode(b)) as f64).sum::<f64>() as f32);
                    let (fast, plain) = (dot4(x, cols, kind), scalar(|| dot4(x, cols, kind)));
                    assert!((0..4).all(|q| same(fast[q], exact[q]) && same(plain[q], exact[q])), "{kind:?} k {k} offset {offset}: {fast:?} / {plain:?} vs {exact:?}");
                    if k == 0 {
                        continue;
                    }
                    // Subnormal weights among normal ones: within rounding of the f64 sum.
                    let mut w = w.clone();
                    w.iter_mut().step_by(3).for_each(|b| *b = tiny);
                    let cols: [&[u16]; 4] = std::array::from_fn(|q| &w[offset + q * (k + 1) + q..][..k]);
                    for got in [dot4(x, cols, kind), scalar(|| dot4(x, cols, kind))] {
                        for q in 0..4 {
                            let terms = x.iter().zip(cols[q]).map(|(&a, &b)| a as f64 * kind.decode(b) as f64);
                            let (want, size) = terms.fold((0.0, 0.0), |(s, m), t| (s + t, m + t.abs()));
                            assert!((got[q] as f64 - want).abs() <= k as f64 * f32::EPSILON as f64 * size, "{kind:?} k {k}: {} vs {want}", got[q]);
                        }
                    }
                    // An infinite weight (at the first position, in the vector part from k 8 or
                    // 16 on, and at the last, in the tail) makes an infinite product; a NaN, NaN.
                    let x = vec![0.5f32; k];
                    for at in [0, k - 1] {
                        let mut w = vec![kind.encode(0.25); 4 * k];
                        w[at] = inf;
                        w[k + at] = nan;
                        let cols: [&[u16]; 4] = std::array::from_fn(|q| &w[q * k..][..k]);
                        for got in [dot4(&x, cols, kind), scalar(|| dot4(&x, cols, kind))] {
                            assert!(got[0] == f32::INFINITY && got[1].is_nan() && same(got[2], 0.125 * k as f32), "{kind:?} k {k} at {at}: {got:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn encoding_rounds_to_nearest() {
        assert_eq!(HalfKind::Bf16.decode(HalfKind::Bf16.encode(1.0 + 1.0 / 512.0)), 1.0);
        assert_eq!(HalfKind::F16.decode(HalfKind::F16.encode(0.1)), half::f16::from_f32(0.1).to_f32());
        assert!(HalfKind::F16.decode(HalfKind::F16.encode(1e6)).is_infinite(), "beyond f16's range");
        assert_eq!(HalfKind::Bf16.decode(HalfKind::Bf16.encode(1e30)), half::bf16::from_f32(1e30).to_f32());
    }
}

//! Vectorized `exp`, `sigmoid` and `tanh` over slices.
//!
//! libm's `tanhf` and `expf` are scalar calls: in the LSTM's gate arithmetic they took more time
//! than its GEMMs. These are branch-free (Cephes' `expf` polynomial, ~1 ulp on its own; sigmoid
//! and tanh built on it stay within ~2e-7 absolute of libm), so the compiler vectorizes the slice
//! loops; on x86-64 with AVX-512 or AVX2 and FMA, picked at run time, they run sixteen or eight
//! lanes at a time, on aarch64 four (NEON).

use super::simd::vectorized;

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;

/// `e^x`, clamped to the finite f32 range (exp of anything above 88 saturates at `e^88`).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    // 2^n from the bits of n + 127 + 1.5·2²³, whose low mantissa bits hold n + 127 (1..254 after
    // the clamp). The same value as `(n as i32 + 127) << 23`, but that saturating cast is
    // compiled lane by lane (vcvttss2si, two compares, two cmovs, an insert per lane).
    y * f32::from_bits((n + (127.0 + 12_582_912.0)).to_bits() << 23)
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x) = 1 - 2 / (1 + e^{2x})`, exact at both saturations.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp(2.0 * x))
}

/// `x ← sigmoid(x)` over a slice.
pub fn sigmoid_in_place(xs: &mut [f32]) {
    vectorized(|| xs.iter_mut().for_each(|x| *x = sigmoid(*x)))
}

/// `x ← tanh(x)` over a slice.
pub fn tanh_in_place(xs: &mut [f32]) {
    vectorized(|| xs.iter_mut().for_each(|x| *x = tanh(*x)))
}

/// `out[i] = f(xs[i])`, vectorized for a branch-free `f`.
pub fn map(xs: &[f32], out: &mut [f32], f: impl Fn(f32) -> f32 + Copy) {
    // `inline(always)`: see `vectorized` (without it, several maps ran their baseline build only).
    vectorized(#[inline(always)] || out.iter_mut().zip(xs).for_each(|(o, x)| *o = f(*x)))
}

/// `out[i] = f(a[i], b[i], c[i])`, vectorized for a branch-free `f`.
pub fn map3(a: &[f32], b: &[f32], c: &[f32], out: &mut [f32], f: impl Fn(f32, f32, f32) -> f32 + Copy) {
    vectorized(#[inline(always)] || out.iter_mut().zip(a.iter().zip(b).zip(c)).for_each(|(o, ((a, b), c))| *o = f(*a, *b, *c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::simd::{avx2, same, scalar, ODD_LENGTHS};

    #[test]
    fn vectorized_loops_give_the_bits_of_the_scalar_functions_at_odd_lengths_and_offsets() {
        // Element-wise loops reassociate nothing, so every vector width gives the same bits.
        let values: Vec<f32> = (0..1003).map(|i| (i as f32 * 0.731).sin() * 30.0).chain([f32::INFINITY, f32::NEG_INFINITY, -0.0, 1e-40, 90.0, -90.0]).collect();
        for n in ODD_LENGTHS {
            for offset in 0..4 {
                let xs = &values[values.len() - n - offset..values.len() - offset];
                let (b, c) = (&values[offset..][..n], &values[2 * offset..][..n]);
                let f = |x: f32| exp(x) * 0.5 - x;
                let g = |x: f32, y: f32, z: f32| sigmoid(x) * tanh(y) + z;
                let run = || {
                    let (mut s, mut t, mut m, mut m3) = (xs.to_vec(), xs.to_vec(), vec![0.0; n], vec![0.0; n]);
                    sigmoid_in_place(&mut s);
                    tanh_in_place(&mut t);
                    map(xs, &mut m, f);
                    map3(xs, b, c, &mut m3, g);
                    [s, t, m, m3]
                };
                // Whatever this CPU picks (AVX-512 here), AVX2, and the baseline build.
                for [s, t, m, m3] in [run(), avx2(run), scalar(run)] {
                    for i in 0..n {
                        let x = xs[i];
                        assert!(same(s[i], sigmoid(x)) && same(t[i], tanh(x)) && same(m[i], f(x)) && same(m3[i], g(x, b[i], c[i])), "n {n} offset {offset} x {x}");
                    }
                }
            }
        }
    }

    /// The exponent built from float bits is the integer cast's, at every `n` the clamp allows.
    #[test]
    fn exp_gives_the_bits_of_the_integer_cast_exponent() {
        let cast = |x: f32| {
            let x = x.clamp(-87.3, 88.0);
            let n = (x * LOG2E + 0.5).floor();
            (n, f32::from_bits(((n as i32 + 127) as u32) << 23))
        };
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-4;
            let (n, scale) = cast(x);
            assert_eq!(f32::from_bits((n + (127.0 + 12_582_912.0)).to_bits() << 23).to_bits(), scale.to_bits(), "x {x}");
        }
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(f32::NEG_INFINITY), exp(-87.3));
        assert_eq!(exp(f32::INFINITY), exp(88.0));
    }

    #[test]
    fn close_to_libm_across_the_range_including_saturation() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.025).chain([-1e4, -90.0, 90.0, 1e4, 0.0, 1e-6]).collect();
        for &x in &xs {
            let e = x.exp();
            if (-87.0..=88.0).contains(&x) {
                assert!((exp(x) - e).abs() <= 3e-7 * e, "exp({x}) = {} vs {e}", exp(x));
            }
        }
        let (mut s, mut t) = (xs.clone(), xs.clone());
        sigmoid_in_place(&mut s);
        tanh_in_place(&mut t);
        for (k, &x) in xs.iter().enumerate() {
            assert!((s[k] - 1.0 / (1.0 + (-x).exp())).abs() < 2e-7, "sigmoid({x}) = {}", s[k]);
            assert!((t[k] - x.tanh()).abs() < 3e-7, "tanh({x}) = {} vs {}", t[k], x.tanh());
            assert!(s[k].is_finite() && t[k].is_finite());
        }
    }
}

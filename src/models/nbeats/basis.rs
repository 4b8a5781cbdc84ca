//! N-BEATS' fixed bases (NeuralForecast's `TrendBasis`, `SeasonalityBasis` and `get_basis`):
//! each a `[P, T]` matrix of P functions over T steps that a block's θ coefficients weight.
//!
//! They are constants of the architecture, computed once per model in f64 as NeuralForecast
//! computes them with numpy/scipy and rounded to f32 at the end, so that our bases equal theirs.

use crate::error::{Error, Result};

/// The trend bases NeuralForecast's `basis` option accepts.
pub const TREND_BASES: [&str; 7] = ["polynomial", "legendre", "chebyshev", "changepoint", "piecewise_linear", "linear_hat", "spline"];

/// A trend basis family (in the order of [`TREND_BASES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trend {
    Polynomial,
    Legendre,
    Chebyshev,
    Changepoint,
    PiecewiseLinear,
    LinearHat,
    /// Clamped cubic B-splines on evenly spaced knots (scipy's `BSpline`).
    Spline,
}

impl Trend {
    /// Parses NeuralForecast's `basis` name and checks `n_basis` against it, as its generators
    /// would fail for it (spline needs 4 functions; the linear hats divide by `n_basis`).
    pub fn parse(name: &str, n_basis: usize, model: &str) -> Result<Trend> {
        let trend = match name {
            "polynomial" => Trend::Polynomial,
            "legendre" => Trend::Legendre,
            "chebyshev" => Trend::Chebyshev,
            "changepoint" => Trend::Changepoint,
            "piecewise_linear" => Trend::PiecewiseLinear,
            "linear_hat" => Trend::LinearHat,
            "spline" => Trend::Spline,
            _ => return Err(Error::range(format!("{model} option 'basis' must be one of {}, got '{name}'", TREND_BASES.join(", ")))),
        };
        if trend == Trend::Spline && n_basis < 3 {
            return Err(Error::range(format!("{model} option 'nBasis' must be >= 3 for the spline basis (4 or more functions), got {n_basis}")));
        }
        if trend == Trend::LinearHat && n_basis < 1 {
            return Err(Error::range(format!("{model} option 'nBasis' must be >= 1 for the linear_hat basis, got {n_basis}")));
        }
        Ok(trend)
    }

    /// NeuralForecast's name for the family.
    pub fn name(self) -> &'static str {
        TREND_BASES[self as usize]
    }

    /// `n` functions over `length` steps, `[n, length]` row-major (NeuralForecast's
    /// `get_basis(length, n_basis, basis).T` with `n = n_basis + 1`).
    pub fn matrix(self, length: usize, n: usize) -> Vec<f64> {
        let mut m = vec![0.0; n * length];
        let mut set = |i: usize, t: usize, v: f64| m[i * length + t] = v;
        match self {
            Trend::Polynomial => {
                for i in 0..n {
                    for t in 0..length {
                        set(i, t, (t as f64 / length as f64).powi(i as i32));
                    }
                }
            }
            Trend::Legendre | Trend::Chebyshev => {
                // Three-term recurrences on [-1, 1]: Bonnet's for Legendre, T_{i+1} = 2x·T_i − T_{i−1}.
                for (t, x) in linspace(-1.0, 1.0, length).into_iter().enumerate() {
                    let (mut prev, mut cur) = (1.0, x);
                    for i in 0..n {
                        let v = if i == 0 { 1.0 } else { cur };
                        set(i, t, v);
                        if i >= 1 {
                            let k = i as f64;
                            let next = if self == Trend::Legendre { ((2.0 * k + 1.0) * x * cur - k * prev) / (k + 1.0) } else { 2.0 * x * cur - prev };
                            (prev, cur) = (cur, next);
                        }
                    }
                }
            }
            Trend::Changepoint => {
                let at = linspace(0.0, 1.0, n + 1);
                for (t, x) in linspace(0.0, 1.0, length).into_iter().enumerate() {
                    for i in 0..n {
                        set(i, t, (x - at[i + 1]).max(0.0));
                    }
                }
            }
            Trend::PiecewiseLinear => {
                // As NeuralForecast: the first function stays zero.
                let k = linspace(0.0, 1.0, n + 1);
                for (t, x) in linspace(0.0, 1.0, length).into_iter().enumerate() {
                    for i in 1..n {
                        let up = (x - k[i - 1]) / (k[i] - k[i - 1]);
                        let down = (k[i + 1] - x) / (k[i + 1] - k[i]);
                        set(i, t, up.min(down).max(0.0));
                    }
                }
            }
            Trend::LinearHat => {
                let centers = linspace(0.0, 1.0, n);
                let width = 1.0 / (n as f64 - 1.0);
                for (t, x) in linspace(0.0, 1.0, length).into_iter().enumerate() {
                    for (i, c) in centers.iter().enumerate() {
                        set(i, t, (1.0 - (x - c).abs() / width).max(0.0));
                    }
                }
            }
            Trend::Spline => {
                const K: usize = 3;
                let mut knots = vec![0.0; K];
                knots.extend(linspace(0.0, 1.0, n - 2));
                knots.extend([1.0; K]);
                for (t, x) in linspace(0.0, 1.0, length).into_iter().enumerate() {
                    let (first, values) = bspline_nonzero(&knots, K, x);
                    for (j, v) in values.into_iter().enumerate() {
                        set(first + j, t, v);
                    }
                }
            }
        }
        m
    }
}

/// numpy's `linspace(start, stop, num)`: `start + i·step`, with the last point exactly `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// The `k + 1` B-splines of degree `k` that are non-zero at `x`, with the index of the first:
/// scipy's interval search (the last interval is closed, so `x = t_end` gives the last spline 1)
/// followed by the de Boor–Cox triangle in scipy's order of operations.
fn bspline_nonzero(t: &[f64], k: usize, x: f64) -> (usize, Vec<f64>) {
    let n = t.len() - k - 1;
    let mut ell = k;
    while ell + 1 < n && x >= t[ell + 1] {
        ell += 1;
    }
    let mut h = vec![0.0; k + 1];
    h[0] = 1.0;
    for j in 1..=k {
        let hh = h[..j].to_vec();
        h[0] = 0.0;
        for i in 1..=j {
            let (xb, xa) = (t[ell + i], t[ell + i - j]);
            if xb == xa {
                h[i] = 0.0;
                continue;
            }
            let w = hh[i - 1] / (xb - xa);
            h[i - 1] += w * (xb - x);
            h[i] = w * (x - xa);
        }
    }
    (ell - k, h)
}

/// The seasonality templates: cosines then sines of the harmonic frequencies
/// `[0, 1, 1 + 1/H, …]` (below `H·h/2`, H = `harmonics`), over the horizon and, mirrored, over the
/// (newest-first) history. Returns (backcast `[2F, backcast]`, forecast `[2F, forecast]`, 2F).
pub fn seasonality(harmonics: usize, backcast: usize, forecast: usize) -> (Vec<f64>, Vec<f64>, usize) {
    let nh = harmonics as f64;
    // numpy's arange(H, H/2·h) / H: ceil(stop − start) values.
    let count = (nh / 2.0 * forecast as f64 - nh).ceil().max(0.0) as usize;
    let mut freq = vec![0.0];
    freq.extend((0..count).map(|i| (nh + i as f64) / nh));
    let template = |len: usize, sign: f64| {
        let mut m = vec![0.0; 2 * freq.len() * len];
        for (p, f) in freq.iter().enumerate() {
            for t in 0..len {
                let angle = sign * 2.0 * std::f64::consts::PI * (t as f64 / forecast as f64) * f;
                m[p * len + t] = angle.cos();
                m[(freq.len() + p) * len + t] = angle.sin();
            }
        }
        m
    };
    (template(backcast, -1.0), template(forecast, 1.0), 2 * freq.len())
}

/// The number of seasonality functions NeuralForecast sizes θ with (`n_theta / (outputs + 1)`).
pub fn seasonality_size(harmonics: usize, forecast: usize) -> usize {
    let nh = harmonics as f64;
    2 * ((nh / 2.0 * forecast as f64).ceil() - (nh - 1.0)).max(1.0) as usize
}

/// Rounds an f64 basis to the f32 the engine computes with.
pub fn to_f32(m: &[f64]) -> Vec<f32> {
    m.iter().map(|&v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(ours: &[f64], theirs: &[f64], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: length");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            assert!((a - b).abs() <= 1e-12, "{what}[{i}]: ours {a}, scipy/numpy {b}");
        }
    }

    /// `get_basis(length, n_basis + 1, basis).T` from NeuralForecast 3.3.0's nbeats.py, run with
    /// numpy 2.4.6 and scipy 1.17.1 (`/work/nfenv`), printed with repr().
    #[rustfmt::skip]
    const TREND: &[(&str, usize, usize, &[f64])] = &[
        ("polynomial", 7, 3, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.14285714285714285, 0.2857142857142857, 0.42857142857142855, 0.5714285714285714, 0.7142857142857143, 0.8571428571428571, 0.0, 0.02040816326530612, 0.08163265306122448, 0.18367346938775508, 0.32653061224489793, 0.5102040816326531, 0.7346938775510203, 0.0, 0.0029154518950437313, 0.02332361516034985, 0.07871720116618075, 0.1865889212827988, 0.3644314868804665, 0.629737609329446]),
        ("polynomial", 5, 4, &[1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.2, 0.4, 0.6, 0.8, 0.0, 0.04000000000000001, 0.16000000000000003, 0.36, 0.6400000000000001, 0.0, 0.008000000000000002, 0.06400000000000002, 0.21599999999999997, 0.5120000000000001, 0.0, 0.0016000000000000003, 0.025600000000000005, 0.1296, 0.4096000000000001]),
        ("legendre", 7, 3, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -0.6666666666666667, -0.33333333333333337, 0.0, 0.33333333333333326, 0.6666666666666665, 1.0, 1.0, 0.16666666666666674, -0.3333333333333333, -0.5, -0.33333333333333337, 0.1666666666666664, 1.0, -1.0, 0.259259259259259, 0.40740740740740744, 0.0, -0.40740740740740733, -0.25925925925925947, 1.0]),
        ("legendre", 5, 4, &[1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0, -0.125, -0.5, -0.125, 1.0, -1.0, 0.4375, 0.0, -0.4375, 1.0, 1.0000000000000004, -0.2890625, 0.375, -0.2890625, 1.0000000000000004]),
        ("chebyshev", 7, 3, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -0.6666666666666667, -0.33333333333333337, 0.0, 0.33333333333333326, 0.6666666666666665, 1.0, 1.0, -0.11111111111111094, -0.7777777777777777, -1.0, -0.7777777777777779, -0.1111111111111115, 1.0, -1.0, 0.8148148148148147, 0.8518518518518519, 0.0, -0.8518518518518517, -0.8148148148148151, 1.0]),
        ("chebyshev", 5, 4, &[1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0, -0.5, -1.0, -0.5, 1.0, -1.0, 1.0, 0.0, -1.0, 1.0, 1.0, -0.5, 1.0, -0.5, 1.0]),
        ("changepoint", 7, 3, &[0.0, 0.0, 0.08333333333333331, 0.25, 0.41666666666666663, 0.5833333333333333, 0.75, 0.0, 0.0, 0.0, 0.0, 0.16666666666666663, 0.33333333333333326, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.08333333333333326, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        ("changepoint", 5, 4, &[0.0, 0.04999999999999999, 0.3, 0.55, 0.8, 0.0, 0.0, 0.09999999999999998, 0.35, 0.6, 0.0, 0.0, 0.0, 0.1499999999999999, 0.3999999999999999, 0.0, 0.0, 0.0, 0.0, 0.19999999999999996, 0.0, 0.0, 0.0, 0.0, 0.0]),
        ("piecewise_linear", 7, 3, &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6666666666666666, 0.6666666666666667, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.33333333333333326, 1.0, 0.3333333333333335, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6666666666666665, 0.666666666666667, 0.0]),
        ("piecewise_linear", 5, 4, &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7500000000000001, 0.0, 0.0, 0.0, 0.0, 0.24999999999999994, 0.5000000000000002, 0.0, 0.0, 0.0, 0.0, 0.4999999999999997, 0.2500000000000003, 0.0, 0.0, 0.0, 0.0, 0.7499999999999997, 0.0]),
        ("linear_hat", 7, 3, &[1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 0.4999999999999999, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5000000000000001, 1.0, 0.5000000000000001, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4999999999999998, 1.0]),
        ("linear_hat", 5, 4, &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
        ("spline", 7, 3, &[1.0, 0.5787037037037038, 0.2962962962962964, 0.125, 0.03703703703703705, 0.004629629629629636, 0.0, 0.0, 0.34722222222222227, 0.44444444444444453, 0.375, 0.22222222222222227, 0.0694444444444445, 0.0, 0.0, 0.06944444444444445, 0.2222222222222222, 0.375, 0.4444444444444444, 0.3472222222222223, 0.0, 0.0, 0.004629629629629629, 0.037037037037037035, 0.125, 0.2962962962962963, 0.5787037037037035, 1.0]),
        ("spline", 5, 4, &[1.0, 0.125, 0.0, 0.0, 0.0, 0.0, 0.59375, 0.25, 0.03125, 0.0, 0.0, 0.25, 0.5, 0.25, 0.0, 0.0, 0.03125, 0.25, 0.59375, 0.0, 0.0, 0.0, 0.0, 0.125, 1.0]),
        ("spline", 11, 6, &[1.0, 0.216, 0.007999999999999995, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5920000000000001, 0.4159999999999999, 0.12799999999999992, 0.01599999999999999, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.18133333333333335, 0.4906666666666667, 0.588, 0.4093333333333333, 0.16666666666666666, 0.03599999999999994, 0.001333333333333328, 0.0, 0.0, 0.0, 0.0, 0.01066666666666667, 0.08533333333333336, 0.28266666666666684, 0.5386666666666667, 0.6666666666666666, 0.5386666666666665, 0.2826666666666665, 0.08533333333333327, 0.01066666666666666, 0.0, 0.0, 0.0, 0.0, 0.0013333333333333368, 0.03600000000000002, 0.16666666666666666, 0.4093333333333336, 0.5880000000000001, 0.4906666666666666, 0.18133333333333326, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.016000000000000042, 0.12800000000000014, 0.41600000000000015, 0.592, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.008000000000000021, 0.21600000000000008, 1.0]),
    ];

    #[test]
    fn trend_bases_match_numpy_and_scipy() {
        for &(name, length, n_basis, want) in TREND {
            let trend = Trend::parse(name, n_basis, "NBEATS").unwrap();
            close(&trend.matrix(length, n_basis + 1), want, &format!("{name} length {length} nBasis {n_basis}"));
        }
    }

    /// NeuralForecast's SeasonalityBasis templates (harmonics, backcast, forecast, 2F, backcast
    /// `[2F, L]`, forecast `[2F, h]`), computed with numpy as it does.
    #[rustfmt::skip]
    const SEASONALITY: &[(usize, usize, usize, usize, &[f64], &[f64])] = &[
        (2, 5, 4, 6, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 6.123233995736766e-17, -1.0, -1.8369701987210297e-16, 1.0, 1.0, -0.7071067811865475, -1.8369701987210297e-16, 0.7071067811865477, -1.0, -0.0, -0.0, -0.0, -0.0, -0.0, -0.0, -1.0, -1.2246467991473532e-16, 1.0, 2.4492935982947064e-16, -0.0, -0.7071067811865476, 1.0, -0.7071067811865474, -3.6739403974420594e-16], &[1.0, 1.0, 1.0, 1.0, 1.0, 6.123233995736766e-17, -1.0, -1.8369701987210297e-16, 1.0, -0.7071067811865475, -1.8369701987210297e-16, 0.7071067811865477, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.2246467991473532e-16, -1.0, 0.0, 0.7071067811865476, -1.0, 0.7071067811865474]),
        (3, 4, 3, 6, &[1.0, 1.0, 1.0, 1.0, 1.0, -0.4999999999999998, -0.5000000000000004, 1.0, 1.0, -0.9396926207859082, 0.7660444431189772, -0.4999999999999992, -0.0, -0.0, -0.0, -0.0, -0.0, -0.8660254037844387, 0.8660254037844384, 2.4492935982947064e-16, -0.0, -0.3420201433256693, 0.6427876096865403, -0.8660254037844392], &[1.0, 1.0, 1.0, 1.0, -0.4999999999999998, -0.5000000000000004, 1.0, -0.9396926207859082, 0.7660444431189772, 0.0, 0.0, 0.0, 0.0, 0.8660254037844387, -0.8660254037844384, 0.0, 0.3420201433256693, -0.6427876096865403]),
    ];

    #[test]
    fn seasonality_templates_match_numpy() {
        for &(nh, l, h, p, back, fore) in SEASONALITY {
            let (b, f, size) = seasonality(nh, l, h);
            assert_eq!(size, p);
            assert_eq!(seasonality_size(nh, h), p);
            close(&b, back, "backcast");
            close(&f, fore, "forecast");
        }
        // NeuralForecast's default: 2 harmonics at h 12 → 22 functions.
        assert_eq!(seasonality(2, 24, 12).2, 22);
        assert_eq!(seasonality_size(2, 12), 22);
    }

    #[test]
    fn basis_errors_name_the_option() {
        let e = Trend::parse("spline", 2, "NBEATS").unwrap_err();
        assert!(e.kind == crate::ErrorKind::Range && e.message.contains("'nBasis'"), "{e}");
        let e = Trend::parse("fourier", 2, "NBEATS").unwrap_err();
        assert!(e.kind == crate::ErrorKind::Range && e.message.contains("'basis'"), "{e}");
        assert!(Trend::parse("linear_hat", 0, "NBEATS").is_err());
        assert!(Trend::parse("spline", 3, "NBEATS").is_ok());
    }
}

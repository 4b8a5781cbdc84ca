//! NeuralForecast's window scalers (TemporalNorm): statistics from the available insample part of
//! each window, applied to the whole window, inverted exactly on forecasts.

use crate::error::{Error, Result};

/// Which statistics scale a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalerType {
    Identity,
    /// (x - mean) / std
    Standard,
    /// (x - median) / MAD, with std·0.6745 standing in for a zero MAD.
    Robust,
    /// (x - min) / (max - min), onto [0, 1].
    MinMax,
    /// onto [-1, 1].
    MinMax1,
    /// asinh of the robust-scaled values.
    Invariant,
    /// Standard statistics; the model adds a learnable affine map (RevIN), see `models::revin`.
    Revin,
}

/// NeuralForecast's guard added to every scale.
const EPS: f32 = 1e-6;
/// MAD of a normal distribution per unit standard deviation.
const MAD_PER_STD: f32 = 0.674_489_75;

impl ScalerType {
    pub fn parse(name: &str) -> Result<ScalerType> {
        Ok(match name {
            "identity" => ScalerType::Identity,
            "standard" => ScalerType::Standard,
            "robust" => ScalerType::Robust,
            "minmax" => ScalerType::MinMax,
            "minmax1" => ScalerType::MinMax1,
            "invariant" => ScalerType::Invariant,
            "revin" => ScalerType::Revin,
            _ => {
                return Err(Error::range(format!(
                    "scalerType '{name}' is not supported; use one of 'identity', 'standard', 'robust', 'minmax', 'minmax1', 'invariant', 'revin'"
                )))
            }
        })
    }

    /// (shift, scale) of `x` over the positions where `mask` is 1.
    pub fn stats(self, x: &[f32], mask: &[f32]) -> (f32, f32) {
        let avail: Vec<f32> = x.iter().zip(mask).filter(|(_, m)| **m > 0.0).map(|(v, _)| *v).collect();
        let mean_std = || {
            if avail.is_empty() {
                return (0.0, 0.0);
            }
            let n = avail.len() as f64;
            let mean = avail.iter().map(|v| *v as f64).sum::<f64>() / n;
            let var = avail.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / n;
            (mean as f32, var.sqrt() as f32)
        };
        let guard = |s: f32| if s == 0.0 { 1.0 + EPS } else { s + EPS };
        match self {
            ScalerType::Identity => (0.0, 1.0),
            ScalerType::Standard | ScalerType::Revin => {
                let (mean, std) = mean_std();
                (mean, guard(std))
            }
            ScalerType::Robust | ScalerType::Invariant => {
                let median = lower_median(&avail);
                let deviations: Vec<f32> = avail.iter().map(|v| (v - median).abs()).collect();
                let mut mad = lower_median(&deviations);
                if mad == 0.0 {
                    mad = mean_std().1 * MAD_PER_STD;
                }
                (median, guard(mad))
            }
            ScalerType::MinMax | ScalerType::MinMax1 => {
                if avail.is_empty() {
                    return (0.0, 1.0 + EPS);
                }
                let lo = avail.iter().copied().fold(f32::INFINITY, f32::min);
                let hi = avail.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (lo, guard(hi - lo))
            }
        }
    }

    pub fn apply(self, v: f32, shift: f32, scale: f32) -> f32 {
        match self {
            ScalerType::Identity => v,
            ScalerType::Standard | ScalerType::Robust | ScalerType::MinMax | ScalerType::Revin => (v - shift) / scale,
            ScalerType::MinMax1 => (v - shift) / scale * 2.0 - 1.0,
            ScalerType::Invariant => ((v - shift) / scale).asinh(),
        }
    }

    pub fn invert(self, z: f32, shift: f32, scale: f32) -> f32 {
        match self {
            ScalerType::Identity => z,
            ScalerType::Standard | ScalerType::Robust | ScalerType::MinMax | ScalerType::Revin => z * scale + shift,
            ScalerType::MinMax1 => (z + 1.0) / 2.0 * scale + shift,
            ScalerType::Invariant => z.sinh() * scale + shift,
        }
    }
}

/// The lower of the two middle values for an even count, as torch.nanmedian; 0 when empty.
fn lower_median(values: &[f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    // Selection, not a sort: the robust scaler takes two medians per window every step.
    let mut v = values.to_vec();
    let k = (v.len() - 1) / 2;
    *v.select_nth_unstable_by(k, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    const ALL: [ScalerType; 7] = [
        ScalerType::Revin,
        ScalerType::Identity,
        ScalerType::Standard,
        ScalerType::Robust,
        ScalerType::MinMax,
        ScalerType::MinMax1,
        ScalerType::Invariant,
    ];

    #[test]
    fn inverse_undoes_forward() {
        let mut rng = Rng::seed(7);
        for _ in 0..50 {
            let x: Vec<f32> = (0..20).map(|_| 100.0 + 30.0 * rng.normal()).collect();
            let mask: Vec<f32> = (0..20).map(|i| if i < 15 && rng.uniform(0.0, 1.0) < 0.8 { 1.0 } else { 0.0 }).collect();
            for s in ALL {
                let (shift, scale) = s.stats(&x, &mask);
                for &v in &x {
                    let back = s.invert(s.apply(v, shift, scale), shift, scale);
                    assert!((back - v).abs() <= 1e-4 * v.abs().max(1.0), "{s:?}: {v} -> {back}");
                }
            }
        }
    }

    #[test]
    fn statistics_match_neuralforecast_by_hand() {
        let x = [1.0, 2.0, 3.0, 10.0, 99.0];
        let m = [1.0, 1.0, 1.0, 1.0, 0.0];
        let (mean, std) = ScalerType::Standard.stats(&x, &m);
        assert_eq!(mean, 4.0);
        assert!((std - (12.5f32.sqrt() + 1e-6)).abs() < 1e-6);
        // Lower median of [1,2,3,10] is 2; deviations [1,0,1,8] → lower median 1.
        assert_eq!(ScalerType::Robust.stats(&x, &m), (2.0, 1.0 + 1e-6));
        assert_eq!(ScalerType::MinMax.stats(&x, &m), (1.0, 9.0 + 1e-6));
        // A constant window: zero spread is replaced by 1.
        assert_eq!(ScalerType::Standard.stats(&[5.0; 4], &[1.0; 4]), (5.0, 1.0 + 1e-6));
        assert_eq!(ScalerType::Robust.stats(&[5.0; 4], &[1.0; 4]), (5.0, 1.0 + 1e-6));
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let e = ScalerType::parse("zscore").unwrap_err();
        assert!(e.message.contains("scalerType") && e.message.contains("robust"));
    }
}

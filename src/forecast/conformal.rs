//! Conformal prediction intervals, as NeuralForecast's `PredictionIntervals`: `fit` runs a
//! cross-validation of `n_windows` windows and keeps each point model's absolute errors (its
//! conformity scores); `predict(level)` turns them into intervals around the point forecast
//! (`add_conformal_distribution_intervals` / `add_conformal_error_intervals` in NeuralForecast's
//! utils.py).

use super::core::{copy_model, NeuralForecast};
use super::inputs::{config_name, Statics};
use super::{Control, CvOptions, FitOptions};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::models::Model;

/// How scores become intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalMethod {
    /// Quantiles of the forecast ± every score (`conformal_distribution`, NeuralForecast's default).
    Distribution,
    /// The forecast ± a quantile of the scores (`conformal_error`).
    Error,
}

impl IntervalMethod {
    pub const NAMES: [&'static str; 2] = ["conformal_distribution", "conformal_error"];

    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "conformal_distribution" => Ok(IntervalMethod::Distribution),
            "conformal_error" => Ok(IntervalMethod::Error),
            other => Err(Error::range(format!("fit option 'predictionIntervals.method' must be one of {}, got '{other}'", Self::NAMES.join(", ")))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IntervalMethod::Distribution => "conformal_distribution",
            IntervalMethod::Error => "conformal_error",
        }
    }
}

/// The `predictionIntervals` fit option (NeuralForecast's `PredictionIntervals`).
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionIntervals {
    /// Cross-validation windows whose errors are the scores (at least 2).
    pub n_windows: usize,
    /// Distance between their cutoffs.
    pub step_size: usize,
    pub method: IntervalMethod,
}

impl Default for PredictionIntervals {
    fn default() -> Self {
        PredictionIntervals { n_windows: 2, step_size: 1, method: IntervalMethod::Distribution }
    }
}

impl PredictionIntervals {
    /// NeuralForecast's checks in `PredictionIntervals.__init__`.
    pub fn check(&self) -> Result<()> {
        if self.n_windows < 2 {
            return Err(Error::range(format!("fit option 'predictionIntervals.nWindows' must be at least 2 to compute conformal intervals, got {}", self.n_windows)));
        }
        if self.step_size < 1 {
            return Err(Error::range("fit option 'predictionIntervals.stepSize' must be at least 1"));
        }
        Ok(())
    }
}

/// What `fit` kept for `predict(level)`: the scores of every point model, per series.
#[derive(Clone, Debug, PartialEq)]
pub struct Conformal {
    pub spec: PredictionIntervals,
    /// The series the scores belong to, in the fitted data's order.
    pub series: Vec<String>,
    pub h: usize,
    /// One entry per model: `[series, window, h]` absolute errors for a point model, `None` for a
    /// model whose loss gives quantiles of its own.
    pub scores: Vec<Option<Vec<f32>>>,
}

impl Conformal {
    /// The scores of model `m` for the series `ids` (in that order), `[series, window, h]`.
    pub fn scores_for(&self, m: usize, ids: &[&str]) -> Result<Option<Vec<f32>>> {
        let Some(all) = &self.scores[m] else { return Ok(None) };
        let per = self.spec.n_windows * self.h;
        let mut out = Vec::with_capacity(ids.len() * per);
        for id in ids {
            let i = self.series.iter().position(|s| s == id).ok_or_else(|| {
                Error::value(format!("predict option 'level': series '{id}' was not in the data fit computed the conformity scores on, so it has no intervals; predict without 'level', or fit on it"))
            })?;
            out.extend_from_slice(&all[i * per..(i + 1) * per]);
        }
        Ok(Some(out))
    }
}

impl NeuralForecast {
    /// NeuralForecast's `_conformity_scores`: a cross-validation of `pi.n_windows` windows (no
    /// refit) of copies of the point models in `start`, and each one's absolute errors.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn conformity_scores(&self, start: &[Box<dyn Model>], data: &Dataset, statics: &Statics, pi: &PredictionIntervals, fit: &FitOptions, ctl: &Control) -> Result<Conformal> {
        pi.check()?;
        if !start.iter().enumerate().any(|(i, _)| self.is_point(i)) {
            return Err(Error::type_err(
                "fit option 'predictionIntervals': no model has a point loss (MAE, MSE, ...); conformal intervals are for point forecasts, and MQLoss or DistributionLoss models give their own quantiles (set their 'level')",
            ));
        }
        let scores = start.iter().enumerate().map(|(i, m)| if self.is_point(i) { self.model_scores(i, m.as_ref(), data, statics, pi, fit, ctl).map(Some) } else { Ok(None) }).collect::<Result<_>>()?;
        Ok(Conformal { spec: pi.clone(), series: data.series.iter().map(|s| s.id.clone()).collect(), h: self.h(), scores })
    }

    /// Whether model `i` has a point loss, the kind conformal intervals are for.
    pub(super) fn is_point(&self, i: usize) -> bool {
        self.configs[i].common().loss().columns() == 1
    }

    /// The conformity scores `[series, window, h]` of model `index` (`model` its weights to start
    /// from, left as they are): a copy cross-validated over `data`, and its absolute errors.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn model_scores(&self, index: usize, model: &dyn Model, data: &Dataset, statics: &Statics, pi: &PredictionIntervals, fit: &FitOptions, ctl: &Control) -> Result<Vec<f32>> {
        let val_size = fit.val_size;
        let h = self.h();
        let need = h + pi.step_size * (pi.n_windows - 1) + 1 + val_size;
        if let Some(s) = data.series.iter().find(|s| s.len() < need) {
            return Err(Error::range(format!(
                "fit option 'predictionIntervals': series '{}' has {} points, fewer than the {need} that {} windows of h={h} every {} steps{} need; use fewer windows or a smaller h, or drop the series",
                s.id,
                s.len(),
                pi.n_windows,
                pi.step_size,
                if val_size > 0 { format!(" plus valSize {val_size}") } else { String::new() }
            )));
        }
        let cv = CvOptions { n_windows: pi.n_windows, step_size: Some(pi.step_size), val_size, verbose: fit.verbose, max_steps: fit.max_steps, ..Default::default() };
        let (out, _) = self.run_cv(vec![(index, copy_model(self.configs[index].as_ref(), model))], data, statics, &cv, ctl)?;
        let truth = out.column("y").expect("cross-validation has y");
        let forecast = out.column(&config_name(self.configs[index].as_ref())).expect("the model's column");
        Ok(forecast.iter().zip(truth).map(|(f, y)| (f - y).abs() as f32).collect())
    }

    /// The scores of point model `m` (named `name`) for the series `ids`, or NeuralForecast's
    /// error when it was fitted without them.
    pub(super) fn point_scores(&self, m: usize, name: &str, ids: &[&str]) -> Result<Vec<f32>> {
        let found = match &self.conformal {
            Some(c) => c.scores_for(m, ids)?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::type_err(format!(
                "predict option 'level': {name} was trained with a point loss ({}), which gives no intervals of its own: fit with option 'predictionIntervals' to calibrate conformal intervals",
                self.configs[m].options_json()["loss"]["type"].as_str().unwrap_or("MAE")
            ))
        })
    }
}

/// `predict`'s `level`: sorted, without duplicates, each in (0, 100), with its column name
/// (`80` as `80`, `80.5` as `80.5`, as NeuralForecast formats an int or float level).
pub fn levels(level: &[f64]) -> Result<Vec<(f64, String)>> {
    let mut out: Vec<(f64, String)> = Vec::new();
    for &l in level {
        if !(l > 0.0 && l < 100.0) {
            return Err(Error::range(format!("predict option 'level' must hold numbers in (0, 100), got {l}")));
        }
        if !out.iter().any(|(x, _)| *x == l) {
            let name = if l.fract() == 0.0 { format!("{}", l as i64) } else { crate::loss::python_f64(l) };
            out.push((l, name));
        }
    }
    if out.is_empty() {
        return Err(Error::range("predict option 'level' must hold at least one level"));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

/// NeuralForecast's quantile cuts for sorted `levels`: `(100 - l) / 200` for the levels from the
/// widest down, then `1 - (100 - l) / 200` from the narrowest up.
fn cuts(levels: &[(f64, String)]) -> Vec<f64> {
    let alphas: Vec<f64> = levels.iter().map(|(l, _)| 100.0 - l).collect();
    alphas.iter().rev().map(|a| a / 200.0).chain(alphas.iter().map(|a| 1.0 - a / 200.0)).collect()
}

/// The interval column names for `model`: `-lo-` from the widest level in, then `-hi-` out.
pub fn column_names(model: &str, levels: &[(f64, String)]) -> Vec<String> {
    levels.iter().rev().map(|(_, n)| format!("{model}-lo-{n}")).chain(levels.iter().map(|(_, n)| format!("{model}-hi-{n}"))).collect()
}

/// numpy's default (`linear`) quantile of `sorted` values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The interval columns (named as [`column_names`]) around `mean` (`[series, h]` point forecasts)
/// from `scores` (`[series, n_windows, h]`), one column per cut, each `[series, h]`.
pub fn intervals(method: IntervalMethod, mean: &[f32], scores: &[f32], n_windows: usize, h: usize, levels: &[(f64, String)]) -> Vec<Vec<f64>> {
    let cuts = cuts(levels);
    let mut cols = vec![Vec::with_capacity(mean.len()); cuts.len()];
    let mut sample = Vec::with_capacity(2 * n_windows);
    for (row, &m) in mean.iter().enumerate() {
        let (s, k) = (row / h, row % h);
        let m = m as f64;
        let errors = (0..n_windows).map(|w| scores[(s * n_windows + w) * h + k] as f64);
        sample.clear();
        match method {
            // The sample is the forecast moved by every score, both ways.
            IntervalMethod::Distribution => sample.extend(errors.flat_map(|e| [m - e, m + e])),
            IntervalMethod::Error => sample.extend(errors),
        }
        sample.sort_by(f64::total_cmp);
        for (c, &q) in cuts.iter().enumerate() {
            cols[c].push(match method {
                IntervalMethod::Distribution => quantile(&sample, q),
                // A lower bound takes the score quantile of its upper twin (1 - q): symmetric.
                IntervalMethod::Error if q < 0.5 => m - quantile(&sample, 1.0 - q),
                IntervalMethod::Error if q > 0.5 => m + quantile(&sample, q),
                IntervalMethod::Error => m,
            });
        }
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_sort_dedupe_and_name_like_neuralforecast() {
        let l = levels(&[90.0, 80.0, 90.0, 80.5]).unwrap();
        assert_eq!(l.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(), ["80", "80.5", "90"]);
        assert_eq!(column_names("NHITS", &levels(&[90.0, 80.0]).unwrap()), ["NHITS-lo-90", "NHITS-lo-80", "NHITS-hi-80", "NHITS-hi-90"]);
        assert_eq!(cuts(&levels(&[80.0, 90.0]).unwrap()), [0.05, 0.1, 0.9, 0.95]);
        for bad in [0.0, 100.0, -1.0, f64::NAN] {
            assert!(levels(&[bad]).unwrap_err().message.contains("'level'"), "{bad}");
        }
        assert!(levels(&[]).is_err());
    }

    #[test]
    fn quantile_is_numpys_linear_one() {
        // np.quantile([1, 2, 4, 8], [0, 0.1, 0.5, 0.95, 1]) = [1, 1.3, 3, 7.4, 8]
        let v = [1.0, 2.0, 4.0, 8.0];
        for (q, want) in [(0.0, 1.0), (0.1, 1.3), (0.5, 3.0), (0.95, 7.4), (1.0, 8.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "{q}: {}", quantile(&v, q));
        }
    }

    /// One series, h = 2, three windows of scores; values checked against NeuralForecast's
    /// functions (utils.py) run on the same arrays.
    #[test]
    fn intervals_match_neuralforecasts_arithmetic() {
        let mean = [10.0f32, 20.0];
        // [series 1, windows 3, h 2]
        let scores = [1.0f32, 4.0, 2.0, 0.0, 3.0, 2.0];
        let l = levels(&[50.0, 80.0]).unwrap();
        // conformal_distribution, step 0: sample {7, 8, 9, 11, 12, 13}; cuts 0.1, 0.25, 0.75, 0.9.
        let d = intervals(IntervalMethod::Distribution, &mean, &scores, 3, 2, &l);
        let step0: Vec<f64> = d.iter().map(|c| c[0]).collect();
        assert_eq!(step0, [7.5, 8.25, 11.75, 12.5]);
        // step 1: sample {16, 18, 20, 20, 22, 24}
        let step1: Vec<f64> = d.iter().map(|c| c[1]).collect();
        assert_eq!(step1, [17.0, 18.5, 21.5, 23.0]);
        // conformal_error, step 0: scores {1, 2, 3}; 0.9 → 2.8, 0.75 → 2.5.
        let e = intervals(IntervalMethod::Error, &mean, &scores, 3, 2, &l);
        let step0: Vec<f64> = e.iter().map(|c| c[0]).collect();
        for (got, want) in step0.iter().zip([10.0 - 2.8, 10.0 - 2.5, 12.5, 12.8]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn options_are_checked_with_their_names() {
        assert!(PredictionIntervals { n_windows: 1, ..Default::default() }.check().unwrap_err().message.contains("'predictionIntervals.nWindows'"));
        assert!(IntervalMethod::parse("conformal").unwrap_err().message.contains("'predictionIntervals.method'"));
        assert_eq!(IntervalMethod::parse("conformal_error").unwrap().name(), "conformal_error");
    }
}

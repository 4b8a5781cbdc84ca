//! Multivariate windows (NeuralForecast's `MULTIVARIATE` path): one window holds every series
//! over the same span, and the model forecasts them jointly.
//!
//! NeuralForecast stacks the series into one `[n_series, C, T]` tensor, T the longest length,
//! each series left-padded with zeros (its availability mask 0 there), so all series end at the
//! last position: series are aligned by their end, not by their dates. A [`TimeWindow`] is a
//! span of positions on that common axis; windows are scaled per series and per window, and a
//! training window counts as available when any series has a known point in its input and in
//! its horizon (NeuralForecast sums availability over the series).

use super::dataset::Dataset;
use super::windows::{Extras, WindowBatch, WindowSpec};
use crate::error::{Error, Result};
use crate::rng::Rng;

/// A span over all series: first position on the common axis (may be negative: start padding)
/// and the number of positions the window may see (later ones are held out or the future).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub first: isize,
    pub visible: usize,
}

/// A batch of time windows, row-major f32, scaled. B windows, N series, L = input_size.
#[derive(Clone, Debug, Default)]
pub struct MvBatch {
    pub n: usize,
    pub n_series: usize,
    /// `[B, L, N]`
    pub insample_y: Vec<f32>,
    pub insample_mask: Vec<f32>,
    /// `[B, X, L, N]`
    pub hist_exog: Vec<f32>,
    /// `[B, F, L + h, N]`
    pub futr_exog: Vec<f32>,
    /// `[N, S]`: one row per series, not repeated per window (as NeuralForecast passes it).
    pub stat_exog: Vec<f32>,
    /// The same windows one row per (window, series), `[B·N, ..]` in that order: targets, masks
    /// and scaler statistics as the univariate loss and inverse scaling read them.
    pub rows: WindowBatch,
}

/// Length of the common axis: the longest series.
fn axis_len(data: &Dataset) -> usize {
    data.max_len()
}

/// Fails unless the data has exactly `n_series` series (a multivariate model's weights are
/// shaped by it).
pub fn check_n_series(model: &str, n_series: usize, data: &Dataset, what: &str) -> Result<()> {
    let got = data.series.len();
    if got != n_series {
        return Err(Error::value(format!(
            "{model} is a multivariate model built for nSeries={n_series}, but {what} has {got} series; set nSeries to {got}"
        )));
    }
    Ok(())
}

impl WindowSpec {
    /// Cuts and scales time windows of all series of `data` into a batch.
    pub fn mv_batch(&self, data: &Dataset, windows: &[TimeWindow], extras: Extras) -> MvBatch {
        let (l, h) = (self.input_size, self.h);
        let wl = l + h;
        let ns = data.series.len();
        let (nx, nf) = (self.hist_cols.len(), self.futr_cols.len());
        let nst = extras.statics.and_then(|s| s.first()).map_or(0, Vec::len);
        let t_len = axis_len(data) as isize;
        let n = windows.len();
        let rows_n = n * ns;
        let mut b = MvBatch {
            n,
            n_series: ns,
            insample_y: vec![0.0; n * l * ns],
            insample_mask: vec![0.0; n * l * ns],
            hist_exog: vec![0.0; n * nx * l * ns],
            futr_exog: vec![0.0; n * nf * wl * ns],
            stat_exog: vec![0.0; ns * nst],
            rows: WindowBatch {
                n: rows_n,
                insample_y: vec![0.0; rows_n * l],
                insample_mask: vec![0.0; rows_n * l],
                outsample_y: vec![0.0; rows_n * h],
                outsample_mask: vec![0.0; rows_n * h],
                y_shift: vec![0.0; rows_n],
                y_scale: vec![1.0; rows_n],
                ..Default::default()
            },
        };
        if let Some(st) = extras.statics {
            for (i, row) in st.iter().enumerate() {
                b.stat_exog[i * nst..(i + 1) * nst].copy_from_slice(row);
            }
        }
        let mut values = vec![0.0f32; wl];
        let mut mask = vec![0.0f32; wl];
        let mut column = vec![0.0f32; wl];
        let mut present = vec![false; wl];
        for (w, win) in windows.iter().enumerate() {
            for (i, s) in data.series.iter().enumerate() {
                let offset = t_len - s.len() as isize;
                // Index into series `i` of window position `t`, if it is a point of the series.
                let index = |t: usize| -> Option<usize> {
                    let pos = win.first + t as isize;
                    let idx = pos - offset;
                    (idx >= 0 && (idx as usize) < s.len()).then_some(idx as usize)
                };
                let known = |t: usize| (win.first + t as isize) < win.visible as isize;
                for t in 0..wl {
                    let v = index(t).filter(|_| known(t)).map(|k| s.y[k]);
                    values[t] = v.unwrap_or(0.0);
                    mask[t] = if v.is_some() { 1.0 } else { 0.0 };
                }
                let (shift, scale) = self.scaler.stats(&values[..l], &mask[..l]);
                let r = w * ns + i;
                b.rows.y_shift[r] = shift;
                b.rows.y_scale[r] = scale;
                for t in 0..wl {
                    // Padding is scaled like data unless `padAfterScaling` (see `windows`).
                    let v = if mask[t] > 0.0 || !self.pad_after_scaling { self.scaler.apply(values[t], shift, scale) } else { 0.0 };
                    if t < l {
                        b.insample_y[(w * l + t) * ns + i] = v;
                        b.insample_mask[(w * l + t) * ns + i] = mask[t];
                        b.rows.insample_y[r * l + t] = v;
                        b.rows.insample_mask[r * l + t] = mask[t];
                    } else {
                        b.rows.outsample_y[r * h + t - l] = v;
                        b.rows.outsample_mask[r * h + t - l] = mask[t];
                    }
                }
                // Exogenous columns: each scaled with its own statistics over the same insample
                // positions; future columns read past the series' end from `extras.future`.
                let mut fill = |col: usize, future_col: Option<usize>, len: usize, out: &mut dyn FnMut(usize, f32)| {
                    let exog = &s.exog[col];
                    for t in 0..len {
                        let pos = win.first + t as isize;
                        let v = if pos >= t_len {
                            future_col.and_then(|fc| extras.future.and_then(|f| f[i].get(fc)).and_then(|v| v.get((pos - t_len) as usize)).copied())
                        } else {
                            index(t).map(|k| exog[k])
                        };
                        column[t] = v.unwrap_or(0.0);
                        present[t] = v.is_some();
                    }
                    let (cs, cc) = self.scaler.stats(&column[..l], &mask[..l]);
                    for t in 0..len {
                        out(t, if present[t] || !self.pad_after_scaling { self.scaler.apply(column[t], cs, cc) } else { 0.0 });
                    }
                };
                for (j, &col) in self.hist_cols.iter().enumerate() {
                    fill(col, None, l, &mut |t, v| b.hist_exog[((w * nx + j) * l + t) * ns + i] = v);
                }
                for (j, &col) in self.futr_cols.iter().enumerate() {
                    fill(col, Some(j), wl, &mut |t, v| b.futr_exog[((w * nf + j) * wl + t) * ns + i] = v);
                }
            }
        }
        b
    }
}

/// Draws training time windows as NeuralForecast does for multivariate models: every step holds
/// all series (its batch size is at least nSeries), and `windows_batch_size` of the available
/// windows are drawn without replacement when there are enough, with replacement otherwise.
pub struct MvSampler {
    windows: Vec<TimeWindow>,
    windows_batch_size: usize,
}

impl MvSampler {
    /// `holdout` positions at the end of the common axis are kept out of training.
    pub fn new(data: &Dataset, spec: &WindowSpec, holdout: usize, windows_batch_size: usize) -> Result<Self> {
        let (l, h, step) = (spec.input_size, spec.h, spec.step_size.max(1));
        let visible = axis_len(data).saturating_sub(holdout);
        // NeuralForecast pads the training span with `L - 1` zeros in front (startPaddingEnabled)
        // and `h` zeros behind, then unfolds windows of L + h every `step`.
        let front = if spec.start_padding { l - 1 } else { 0 };
        let padded = visible + front + h;
        if padded < l + h {
            return Err(Error::value(format!(
                "no training windows: the series are too short (the longest has {} points; with inputSize {l} and h {h} it needs at least {} after holding out {holdout}); use a smaller inputSize or startPaddingEnabled: true",
                axis_len(data),
                l + 1
            )));
        }
        let t_len = axis_len(data) as isize;
        let mut windows = Vec::new();
        let mut start = 0;
        while start + l + h <= padded {
            let first = start as isize - front as isize;
            let win = TimeWindow { first, visible };
            // Available: some series has a known point in the input and one in the horizon.
            let any_known = |from: isize, to: isize| {
                data.series.iter().any(|s| {
                    let offset = t_len - s.len() as isize;
                    let lo = from.max(offset).max(0);
                    let hi = to.min(visible as isize);
                    lo < hi
                })
            };
            if any_known(first, first + l as isize) && any_known(first + l as isize, first + (l + h) as isize) {
                windows.push(win);
            }
            start += step;
        }
        if windows.is_empty() {
            return Err(Error::value("no training windows: no window has a known point both in its input and in its horizon; use a smaller inputSize or startPaddingEnabled: true"));
        }
        Ok(MvSampler { windows, windows_batch_size: windows_batch_size.max(1) })
    }

    /// The windows of one training step.
    pub fn sample(&self, rng: &mut Rng) -> Vec<TimeWindow> {
        let (n, k) = (self.windows.len(), self.windows_batch_size);
        if n < k {
            return (0..k).map(|_| self.windows[rng.below(n)]).collect();
        }
        // A partial Fisher-Yates draw without replacement.
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = i + rng.below(n - i);
            all.swap(i, j);
        }
        all[..k].iter().map(|&i| self.windows[i]).collect()
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }
}

/// Validation windows: forecasts starting every `step` over the last `val_size` positions before
/// `test_size`, each fitting wholly before the test part (as NeuralForecast unfolds them).
pub fn mv_validation_windows(data: &Dataset, spec: &WindowSpec, val_size: usize, test_size: usize) -> Vec<TimeWindow> {
    if val_size == 0 {
        return Vec::new();
    }
    let end = axis_len(data).saturating_sub(test_size);
    let start = end.saturating_sub(val_size);
    let mut out = Vec::new();
    let mut cut = start;
    while cut + spec.h <= end {
        out.push(TimeWindow { first: cut as isize - spec.input_size as isize, visible: end });
        cut += spec.step_size.max(1);
    }
    if out.is_empty() {
        // val_size < h: one window, its horizon partly past the end (masked).
        out.push(TimeWindow { first: start as isize - spec.input_size as isize, visible: end });
    }
    out
}

/// The window forecasting the `h` positions after the end of all series.
pub fn mv_forecast_window(data: &Dataset, spec: &WindowSpec) -> TimeWindow {
    let t = axis_len(data);
    TimeWindow { first: t as isize - spec.input_size as isize, visible: t }
}

/// The window whose forecast starts at position `start` of the common axis (cross-validation).
pub fn mv_window_at(spec: &WindowSpec, start: usize) -> TimeWindow {
    TimeWindow { first: start as isize - spec.input_size as isize, visible: start }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Series;
    use crate::data::ScalerType;

    fn dataset(lens: &[usize]) -> Dataset {
        Dataset {
            series: lens
                .iter()
                .enumerate()
                .map(|(k, &n)| Series {
                    id: format!("s{k}"),
                    ds: (0..n).map(|t| t as f64).collect(),
                    y: (0..n).map(|t| (100 * k + t) as f32).collect(),
                    exog: vec![(0..n).map(|t| t as f32 * 10.0).collect()],
                })
                .collect(),
            exog_names: vec!["x".into()],
        }
    }

    fn spec(l: usize, h: usize) -> WindowSpec {
        WindowSpec { input_size: l, h, step_size: 1, start_padding: false, pad_after_scaling: false, scaler: ScalerType::Identity, hist_cols: vec![], futr_cols: vec![] }
    }

    #[test]
    fn windows_hold_all_series_aligned_by_their_end() {
        // Series of 5 and 3 points: the short one is left-padded by 2.
        let d = dataset(&[5, 3]);
        let mut sp = spec(2, 1);
        sp.hist_cols = vec![0];
        let b = sp.mv_batch(&d, &[TimeWindow { first: 1, visible: 5 }], Extras::default());
        // Positions 1, 2: series 0 → 1, 2; series 1 → padded, 100.
        assert_eq!(b.insample_y, vec![1.0, 0.0, 2.0, 100.0]);
        assert_eq!(b.insample_mask, vec![1.0, 0.0, 1.0, 1.0]);
        assert_eq!(b.hist_exog, vec![10.0, 0.0, 20.0, 0.0]);
        // Rows (window, series): outsample position 3 → series 0: 3, series 1: 101.
        assert_eq!(b.rows.outsample_y, vec![3.0, 101.0]);
        assert_eq!(b.rows.insample_y, vec![1.0, 2.0, 0.0, 100.0]);
    }

    #[test]
    fn scaling_is_per_series_and_window() {
        let d = dataset(&[6, 6]);
        let mut sp = spec(4, 2);
        sp.scaler = ScalerType::Standard;
        let b = sp.mv_batch(&d, &[TimeWindow { first: 0, visible: 6 }], Extras::default());
        assert_eq!(b.rows.y_shift, vec![1.5, 101.5]);
        assert!((b.rows.y_scale[0] - b.rows.y_scale[1]).abs() < 1e-6);
    }

    #[test]
    fn training_windows_match_neuralforecast_unfold() {
        // T 10, L 3, h 2: padded 12, starts 0..=7; windows whose horizon is only padding are
        // dropped (first 7: horizon 10, 11 → none known).
        let d = dataset(&[10, 6]);
        let s = MvSampler::new(&d, &spec(3, 2), 0, 4).unwrap();
        assert_eq!(s.len(), 7);
        // Holding out 4: visible 6, padded 8, starts 0..=3, all with a known horizon point.
        let s = MvSampler::new(&d, &spec(3, 2), 4, 4).unwrap();
        assert_eq!(s.len(), 3);
        let mut sp = spec(3, 2);
        sp.start_padding = true;
        assert_eq!(MvSampler::new(&d, &sp, 0, 4).unwrap().len(), 9);
        assert!(MvSampler::new(&dataset(&[2]), &spec(3, 2), 0, 4).is_err());
        let mut r = Rng::seed(3);
        assert_eq!(s.sample(&mut r).len(), 4);
    }

    #[test]
    fn future_values_extend_every_series() {
        let d = dataset(&[4, 3]);
        let mut sp = spec(2, 1);
        sp.futr_cols = vec![0];
        let future = vec![vec![vec![40.0]], vec![vec![30.0]]];
        let w = mv_forecast_window(&d, &sp);
        let b = sp.mv_batch(&d, &[w], Extras { statics: None, future: Some(&future) });
        // [B, F, L + h, N]: positions 2, 3, 4 for series 0 (20, 30, 40) and 1 (10, 20, 30).
        assert_eq!(b.futr_exog, vec![20.0, 10.0, 30.0, 20.0, 40.0, 30.0]);
        assert_eq!(b.rows.outsample_mask, vec![0.0, 0.0]);
    }

    #[test]
    fn n_series_mismatch_is_a_clear_error() {
        let e = check_n_series("TSMixer", 3, &dataset(&[4, 4]), "df").unwrap_err();
        assert!(e.message.contains("nSeries=3") && e.message.contains("2 series"), "{e}");
    }
}

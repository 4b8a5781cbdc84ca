//! Windows of `input_size + h` points cut from series, as NeuralForecast cuts them, and their
//! assembly into scaled batches.
//!
//! A [`Window`] names a series, the index of its first point (negative = left padding) and how
//! much of the series it may see (`visible`): points at or after `visible` are unknown to it
//! (held out for validation/testing, or the future). NeuralForecast left-pads every series with
//! zeros to the longest one, so training windows of a short series may start before its first
//! point; padded and unknown points carry mask 0.
//!
//! NeuralForecast pads before scaling: a padded zero is scaled like data, so the model reads it
//! as `(0 - shift) / scale` (with the robust scaler, a cliff at -median/MAD). That is the
//! default here too, so results compare with NeuralForecast's. `padAfterScaling: true` (the
//! [`WindowSpec::pad_after_scaling`] flag) puts 0 at those positions after scaling instead, so
//! padding reads as the window's centre; the scaler statistics never include padding either way
//! (they use the insample mask).

use super::dataset::Dataset;
use super::scaler::ScalerType;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// One window: series index, first point (may be negative), and the number of known points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub series: usize,
    pub first: isize,
    pub visible: usize,
}

/// How a model cuts and scales windows.
#[derive(Clone, Debug)]
pub struct WindowSpec {
    pub input_size: usize,
    pub h: usize,
    pub step_size: usize,
    pub start_padding: bool,
    /// Padded and unknown positions read 0 after scaling, rather than a zero scaled like data
    /// (NeuralForecast).
    pub pad_after_scaling: bool,
    pub scaler: ScalerType,
    /// Indices into the dataset's exogenous columns.
    pub hist_cols: Vec<usize>,
    pub futr_cols: Vec<usize>,
}

/// A batch of windows, row-major f32, scaled. B = windows, L = input_size.
#[derive(Clone, Debug, Default)]
pub struct WindowBatch {
    pub n: usize,
    /// `[B, L]`
    pub insample_y: Vec<f32>,
    pub insample_mask: Vec<f32>,
    /// `[B, h]` (scaled) and its availability.
    pub outsample_y: Vec<f32>,
    pub outsample_mask: Vec<f32>,
    /// `[B, L, X]`
    pub hist_exog: Vec<f32>,
    /// `[B, L + h, F]`
    pub futr_exog: Vec<f32>,
    /// `[B, S]`
    pub stat_exog: Vec<f32>,
    /// Per-window scaler statistics of y, to invert forecasts.
    pub y_shift: Vec<f32>,
    pub y_scale: Vec<f32>,
}

/// Extra inputs for a batch: static values per series and future exogenous values past each
/// series' end (`[series][futr column][step]`).
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    pub statics: Option<&'a [Vec<f32>]>,
    pub future: Option<&'a [Vec<Vec<f32>>]>,
}

impl WindowSpec {
    fn window_len(&self) -> usize {
        self.input_size + self.h
    }

    /// Cuts and scales `windows` of `data` into a batch.
    pub fn batch(&self, data: &Dataset, windows: &[Window], extras: Extras) -> WindowBatch {
        let (l, h) = (self.input_size, self.h);
        let wl = self.window_len();
        let (nx, nf) = (self.hist_cols.len(), self.futr_cols.len());
        let ns = extras.statics.and_then(|s| s.first()).map_or(0, Vec::len);
        let n = windows.len();
        let mut b = WindowBatch {
            n,
            insample_y: vec![0.0; n * l],
            insample_mask: vec![0.0; n * l],
            outsample_y: vec![0.0; n * h],
            outsample_mask: vec![0.0; n * h],
            hist_exog: vec![0.0; n * l * nx],
            futr_exog: vec![0.0; n * wl * nf],
            stat_exog: vec![0.0; n * ns],
            y_shift: vec![0.0; n],
            y_scale: vec![1.0; n],
        };
        let mut values = vec![0.0f32; wl];
        let mut mask = vec![0.0f32; wl];
        let mut stats_mask = vec![0.0f32; wl];
        for (w, win) in windows.iter().enumerate() {
            let s = &data.series[win.series];
            for t in 0..wl {
                let idx = win.first + t as isize;
                let known = idx >= 0 && (idx as usize) < win.visible.min(s.len());
                values[t] = if known { s.y[idx as usize] } else { 0.0 };
                mask[t] = if known { 1.0 } else { 0.0 };
                stats_mask[t] = if t < l { mask[t] } else { 0.0 };
            }
            let (shift, scale) = self.scaler.stats(&values[..l], &stats_mask[..l]);
            b.y_shift[w] = shift;
            b.y_scale[w] = scale;
            let pad_after = self.pad_after_scaling;
            for t in 0..wl {
                let v = if mask[t] > 0.0 || !pad_after { self.scaler.apply(values[t], shift, scale) } else { 0.0 };
                if t < l {
                    b.insample_y[w * l + t] = v;
                    b.insample_mask[w * l + t] = mask[t];
                } else {
                    b.outsample_y[w * h + t - l] = v;
                    b.outsample_mask[w * h + t - l] = mask[t];
                }
            }
            // Exogenous columns: scaled with their own statistics over the same insample mask.
            let mut column = vec![0.0f32; wl];
            let mut fill = |col: usize, future_col: Option<usize>, len: usize, out: &mut dyn FnMut(usize, f32)| {
                let exog = &s.exog[col];
                let mut present = vec![false; len];
                for t in 0..len {
                    let idx = win.first + t as isize;
                    let v = if idx < 0 {
                        None
                    } else if (idx as usize) < exog.len() {
                        Some(exog[idx as usize])
                    } else {
                        future_col.and_then(|fc| {
                            extras.future.and_then(|f| f[win.series].get(fc)).and_then(|v| v.get(idx as usize - exog.len())).copied()
                        })
                    };
                    column[t] = v.unwrap_or(0.0);
                    present[t] = v.is_some();
                }
                let (cs, cc) = self.scaler.stats(&column[..l], &stats_mask[..l]);
                for t in 0..len {
                    out(t, if present[t] || !pad_after { self.scaler.apply(column[t], cs, cc) } else { 0.0 });
                }
            };
            for (j, &col) in self.hist_cols.iter().enumerate() {
                fill(col, None, l, &mut |t, v| b.hist_exog[(w * l + t) * nx + j] = v);
            }
            for (j, &col) in self.futr_cols.iter().enumerate() {
                fill(col, Some(j), wl, &mut |t, v| b.futr_exog[(w * wl + t) * nf + j] = v);
            }
            if let Some(st) = extras.statics {
                b.stat_exog[w * ns..(w + 1) * ns].copy_from_slice(&st[win.series]);
            }
        }
        b
    }
}

/// Draws training windows the way NeuralForecast does each step: `batch_size` series (shuffled,
/// epoch by epoch), then `windows_batch_size` of their windows (without replacement when there
/// are enough, with replacement otherwise).
pub struct TrainSampler {
    /// Per series: the valid `first` values are `lo, lo + step, ..., <= hi` (empty if lo > hi).
    ranges: Vec<(isize, isize)>,
    visible: Vec<usize>,
    step: usize,
    batch_size: usize,
    windows_batch_size: usize,
    order: Vec<usize>,
    cursor: usize,
}

impl TrainSampler {
    /// `holdout` points at the end of every series are kept out of training (validation + test).
    pub fn new(data: &Dataset, spec: &WindowSpec, holdout: usize, batch_size: usize, windows_batch_size: usize) -> Result<Self> {
        let (l, step) = (spec.input_size as isize, spec.step_size.max(1) as isize);
        let max_len = data.max_len() as isize;
        let mut ranges = Vec::with_capacity(data.series.len());
        let mut visible = Vec::with_capacity(data.series.len());
        for s in &data.series {
            let vis = s.len().saturating_sub(holdout);
            let pad = (max_len - s.len() as isize) + if spec.start_padding { l - 1 } else { 0 };
            // Padded start positions are multiples of `step`; first = start - pad.
            let lowest_start = (pad + 1 - l).max(0);
            let start0 = (lowest_start + step - 1) / step * step;
            let hi = vis as isize - l - 1;
            ranges.push((start0 - pad, hi));
            visible.push(vis);
        }
        if ranges.iter().all(|(lo, hi)| lo > hi) {
            let longest = data.max_len();
            // A window needs one target point after its inputs (all of them unless start padding).
            let needs = holdout + if spec.start_padding { 2 } else { spec.input_size + 1 };
            let held = if holdout > 0 { format!(" plus the {holdout} held out for validation or testing") } else { String::new() };
            return Err(Error::value(format!(
                "no training windows: the series are too short (the longest has {longest} points; with inputSize {} a series needs at least {needs}: {} inputs and 1 target{held}); use a smaller inputSize or startPaddingEnabled: true",
                spec.input_size,
                if spec.start_padding { 1 } else { spec.input_size }
            )));
        }
        Ok(TrainSampler {
            ranges,
            visible,
            step: step as usize,
            batch_size: batch_size.max(1),
            windows_batch_size: windows_batch_size.max(1),
            order: Vec::new(),
            cursor: usize::MAX,
        })
    }

    fn count(&self, i: usize) -> usize {
        let (lo, hi) = self.ranges[i];
        if lo > hi {
            0
        } else {
            ((hi - lo) as usize) / self.step + 1
        }
    }

    /// Where the epoch stands: the shuffled series order and how much of it is used (checkpoints).
    pub fn position(&self) -> (Vec<usize>, usize) {
        (self.order.clone(), self.cursor)
    }

    /// Continues at a [`TrainSampler::position`] of a sampler over the same data.
    pub fn set_position(&mut self, order: Vec<usize>, cursor: usize) -> Result<()> {
        let n = self.ranges.len();
        let mut seen = vec![false; n];
        let permutation = order.iter().all(|&i| i < n && !std::mem::replace(&mut seen[i], true));
        let fresh = order.is_empty() && cursor == usize::MAX;
        if !(fresh || order.len() == n && permutation && cursor <= n) {
            return Err(Error::format("the training state's sampler position does not fit the data"));
        }
        self.order = order;
        self.cursor = cursor;
        Ok(())
    }

    /// The windows of one training step.
    pub fn sample(&mut self, rng: &mut Rng) -> Vec<Window> {
        let n = self.ranges.len();
        if self.cursor >= n {
            self.order = (0..n).collect();
            rng.shuffle(&mut self.order);
            self.cursor = 0;
        }
        let take = self.batch_size.min(n - self.cursor);
        let chosen = &self.order[self.cursor..self.cursor + take];
        self.cursor += take;
        let counts: Vec<usize> = chosen.iter().map(|&i| self.count(i)).collect();
        let total: usize = counts.iter().sum();
        if total == 0 {
            // This batch of series has no window (all too short): draw another batch.
            return self.sample(rng);
        }
        let picks: Vec<usize> = if total <= self.windows_batch_size {
            if total < self.windows_batch_size {
                (0..self.windows_batch_size).map(|_| rng.below(total)).collect()
            } else {
                let mut all: Vec<usize> = (0..total).collect();
                rng.shuffle(&mut all);
                all
            }
        } else {
            // A partial Fisher-Yates draw without replacement.
            let mut all: Vec<usize> = (0..total).collect();
            for i in 0..self.windows_batch_size {
                let j = i + rng.below(total - i);
                all.swap(i, j);
            }
            all.truncate(self.windows_batch_size);
            all
        };
        picks
            .into_iter()
            .map(|mut k| {
                let mut c = 0;
                while k >= counts[c] {
                    k -= counts[c];
                    c += 1;
                }
                let i = chosen[c];
                Window { series: i, first: self.ranges[i].0 + (k * self.step) as isize, visible: self.visible[i] }
            })
            .collect()
    }
}

/// NeuralForecast's validation windows: the last `input_size + val_size` points before
/// `test_size` (in the series left-padded to the longest one), unfolded into windows of
/// `input_size + h` every `step_size`: `(val_size - h) / step_size + 1` per series, each
/// forecasting points inside the region. Series by series, in order. Needs `val_size >= h`
/// (NeuralForecast refuses a smaller one).
pub fn validation_windows(data: &Dataset, spec: &WindowSpec, val_size: usize, test_size: usize) -> Vec<Window> {
    let mut out = Vec::new();
    if val_size == 0 {
        return out;
    }
    let (l, wl, step) = (spec.input_size as isize, spec.window_len() as isize, spec.step_size.max(1) as isize);
    let max_len = data.max_len() as isize;
    // Region in padded coordinates (the longest series' indices).
    let end = max_len - test_size as isize;
    let mut begin = end - l - val_size as isize;
    if begin < 0 && end >= wl {
        // NeuralForecast slices the padded series, so a region longer than the data starts at
        // the data's start (and its windows at multiples of the step from there).
        begin = 0;
    }
    for (i, s) in data.series.iter().enumerate() {
        let pad = max_len - s.len() as isize;
        let mut first = begin;
        while first + wl <= end {
            out.push(Window { series: i, first: first - pad, visible: s.len().saturating_sub(test_size) });
            first += step;
        }
    }
    out
}

/// The window that forecasts the `h` points after the last `visible` points of every series.
pub fn forecast_windows(data: &Dataset, spec: &WindowSpec) -> Vec<Window> {
    data.series
        .iter()
        .enumerate()
        .map(|(i, s)| Window { series: i, first: s.len() as isize - spec.input_size as isize, visible: s.len() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Series;

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
    fn window_counts_match_neuralforecast() {
        // One series of 10, L=3, h=2: starts 0..=6 with >=1 outsample point → first in 0..=6.
        let d = dataset(&[10]);
        let s = TrainSampler::new(&d, &spec(3, 2), 0, 32, 1024).unwrap();
        assert_eq!(s.ranges, vec![(0, 6)]);
        // Holding out 4 points: visible 6, first in 0..=2.
        let s = TrainSampler::new(&d, &spec(3, 2), 4, 32, 1024).unwrap();
        assert_eq!(s.ranges, vec![(0, 2)]);
        // A short series is left-padded to the longest one: first may go down to 1 - L.
        let d = dataset(&[10, 4]);
        let s = TrainSampler::new(&d, &spec(3, 2), 0, 32, 1024).unwrap();
        assert_eq!(s.ranges[1], (-2, 0));
        let mut sp = spec(3, 2);
        sp.start_padding = true;
        let d = dataset(&[10]);
        assert_eq!(TrainSampler::new(&d, &sp, 0, 32, 1024).unwrap().ranges, vec![(-2, 6)]);
    }

    #[test]
    fn too_short_series_give_a_clear_error() {
        let e = TrainSampler::new(&dataset(&[3]), &spec(3, 2), 0, 32, 1024).err().unwrap();
        assert!(e.message.contains("too short"), "{e}");
    }

    #[test]
    fn batches_mask_padding_and_unknown_future() {
        let d = dataset(&[5]);
        let w = [Window { series: 0, first: -1, visible: 3 }];
        let mut sp = spec(3, 2);
        sp.hist_cols = vec![0];
        let b = sp.batch(&d, &w, Extras::default());
        assert_eq!(b.insample_y, vec![0.0, 0.0, 1.0]);
        assert_eq!(b.insample_mask, vec![0.0, 1.0, 1.0]);
        assert_eq!(b.outsample_y, vec![2.0, 0.0]);
        assert_eq!(b.outsample_mask, vec![1.0, 0.0]);
        assert_eq!(b.hist_exog, vec![0.0, 0.0, 10.0]);
    }

    #[test]
    fn padding_is_scaled_like_data_unless_pad_after_scaling() {
        // y 10, 12, ..., 18 (exog 0, 10, ..., 40), a window starting two points before the series
        // and seeing its first three points, robust scaling.
        let mut d = dataset(&[5]);
        d.series[0].y = vec![10.0, 12.0, 14.0, 16.0, 18.0];
        let w = [Window { series: 0, first: -2, visible: 3 }];
        let mut sp = spec(4, 3);
        sp.scaler = ScalerType::Robust;
        sp.hist_cols = vec![0];
        let b = sp.batch(&d, &w, Extras::default());
        // Statistics over the known insample points only (10, 12): lower median 10, MAD 0 →
        // std 1 · 0.6745 stands in, plus eps.
        let (median, mad) = (10.0f32, 0.674_489_75f32 + 1e-6);
        assert_eq!((b.y_shift[0], b.y_scale[0]), (median, mad));
        let z = |v: f32| (v - median) / mad;
        // NeuralForecast: the two padded zeros read as a cliff at -median/MAD; so do the two
        // held-out points past `visible` (their mask is 0 either way).
        assert_eq!(b.insample_y, vec![z(0.0), z(0.0), z(10.0), z(12.0)]);
        assert_eq!(b.insample_mask, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(b.outsample_y, vec![z(14.0), z(0.0), z(0.0)]);
        assert_eq!(b.outsample_mask, vec![1.0, 0.0, 0.0]);
        // The exogenous column: statistics over the same known points (0, 10): median 0, MAD 0
        // → std 5 · 0.6745.
        let xs = 5.0 * 0.674_489_75f32 + 1e-6;
        assert_eq!(b.hist_exog, vec![0.0 / xs, 0.0 / xs, 0.0 / xs, 10.0 / xs]);
        // padAfterScaling: the same statistics, zeros where nothing is known.
        sp.pad_after_scaling = true;
        let b = sp.batch(&d, &w, Extras::default());
        assert_eq!(b.insample_y, vec![0.0, 0.0, z(10.0), z(12.0)]);
        assert_eq!(b.outsample_y, vec![z(14.0), 0.0, 0.0]);
        assert_eq!((b.y_shift[0], b.y_scale[0]), (median, mad));
    }

    #[test]
    fn validation_windows_lie_inside_the_region_as_in_neuralforecast() {
        // One series of 20, L=3, h=2, valSize 6: (6 - 2) / 1 + 1 = 5 windows, the last ending
        // at the series' end.
        let d = dataset(&[20]);
        let firsts = |sp: &WindowSpec, d: &Dataset, val, test| validation_windows(d, sp, val, test).iter().map(|w| (w.series, w.first, w.visible)).collect::<Vec<_>>();
        let sp = spec(3, 2);
        assert_eq!(firsts(&sp, &d, 6, 0), (11..=15).map(|f| (0, f, 20)).collect::<Vec<_>>());
        // stepSize 2: (6 - 2) / 2 + 1 = 3 windows.
        let mut sp2 = spec(3, 2);
        sp2.step_size = 2;
        assert_eq!(firsts(&sp2, &d, 6, 0), vec![(0, 11, 20), (0, 13, 20), (0, 15, 20)]);
        // Before a test region of 4.
        assert_eq!(firsts(&sp, &d, 6, 4), (7..=11).map(|f| (0, f, 16)).collect::<Vec<_>>());
        // A shorter series is aligned at the end (left padding), same count.
        let d2 = dataset(&[20, 8]);
        let w = firsts(&sp, &d2, 6, 0);
        assert_eq!(w.len(), 10);
        assert_eq!(w[5..], (-1..=3).map(|f| (1, f, 8)).collect::<Vec<_>>()[..]);
        // A region longer than the data starts at the data's start (NeuralForecast slices).
        let d3 = dataset(&[10]);
        assert_eq!(firsts(&spec(7, 2), &d3, 4, 0), vec![(0, 0, 10), (0, 1, 10)]);
    }

    #[test]
    fn scaling_uses_insample_statistics_and_inverts() {
        let d = dataset(&[8]);
        let mut sp = spec(4, 2);
        sp.scaler = ScalerType::Standard;
        let b = sp.batch(&d, &[Window { series: 0, first: 2, visible: 8 }], Extras::default());
        // Insample 2,3,4,5: mean 3.5.
        assert_eq!(b.y_shift[0], 3.5);
        let back = ScalerType::Standard.invert(b.outsample_y[0], b.y_shift[0], b.y_scale[0]);
        assert!((back - 6.0).abs() < 1e-5);
    }

    #[test]
    fn sampling_is_deterministic_and_respects_sizes() {
        let d = dataset(&[30, 20, 12]);
        let mut a = TrainSampler::new(&d, &spec(5, 3), 0, 2, 16).unwrap();
        let mut b = TrainSampler::new(&d, &spec(5, 3), 0, 2, 16).unwrap();
        let (mut ra, mut rb) = (Rng::seed(1), Rng::seed(1));
        for _ in 0..5 {
            let wa = a.sample(&mut ra);
            assert_eq!(wa.len(), 16);
            assert_eq!(wa, b.sample(&mut rb));
        }
    }

    #[test]
    fn future_exogenous_values_extend_the_series() {
        let d = dataset(&[4]);
        let mut sp = spec(2, 2);
        sp.futr_cols = vec![0];
        let future = vec![vec![vec![40.0, 50.0]]];
        let w = forecast_windows(&d, &sp);
        let b = sp.batch(&d, &w, Extras { statics: None, future: Some(&future) });
        assert_eq!(b.futr_exog, vec![20.0, 30.0, 40.0, 50.0]);
        assert_eq!(b.outsample_mask, vec![0.0, 0.0]);
    }
}

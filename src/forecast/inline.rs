//! Which predicts may run on the caller's thread instead of a pool (`kernels::inline`).
//!
//! A predict runs inline only when the same fitted state has already served one at least as large
//! (as many series and rows or more, the same horizon, the same frames given) in under
//! [`INLINE_BUDGET`]: the cost of a request is then bounded by one seen, not guessed. The first
//! predict after a fit or load, any request larger than the last one measured, and any request
//! after one that took longer, go to a pool, and are measured there. An inline run is measured
//! too, so a forecast that became slow (a loaded machine) goes back to the pool at the next call.
//! Inline, the forecast runs on one thread where a pool splits it over all: it can take up to a
//! core count times longer than it did there, so the bound is [`INLINE_BUDGET`] times that.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{InputFrame, NeuralForecast, PredictOptions};

/// The longest a predict measured earlier may have taken for the next one like it to run on the
/// caller's thread (for JS, the event loop). Twice to ten times the hop it saves.
pub const INLINE_BUDGET: Duration = Duration::from_micros(500);

/// Requests with more input rows than this always go to a pool, whatever they cost before.
const MAX_INLINE_ROWS: usize = 1 << 14;

/// What a predict's cost depends on besides its size.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Kind {
    /// Whether it forecast after a `df` (else after the fitted data).
    from_df: bool,
    h: Option<usize>,
    /// How many interval levels it asked for, if any.
    levels: Option<usize>,
    futr_df: bool,
    static_df: bool,
}

#[derive(Clone, Copy, Debug)]
struct Measured {
    kind: Kind,
    /// An upper bound on the series of `df` (its runs of equal ids).
    series: usize,
    rows: usize,
    took: Duration,
}

/// The last successful predict of a fitted state.
#[derive(Debug, Default)]
pub(super) struct PredictCost(Mutex<Option<Measured>>);

/// The request's kind, series bound and rows.
fn size(df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions) -> (Kind, usize, usize) {
    let kind = Kind { from_df: df.is_some(), h: opts.h, levels: opts.level.as_ref().map(Vec::len), futr_df: futr_df.is_some(), static_df: static_df.is_some() };
    // Runs of equal ids bound the distinct ids from above, in any row order.
    let series = df.map_or(0, |f| f.unique_id.windows(2).filter(|w| w[0] != w[1]).count() + usize::from(!f.is_empty()));
    let rows = [df, futr_df, static_df].iter().flatten().map(|f| f.len()).sum();
    (kind, series, rows)
}

impl NeuralForecast {
    /// Whether a predict of these frames is known to take under [`INLINE_BUDGET`] (see the module
    /// docs), so that it may run on the caller's thread.
    pub fn predict_is_small(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions) -> bool {
        self.predict_is_within(df, futr_df, static_df, opts, INLINE_BUDGET)
    }

    /// Whether a predict like this one, or a larger one, took at most `budget` last time.
    pub(super) fn predict_is_within(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions, budget: Duration) -> bool {
        let (kind, series, rows) = size(df, futr_df, static_df, opts);
        let last = *self.predict_cost.0.lock().unwrap_or_else(PoisonError::into_inner);
        rows <= MAX_INLINE_ROWS && last.is_some_and(|m| m.kind == kind && series <= m.series && rows <= m.rows && m.took <= budget)
    }

    /// How long the last successful predict took inside the engine (the forecast itself, without
    /// the binding's conversions): what `bench/predict_latency.mjs` sets beside its JS timings.
    pub fn last_predict_time(&self) -> Option<Duration> {
        self.predict_cost.0.lock().unwrap_or_else(PoisonError::into_inner).map(|m| m.took)
    }

    /// Runs `predict`, timing it for [`NeuralForecast::predict_is_small`] when it succeeds.
    pub(super) fn measured_predict<T>(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions, predict: impl FnOnce() -> crate::Result<T>) -> crate::Result<T> {
        let start = Instant::now();
        let out = predict()?;
        let took = start.elapsed();
        let (kind, series, rows) = size(df, futr_df, static_df, opts);
        *self.predict_cost.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(Measured { kind, series, rows, took });
        Ok(out)
    }
}

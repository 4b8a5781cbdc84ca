//! NeuralForecast orchestration: fit / predict / cross-validation / save / load over many models.
//! The binding converts JS values into these types and calls these methods on a worker thread.

mod checkpoint;
pub(crate) mod conformal;
mod core;
pub mod explain;
pub mod file;
mod frame;
mod inline;
mod inputs;
mod persist;
mod shared;
mod task;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use self::core::NeuralForecast;
pub use checkpoint::CheckpointOptions;
pub use conformal::{IntervalMethod, PredictionIntervals};
pub use frame::{InputFrame, OutputFrame};
pub use inline::INLINE_BUDGET;
pub use shared::{Shared, Writer};
#[cfg(test)]
pub(crate) use task::forecast_stepwise;


/// A model as the user declared it: class name and camelCase options.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    pub class: String,
    pub options: serde_json::Value,
}

/// The `freq` option: a pandas-style alias, or the step of an integer `ds`.
#[derive(Clone, Debug, PartialEq)]
pub enum FreqSpec {
    Alias(String),
    Step(f64),
}

#[derive(Clone, Debug, Default)]
pub struct FitOptions {
    /// Points at the end of each series held out for validation (early stopping).
    pub val_size: usize,
    /// Per model, in order, overriding `val_size` (an Auto* model refits without its validation
    /// part beside models that keep theirs); empty: `val_size` for every model.
    pub model_val_sizes: Vec<usize>,
    pub verbose: bool,
    /// Calibrate conformal intervals for `predict(level)` (NeuralForecast's `prediction_intervals`).
    pub prediction_intervals: Option<PredictionIntervals>,
    /// Start from each model's initial weights (as a fresh object would) instead of continuing
    /// from the fitted ones (NeuralForecast's `use_init_models`; the default continues).
    pub use_init_models: bool,
    /// Training steps of this fit for every model instead of its `maxSteps` (a short warm
    /// refit; NeuralForecast's users set `model.max_steps` between fits for it).
    pub max_steps: Option<usize>,
    /// Save the training state to a file as the fit goes, and continue from it (see
    /// [`CheckpointOptions`]).
    pub checkpoint: Option<CheckpointOptions>,
    /// Train data-parallel as one rank of a world (None, or a world of one: on this process alone).
    pub world: Option<World>,
}

/// A data-parallel fit's world: the processes training together, and what each was given.
#[derive(Clone)]
pub struct World {
    pub collective: Arc<dyn crate::train::Collective>,
    /// Each rank was given its own series (and scales them itself), rather than the same frame.
    pub sharded: bool,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "World {{ rank: {}, size: {}, sharded: {} }}", self.collective.rank(), self.collective.size(), self.sharded)
    }
}

impl FitOptions {
    /// Each of `n` models' validation size.
    pub fn val_sizes(&self, n: usize) -> crate::Result<Vec<usize>> {
        match self.model_val_sizes.len() {
            0 => Ok(vec![self.val_size; n]),
            k if k == n => Ok(self.model_val_sizes.clone()),
            k => Err(crate::error::Error::value(format!("fit was given {k} per-model validation sizes for {n} models"))),
        }
    }
}

/// What `predict` forecasts beyond its inputs.
#[derive(Clone, Debug, Default)]
pub struct PredictOptions {
    /// Steps to forecast; None = the models' horizon.
    pub h: Option<usize>,
    /// Interval levels in (0, 100): conformal intervals for point models fitted with
    /// `prediction_intervals`, re-drawn quantiles for distribution losses.
    pub level: Option<Vec<f64>>,
}

#[derive(Clone, Debug, Default)]
pub struct CvOptions {
    pub n_windows: usize,
    /// Distance between cutoffs; None = 1, NeuralForecast's default.
    pub step_size: Option<usize>,
    pub val_size: usize,
    /// Retrain at every window instead of once (each window continuing from the previous one's
    /// weights, as NeuralForecast's refit does).
    pub refit: bool,
    pub verbose: bool,
    /// Start from the initial weights instead of the fitted ones (see [`FitOptions`]).
    pub use_init_models: bool,
    /// See [`FitOptions::max_steps`].
    pub max_steps: Option<usize>,
    /// With `refit`, calibrate conformal intervals before each window's training, on the data
    /// before its cutoff (NeuralForecast's refit calls `fit` with them); needs `level`.
    pub prediction_intervals: Option<PredictionIntervals>,
    /// Interval levels of the forecasts, as [`PredictOptions::level`].
    pub level: Option<Vec<f64>>,
}

/// One report from training, sent to `onProgress`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgressEvent {
    pub model: String,
    pub step: usize,
    pub max_steps: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
}

/// Cancellation and progress, shared between the caller and the worker thread.
#[derive(Default)]
pub struct Control {
    pub cancel: Arc<AtomicBool>,
    pub on_progress: Option<Box<dyn Fn(&ProgressEvent) + Send + Sync>>,
}

impl Control {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    pub(crate) fn report(&self, e: &ProgressEvent) {
        if let Some(f) = &self.on_progress {
            f(e);
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests_parallel;

//! NeuralForecast orchestration: fit / predict / cross-validation / save / load over many models.
//! The binding converts JS values into these types and calls these methods on a worker thread.

mod core;
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

#[derive(Clone, Debug)]
pub struct CvOptions {
    pub n_windows: usize,
    /// Distance between cutoffs; None = 1, NeuralForecast's default.
    pub step_size: Option<usize>,
    pub val_size: usize,
    /// Retrain at every window instead of once.
    pub refit: bool,
    pub verbose: bool,
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

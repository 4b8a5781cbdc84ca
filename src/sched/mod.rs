//! Learning-rate schedules, one small file each. A schedule maps the training step (0-based) to
//! the learning rate used for that step.

mod cosine;
mod plateau;
mod step;
mod warmup;

pub use cosine::CosineAnnealing;
pub use plateau::ReduceOnPlateau;
pub use step::{ExponentialLr, StepLr};
pub use warmup::{WarmupCosine, WarmupLinear};

pub trait Scheduler: Send {
    /// The learning rate for training step `step`.
    fn lr(&mut self, step: usize) -> f64;
    /// Told each validation loss (only plateau schedules use it).
    fn observe_validation(&mut self, _loss: f64) {}
}

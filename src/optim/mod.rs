//! Optimizers: a per-parameter update over (param, grad, state), with state keyed by the
//! parameter's stable name so it can be checkpointed.

mod adam;
mod clip;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use clip::{clip_grad_norm, clip_grad_value};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::tensor::{Gradients, Tensor};

/// Updates parameters in place from their gradients.
pub trait Optimizer: Send {
    /// One update with learning rate `lr`. Parameters without a gradient are left alone.
    fn step(&mut self, params: &[(String, Tensor)], grads: &Gradients, lr: f64);
    /// Everything the next steps depend on, for a checkpoint.
    fn state(&self) -> OptimState;
    /// Continues from `state` (taken by [`Optimizer::state`] of the same kind of optimizer).
    fn restore(&mut self, state: OptimState) -> Result<()>;
}

/// An optimizer's state, per parameter name: its buffers (moments, velocity), each as long as
/// the parameter, and its step count. A parameter not yet stepped has no entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimState(pub BTreeMap<String, ParamState>);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamState {
    pub buffers: Vec<Vec<f32>>,
    pub step: u64,
}

impl OptimState {
    /// Per parameter, `state`'s buffers (exactly `buffers` of them, all of one length) turned
    /// into an optimizer's own entries by `make`.
    fn entries<T>(self, buffers: usize, mut make: impl FnMut(Vec<Vec<f32>>, u64) -> T) -> Result<std::collections::HashMap<String, T>> {
        self.0
            .into_iter()
            .map(|(name, p)| {
                let len = p.buffers.first().map_or(0, Vec::len);
                if p.buffers.len() != buffers || p.buffers.iter().any(|b| b.len() != len) {
                    return Err(Error::format(format!("the optimizer state of '{name}' has {} buffers, this optimizer keeps {buffers}", p.buffers.len())));
                }
                Ok((name, make(p.buffers, p.step)))
            })
            .collect()
    }
}

/// Which optimizer to train with, and its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerKind {
    /// PyTorch's Adam (NeuralForecast's default); `weight_decay` is L2 added to the gradient.
    Adam { betas: (f64, f64), eps: f64, weight_decay: f64 },
    /// Adam with decoupled weight decay.
    AdamW { betas: (f64, f64), eps: f64, weight_decay: f64 },
    Sgd { momentum: f64, dampening: f64, nesterov: bool, weight_decay: f64 },
    RmsProp { alpha: f64, eps: f64, momentum: f64, centered: bool, weight_decay: f64 },
}

impl Default for OptimizerKind {
    fn default() -> Self {
        OptimizerKind::Adam { betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.0 }
    }
}

impl OptimizerKind {
    /// AdamW with PyTorch's defaults.
    pub fn adamw() -> Self {
        OptimizerKind::AdamW { betas: (0.9, 0.999), eps: 1e-8, weight_decay: 0.01 }
    }

    pub fn build(&self) -> Box<dyn Optimizer> {
        match *self {
            OptimizerKind::Adam { betas, eps, weight_decay } => Box::new(Adam::new(betas, eps, weight_decay, false)),
            OptimizerKind::AdamW { betas, eps, weight_decay } => Box::new(Adam::new(betas, eps, weight_decay, true)),
            OptimizerKind::Sgd { momentum, dampening, nesterov, weight_decay } => Box::new(Sgd::new(momentum, dampening, nesterov, weight_decay)),
            OptimizerKind::RmsProp { alpha, eps, momentum, centered, weight_decay } => {
                Box::new(RmsProp::new(alpha, eps, momentum, centered, weight_decay))
            }
        }
    }
}

//! The training loop: sample, forward, backward, clip, step, schedule; validate every
//! `val_check_steps`; stop early on a validation plateau; report progress; honour cancellation.

mod checkpoint;
mod scaler;

use std::sync::atomic::{AtomicBool, Ordering};

pub mod collective;
mod data_parallel;
#[cfg(feature = "mpi")]
pub mod mpi;

pub use checkpoint::{Checkpoints, TaskState, TrainState};
pub use collective::{Collective, Local};
pub use scaler::LossScaler;

use crate::error::{Error, Result};
use crate::optim::{clip_grad_norm, clip_grad_value, OptimizerKind};
use crate::rng::Rng;
use crate::sched::{Scheduler, StepLr};
use crate::tensor::{with_grad_mode, with_precision, Gradients, Precision, Tensor};

/// What the trainer drives: a model with its data.
pub trait TrainTask {
    /// The trainable parameters, by stable name.
    fn params(&self) -> Vec<(String, Tensor)>;
    /// The loss of one freshly sampled training batch (a 0-d tensor with a graph).
    fn train_loss(&mut self, step: usize, rng: &mut Rng) -> Result<Tensor>;
    /// The validation loss, or None when there is no validation data.
    fn valid_loss(&mut self) -> Result<Option<f64>>;
    /// What the task changes as it trains besides its parameters, for checkpoints.
    fn state(&self) -> TaskState {
        TaskState::default()
    }
    /// Continues from a [`TrainTask::state`] of the same task.
    fn restore(&mut self, _state: TaskState) -> Result<()> {
        Ok(())
    }
    /// Data-parallel training: this rank's share of a freshly sampled global batch, as the sum of
    /// its points' losses (a 0-d tensor with a graph) and their count.
    fn train_loss_sum(&mut self, _step: usize, _rng: &mut Rng) -> Result<(Tensor, f64)> {
        Err(Error::value("this model cannot train data-parallel"))
    }
    /// Data-parallel training: this rank's share of the validation loss as (sum, count), count 0
    /// without validation data.
    fn valid_loss_sum(&mut self) -> Result<(f64, f64)> {
        Err(Error::value("this model cannot validate data-parallel"))
    }
}

/// Training settings, with NeuralForecast's meanings.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub max_steps: usize,
    pub learning_rate: f64,
    pub optimizer: OptimizerKind,
    /// Halvings of the rate over training (StepLR); <= 0 for none.
    pub num_lr_decays: i64,
    pub val_check_steps: usize,
    /// Validation checks without improvement before stopping; <= 0 disables early stopping
    /// (NeuralForecast adds Lightning's EarlyStopping only for a patience > 0).
    pub early_stop_patience_steps: i64,
    /// At the end, put back the weights of the best validation check.
    pub restore_best: bool,
    pub grad_clip_norm: Option<f64>,
    pub grad_clip_value: Option<f32>,
    pub seed: u64,
    /// Lightning's `precision`: f32, or bf16/f16 products (`tensor::precision`); '16-mixed'
    /// also scales the loss ([`LossScaler`]).
    pub precision: Precision,
}

impl TrainConfig {
    /// NeuralForecast's defaults around a step count and learning rate.
    pub fn new(max_steps: usize, learning_rate: f64) -> Self {
        TrainConfig {
            max_steps,
            learning_rate,
            optimizer: OptimizerKind::default(),
            num_lr_decays: -1,
            val_check_steps: 100,
            early_stop_patience_steps: -1,
            restore_best: false,
            grad_clip_norm: None,
            grad_clip_value: None,
            seed: 1,
            precision: Precision::F32,
        }
    }
}

/// One step's report to the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// 1-based.
    pub step: usize,
    pub max_steps: usize,
    pub train_loss: f64,
    /// The latest validation loss, if any has been computed.
    pub val_loss: Option<f64>,
    pub lr: f64,
    /// True on the step training ends with (the last one, or the one early stopping stops at).
    pub last: bool,
}

/// What happened during training.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainHistory {
    pub train_loss: Vec<f64>,
    /// (step, loss) at each validation check.
    pub val_loss: Vec<(usize, f64)>,
    pub lr: Vec<f64>,
    pub stopped_early: bool,
    pub best_step: Option<usize>,
}

fn snapshot(params: &[(String, Tensor)]) -> Vec<Vec<f32>> {
    params.iter().map(|(_, t)| t.to_vec()).collect()
}

/// Where the loop stands: the steps taken, the sampling stream, early stopping's count and best
/// check (with its weights when `restore_best`), and the history so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub step: usize,
    pub rng: Rng,
    pub bad_checks: i64,
    pub best: Option<(f64, Vec<Vec<f32>>)>,
    pub last_val: Option<f64>,
    pub history: TrainHistory,
    /// '16-mixed''s loss scale (unused otherwise).
    pub scaler: LossScaler,
}

/// The loss of one step's batch and its gradients times `scale`, on one process.
fn local_gradients(task: &mut dyn TrainTask, step: usize, rng: &mut Rng, cancel: &AtomicBool, scale: f32) -> Result<(f64, Gradients)> {
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::aborted());
    }
    // Autograd on for this step whatever mode the running thread was left in.
    with_grad_mode(true, || -> Result<(f64, Gradients)> {
        let loss = task.train_loss(step, rng)?;
        Ok((loss.item() as f64, loss.backward_scaled(scale)))
    })
}

/// Trains `task` per `cfg` on one process. `cancel` is checked before every step; `on_step`
/// hears every step.
pub fn fit(task: &mut dyn TrainTask, cfg: &TrainConfig, cancel: &AtomicBool, on_step: &mut dyn FnMut(&StepReport)) -> Result<TrainHistory> {
    fit_in(&Local, task, cfg, cancel, on_step, None)
}

/// [`fit`] as one rank of `world`: with more than one rank, data-parallel ([`data_parallel`]);
/// every rank ends with the same parameters. With `checkpoints`, it continues from the state
/// they hold, if any, and saves it there every `checkpoints.every()` steps (not on the step
/// training ends with: the caller saves what it ends with).
pub fn fit_in(
    world: &dyn Collective,
    task: &mut dyn TrainTask,
    cfg: &TrainConfig,
    cancel: &AtomicBool,
    on_step: &mut dyn FnMut(&StepReport),
    mut checkpoints: Option<&mut dyn Checkpoints>,
) -> Result<TrainHistory> {
    let params = task.params();
    let parallel = world.size() > 1;
    if parallel {
        data_parallel::start(world, &params, cfg)?;
    }
    let mut optimizer = cfg.optimizer.build();
    let mut schedule = StepLr::neuralforecast(cfg.learning_rate, cfg.max_steps, cfg.num_lr_decays);
    let mut run = match checkpoints.as_deref_mut().map(|c| c.resume()).transpose()?.flatten() {
        Some(saved) => saved.restore(&params, optimizer.as_mut(), task)?,
        None => Progress::fresh(cfg.seed),
    };
    let early_stop = cfg.early_stop_patience_steps > 0;
    while run.step < cfg.max_steps {
        let step = run.step;
        let lr = schedule.lr(step);
        let scaling = cfg.precision == Precision::F16Mixed;
        let scale = if scaling { run.scaler.scale } else { 1.0 };
        let (value, mut grads) = with_precision(cfg.precision, || match parallel {
            true => data_parallel::gradients(world, task, &params, step, &mut run.rng, cancel, scale),
            false => local_gradients(task, step, &mut run.rng, cancel, scale),
        })?;
        if !value.is_finite() {
            return Err(Error::value(format!("training diverged: the loss is {value} at step {} (try a smaller learningRate or another scalerType)", step + 1)));
        }
        // A step that reached no parameter would leave the initial weights in place and let them
        // be committed as a trained model: refuse it.
        if !params.iter().any(|(_, p)| grads.get(p).is_some()) {
            return Err(Error::value(format!(
                "internal error: training step {} computed no gradient for any parameter, so nothing was trained or committed (this is a bug in neuro-divergent; please report it)",
                step + 1
            )));
        }
        // GradScaler: an overflowed gradient skips the step (the scaler halves its scale).
        if !scaling || run.scaler.unscale(&params, &mut grads) {
            if let Some(limit) = cfg.grad_clip_value {
                clip_grad_value(&params, &mut grads, limit);
            }
            if let Some(max_norm) = cfg.grad_clip_norm {
                clip_grad_norm(&params, &mut grads, max_norm);
            }
            optimizer.step(&params, &grads, lr);
        }
        run.step += 1;
        run.history.train_loss.push(value);
        run.history.lr.push(lr);

        let done = step + 1 == cfg.max_steps;
        let mut stop = false;
        if cfg.val_check_steps > 0 && ((step + 1) % cfg.val_check_steps == 0 || done) {
            let valid = with_precision(cfg.precision, || if parallel { data_parallel::valid_loss(world, task, step + 1) } else { task.valid_loss() })?;
            if let Some(v) = valid {
                run.history.val_loss.push((step + 1, v));
                schedule.observe_validation(v);
                run.last_val = Some(v);
                // Lightning's EarlyStopping (mode 'min', min_delta 0): a strictly lower loss
                // than the best so far resets the count; anything else adds one, and the
                // count reaching the patience stops. A non-finite loss stops at once.
                if v.is_finite() && run.best.as_ref().map_or(true, |(b, _)| v < *b) {
                    run.best = Some((v, if cfg.restore_best { snapshot(&params) } else { Vec::new() }));
                    run.history.best_step = Some(step + 1);
                    run.bad_checks = 0;
                } else {
                    run.bad_checks += 1;
                }
                stop = early_stop && (!v.is_finite() || run.bad_checks >= cfg.early_stop_patience_steps);
            }
        }
        on_step(&StepReport { step: step + 1, max_steps: cfg.max_steps, train_loss: value, val_loss: run.last_val, lr, last: done || stop });
        if stop {
            run.history.stopped_early = true;
            break;
        }
        if let Some(c) = checkpoints.as_deref_mut().filter(|c| c.every() > 0 && run.step % c.every() == 0 && !done) {
            c.save(&TrainState::capture(&run, &params, optimizer.as_ref(), task))?;
        }
    }
    if cfg.restore_best {
        if let Some((_, weights)) = run.best {
            for ((_, p), w) in params.iter().zip(weights) {
                p.data_mut().copy_from_slice(&w);
            }
        }
    }
    Ok(run.history)
}

#[cfg(test)]
mod replay;
#[cfg(test)]
mod tests;

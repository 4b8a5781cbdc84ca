//! The trainer's state between two steps, as a checkpoint holds it: enough to continue a fit so
//! that it ends bit for bit where an uninterrupted one would. Where the state is written is the
//! caller's business ([`Checkpoints`]); this module only takes it, puts it back, and turns it into
//! JSON plus named f32 buffers (the shape of our model file) and back.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{LossScaler, Progress, TrainHistory, TrainTask};
use crate::error::{Error, Result};
use crate::optim::{OptimState, Optimizer, ParamState};
use crate::rng::{Rng, RngState};
use crate::tensor::Tensor;

/// What a task changes as it trains besides its parameters: random streams and sampler
/// positions (`meta`), and buffers such as BatchNorm statistics (`tensors`, by name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskState {
    pub meta: Value,
    pub tensors: Vec<(String, Vec<f32>)>,
}

/// A training run after `progress.step` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub progress: Progress,
    /// The parameters by name, in the task's order.
    pub params: Vec<(String, Vec<f32>)>,
    pub optimizer: OptimState,
    pub task: TaskState,
}

/// Where the trainer saves its state every `every()` steps, and finds a saved one to continue.
pub trait Checkpoints {
    /// Steps between saves; 0 saves none (the caller may still save when training ends).
    fn every(&self) -> usize;
    /// The state to continue from, if there is one.
    fn resume(&mut self) -> Result<Option<TrainState>>;
    fn save(&mut self, state: &TrainState) -> Result<()>;
}

impl TrainState {
    pub(super) fn capture(progress: &Progress, params: &[(String, Tensor)], optimizer: &dyn Optimizer, task: &dyn TrainTask) -> TrainState {
        TrainState { progress: progress.clone(), params: params.iter().map(|(n, t)| (n.clone(), t.to_vec())).collect(), optimizer: optimizer.state(), task: task.state() }
    }

    /// Puts the parameters, optimizer and task back as they were; returns the loop's progress.
    /// Checks every buffer against the parameter it belongs to before changing anything.
    pub(super) fn restore(self, params: &[(String, Tensor)], optimizer: &mut dyn Optimizer, task: &mut dyn TrainTask) -> Result<Progress> {
        let lens: HashMap<&str, usize> = params.iter().map(|(n, t)| (n.as_str(), t.numel())).collect();
        let names: Vec<&str> = self.params.iter().map(|(n, _)| n.as_str()).collect();
        if names != params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>() {
            return Err(bad("its parameters are not this model's"));
        }
        let fits = |name: &str, len: usize| lens.get(name) == Some(&len);
        if let Some((n, _)) = self.params.iter().find(|(n, v)| !fits(n, v.len())) {
            return Err(bad(format!("parameter '{n}' has the wrong size")));
        }
        if let Some((n, _)) = self.optimizer.0.iter().find(|(n, s)| s.buffers.iter().any(|b| !fits(n, b.len()))) {
            return Err(bad(format!("the optimizer state of '{n}' does not fit the parameter")));
        }
        if let Some((_, w)) = &self.progress.best {
            if !w.is_empty() && (w.len() != params.len() || w.iter().zip(params).any(|(w, (_, p))| w.len() != p.numel())) {
                return Err(bad("the best weights do not fit the model"));
            }
        }
        optimizer.restore(self.optimizer)?;
        task.restore(self.task)?;
        for ((_, p), (_, w)) in params.iter().zip(self.params) {
            p.data_mut().copy_from_slice(&w);
        }
        Ok(self.progress)
    }

    /// As JSON plus named buffers (names under `prefix`, so several states can share one file).
    pub fn encode(&self, prefix: &str) -> (Value, Vec<(String, Vec<f32>)>) {
        let p = &self.progress;
        let mut tensors: Vec<(String, Vec<f32>)> = self.params.iter().map(|(n, w)| (format!("{prefix}param.{n}"), w.clone())).collect();
        let mut steps = serde_json::Map::new();
        let mut slots = 0;
        for (name, st) in &self.optimizer.0 {
            steps.insert(name.clone(), json!(st.step));
            slots = st.buffers.len();
            tensors.extend(st.buffers.iter().enumerate().map(|(k, b)| (format!("{prefix}optim.{k}.{name}"), b.clone())));
        }
        tensors.extend(self.task.tensors.iter().map(|(n, b)| (format!("{prefix}task.{n}"), b.clone())));
        if let Some((_, weights)) = &p.best {
            tensors.extend(self.params.iter().zip(weights).map(|((n, _), w)| (format!("{prefix}best.{n}"), w.clone())));
        }
        let h = &p.history;
        let config = json!({
            "step": p.step,
            "rng": p.rng.state().to_text(),
            "bad_checks": p.bad_checks,
            "best_loss": p.best.as_ref().map(|(v, _)| v.to_bits()),
            "best_weights": p.best.as_ref().is_some_and(|(_, w)| !w.is_empty()),
            "last_val": p.last_val.map(f64::to_bits),
            "loss_scale": [p.scaler.scale.to_bits(), p.scaler.good_steps],
            "params": self.params.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "optim": {"slots": slots, "steps": steps},
            "task": {"meta": self.task.meta, "tensors": self.task.tensors.iter().map(|(n, _)| n).collect::<Vec<_>>()},
            // f64 values as their bits: exact, and NaN survives (JSON has no NaN).
            "history": {
                "train_loss": bits(&h.train_loss),
                "lr": bits(&h.lr),
                "val_loss": h.val_loss.iter().map(|(s, v)| json!([s, v.to_bits()])).collect::<Vec<_>>(),
                "stopped_early": h.stopped_early,
                "best_step": h.best_step,
            },
        });
        (config, tensors)
    }

    /// Reads what [`TrainState::encode`] wrote, taking its buffers out of `tensors`.
    pub fn decode(config: &Value, prefix: &str, tensors: &mut HashMap<String, Vec<f32>>) -> Result<TrainState> {
        let mut take = |name: String| tensors.remove(&name).ok_or_else(|| bad(format!("buffer '{name}' is missing")));
        let names = strings(&config["params"], "params")?;
        let params = names.iter().map(|n| Ok((n.clone(), take(format!("{prefix}param.{n}"))?))).collect::<Result<Vec<_>>>()?;
        let slots = uint(&config["optim"]["slots"], "optim.slots")? as usize;
        let mut optimizer = OptimState::default();
        for (name, step) in config["optim"]["steps"].as_object().ok_or_else(|| bad("optim.steps"))? {
            let buffers = (0..slots).map(|k| take(format!("{prefix}optim.{k}.{name}"))).collect::<Result<_>>()?;
            optimizer.0.insert(name.clone(), ParamState { buffers, step: uint(step, "optim.steps")? });
        }
        let task_tensors = strings(&config["task"]["tensors"], "task.tensors")?.into_iter().map(|n| Ok((n.clone(), take(format!("{prefix}task.{n}"))?))).collect::<Result<_>>()?;
        let best = match &config["best_loss"] {
            Value::Null => None,
            v => {
                let weights = if config["best_weights"].as_bool() == Some(true) { names.iter().map(|n| take(format!("{prefix}best.{n}"))).collect::<Result<_>>()? } else { Vec::new() };
                Some((f64::from_bits(uint(v, "best_loss")?), weights))
            }
        };
        let h = &config["history"];
        let val_loss = h["val_loss"]
            .as_array()
            .ok_or_else(|| bad("history.val_loss"))?
            .iter()
            .map(|e| Ok((uint(&e[0], "history.val_loss")? as usize, f64::from_bits(uint(&e[1], "history.val_loss")?))))
            .collect::<Result<_>>()?;
        let history = TrainHistory {
            train_loss: floats(&h["train_loss"], "history.train_loss")?,
            lr: floats(&h["lr"], "history.lr")?,
            val_loss,
            stopped_early: h["stopped_early"].as_bool().ok_or_else(|| bad("history.stopped_early"))?,
            best_step: h["best_step"].as_u64().map(|s| s as usize),
        };
        let progress = Progress {
            step: uint(&config["step"], "step")? as usize,
            rng: Rng::from_state(&config["rng"].as_str().and_then(RngState::from_text).ok_or_else(|| bad("rng"))?),
            bad_checks: config["bad_checks"].as_i64().ok_or_else(|| bad("bad_checks"))?,
            best,
            last_val: config["last_val"].as_u64().map(f64::from_bits),
            history,
            scaler: loss_scale(&config["loss_scale"])?,
        };
        Ok(TrainState { progress, params, optimizer, task: TaskState { meta: config["task"]["meta"].clone(), tensors: task_tensors } })
    }
}

impl Progress {
    pub(super) fn fresh(seed: u64) -> Progress {
        Progress { step: 0, rng: Rng::seed(seed), bad_checks: 0, best: None, last_val: None, history: TrainHistory::default(), scaler: LossScaler::default() }
    }
}

/// The loss scaler as `[scale's f32 bits, good steps]`; a state saved before the scaler existed
/// has none, and its fit had none (f32 only).
fn loss_scale(v: &Value) -> Result<LossScaler> {
    if v.is_null() {
        return Ok(LossScaler::default());
    }
    let field = |i: usize| v[i].as_u64().and_then(|x| u32::try_from(x).ok()).ok_or_else(|| bad("loss_scale"));
    Ok(LossScaler { scale: f32::from_bits(field(0)?), good_steps: field(1)? })
}

fn bad(why: impl std::fmt::Display) -> Error {
    Error::format(format!("the training state is inconsistent: {why}"))
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn uint(v: &Value, what: &str) -> Result<u64> {
    v.as_u64().ok_or_else(|| bad(what))
}

fn floats(v: &Value, what: &str) -> Result<Vec<f64>> {
    v.as_array().ok_or_else(|| bad(what))?.iter().map(|x| uint(x, what).map(f64::from_bits)).collect()
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    v.as_array().ok_or_else(|| bad(what))?.iter().map(|x| x.as_str().map(str::to_string).ok_or_else(|| bad(what))).collect()
}

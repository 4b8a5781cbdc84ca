//! A fit's checkpoint file (`checkpointEvery`, `checkpointPath`, `resume`): the weights of the
//! models that have finished training, the whole training state of the one in training (see
//! `train::TrainState`), and a fingerprint of what the fit was given, so that a job restarted
//! after a crash or a preemption continues where its last checkpoint stood and ends with the
//! forecasts an uninterrupted fit gives. The container is our model file's (checksummed, written
//! atomically); only the tensor names and the configuration differ.
//!
//! In a data-parallel fit (a world of several ranks) rank 0 alone writes the file, so it is one
//! file that a killed write leaves as it was (the atomic rename), and every rank resumes from the
//! same step: the one rank 0 wrote last. The parameters, the optimizer and the loop's history are
//! the same on every rank after each step's all-reduce; what is a rank's own (the data it was
//! given, its sampling streams and positions, its models' buffers) is gathered at each save and
//! stored per rank. On resume rank 0 reads the file and broadcasts it, and each rank checks it
//! against what it was given; a rank that refuses stops every rank.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::file::{self, StoredTensor};
use super::inputs::Statics;
use super::World;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::models::Model;
use crate::nn::{named_buffers, named_params};
use crate::tensor::Tensor;
use crate::train::collective::{agree, check_same};
use crate::train::{Checkpoints, Collective, TrainState};

/// What the checkpoint file is called in errors, and the kind its configuration declares.
const KIND: &str = "checkpoint file";
const VERSION: u64 = 1;

/// The fit options `checkpointEvery`, `checkpointPath` and `resume`.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointOptions {
    pub path: PathBuf,
    /// Training steps between saves; 0 saves only when each model finishes.
    pub every: usize,
    /// Continue from the file when it exists (otherwise it is overwritten).
    pub resume: bool,
}

/// What the fit was given, as the checkpoint records it: a resumed fit must be given the same.
/// `world`: the world of a data-parallel fit (of more than one rank).
pub(super) fn fingerprint(models: &[Box<dyn Model>], data: &Dataset, statics: &Statics, val_sizes: &[usize], max_steps: Option<usize>, world: Option<&World>) -> Value {
    let mut df = Sha256::new();
    df.update(data.exog_names.join("\0"));
    for s in &data.series {
        df.update((s.id.len() as u64).to_le_bytes());
        df.update(&s.id);
        df.update((s.len() as u64).to_le_bytes());
        s.ds.iter().for_each(|v| df.update(v.to_le_bytes()));
        s.y.iter().chain(s.exog.iter().flatten()).for_each(|v| df.update(v.to_le_bytes()));
    }
    let mut st = Sha256::new();
    st.update(statics.names.join("\0"));
    let mut ids: Vec<&String> = statics.rows.keys().collect();
    ids.sort();
    for id in ids {
        st.update((id.len() as u64).to_le_bytes());
        st.update(id);
        statics.rows[id].iter().for_each(|v| st.update(v.to_le_bytes()));
    }
    let mut start = Sha256::new();
    for m in models {
        for (name, t) in model_tensors(m.as_ref()) {
            start.update(name);
            t.to_vec().iter().for_each(|v| start.update(v.to_le_bytes()));
        }
    }
    let mut fp = json!({
        "df": hex(df),
        "staticDf": hex(st),
        "models": models.iter().map(|m| json!({"class": m.class_name(), "options": m.options_json()})).collect::<Vec<_>>(),
        "fit": {"valSize": val_sizes, "maxSteps": max_steps},
        "startWeights": hex(start),
    });
    // Absent for a fit of one process, as in checkpoints written before worlds had them.
    if let Some(w) = world {
        fp["world"] = json!({"size": w.collective.size()});
        fp["fit"]["sharded"] = json!(w.sharded);
    }
    fp
}

/// The parts of a checkpoint's configuration (JSON pointers) that are each rank's own: what it
/// was given, and its sampling streams and positions. Its tensors of its own are the task's
/// (`current.task.*`) and its finished models' buffers.
const RANK_FIELDS: [&str; 3] = ["/fingerprint", "/current/state/rng", "/current/state/task/meta"];

/// Where rank `k`'s own tensors are stored.
fn rank_prefix(k: usize) -> String {
    format!("rank{k}.")
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A model's parameters and buffers by name.
fn model_tensors(m: &dyn Model) -> Vec<(String, Tensor)> {
    named_params(m).into_iter().chain(named_buffers(m)).collect()
}

/// The checkpoint of one fit, in memory and on disk.
pub(super) struct FitCheckpoint {
    opts: CheckpointOptions,
    fingerprint: Value,
    /// The ranks of a data-parallel fit (None on one process).
    world: Option<Arc<dyn Collective>>,
    /// The finished models' weights and buffers, as stored (`finished.{i}.{name}`).
    finished: Vec<(String, StoredTensor)>,
    /// Which of `finished` differ between ranks (the buffers).
    own_finished: HashSet<String>,
    n_finished: usize,
    /// The model in training (set by [`FitCheckpoint::train`]).
    current: usize,
    /// The saved state of model `n_finished`, read from the file, until its training resumes.
    pending: Option<TrainState>,
}

impl FitCheckpoint {
    /// The checkpoint of a fit with `opts` (None without checkpoint options), every rank of
    /// `world` agreeing on the options first: a rank that checkpoints makes collective calls
    /// that the others must make too. `fingerprint` is computed only when there are options.
    pub fn open_in(opts: Option<&CheckpointOptions>, world: Option<&World>, fingerprint: impl FnOnce() -> Value) -> Result<Option<FitCheckpoint>> {
        if let Some(w) = world {
            let (set, every, resume) = opts.map_or((0.0, 0.0, 0.0), |o| (1.0, o.every as f64, f64::from(u8::from(o.resume))));
            check_same(w.collective.as_ref(), &[("checkpointPath (set or not)", set), ("checkpointEvery", every), ("resume", resume)])?;
        }
        opts.map(|o| FitCheckpoint::open(o, fingerprint(), world.map(|w| w.collective.clone()))).transpose()
    }

    /// A fresh checkpoint, or with `resume` the one in the file when there is one, which must
    /// have been written by a fit given what `fingerprint` says this one is given. In a world,
    /// rank 0 reads the file (the others' `checkpointPath` is not used) and broadcasts it.
    fn open(opts: &CheckpointOptions, fingerprint: Value, world: Option<Arc<dyn Collective>>) -> Result<FitCheckpoint> {
        let mut ck = FitCheckpoint { opts: opts.clone(), fingerprint, world, finished: Vec::new(), own_finished: HashSet::new(), n_finished: 0, current: 0, pending: None };
        if !opts.resume {
            return Ok(ck);
        }
        let Some(world) = ck.world.clone() else {
            if opts.path.exists() {
                ck.read(&ck.file_bytes()?)?;
            }
            return Ok(ck);
        };
        let bytes = if world.rank() == 0 && opts.path.exists() { ck.file_bytes() } else { Ok(Vec::new()) };
        let bytes = world.broadcast_bytes(agree(world.as_ref(), bytes, "reading the checkpoint")?)?;
        // No bytes: rank 0 found no checkpoint, and every rank starts afresh.
        let read = if bytes.is_empty() { Ok(()) } else { ck.read(&bytes) };
        agree(world.as_ref(), read, "the checks of the checkpoint")?;
        Ok(ck)
    }

    fn shown(&self) -> String {
        self.opts.path.display().to_string()
    }

    fn bad(&self, why: impl std::fmt::Display) -> Error {
        Error::format(format!("{} is not a valid neuro-divergent {KIND}: {why}", self.shown()))
    }

    fn file_bytes(&self) -> Result<Vec<u8>> {
        match std::fs::read(&self.opts.path) {
            Ok(b) if b.is_empty() => Err(self.bad("it is empty")),
            Ok(b) => Ok(b),
            Err(e) => Err(Error::io(format!("cannot read {KIND} {}: {e}", self.shown()))),
        }
    }

    fn refused(&self, what: impl std::fmt::Display) -> Error {
        Error::value(format!(
            "fit option 'resume': checkpoint {} was written by a fit given other {what}; give the same, or delete the file (or use another checkpointPath) to start afresh",
            self.shown()
        ))
    }

    fn read(&mut self, bytes: &[u8]) -> Result<()> {
        let (mut config, mut tensors) = file::decode_as(bytes, &self.shown(), KIND)?;
        match config["checkpoint"].as_u64() {
            Some(VERSION) => {}
            None => return Err(self.bad("it is not a checkpoint (a saved model is loaded with NeuralForecast.load)")),
            Some(v) => return Err(self.bad(format!("it is a checkpoint of format {v}, and this version of neuro-divergent reads format {VERSION}"))),
        }
        // Before anything a rank's own part holds: another world has other parts.
        if let Some(what) = world_difference(&config["fingerprint"], &self.fingerprint) {
            return Err(self.refused(what));
        }
        if let Some(w) = self.world.clone() {
            self.take_rank_part(&mut config, &mut tensors, w.rank())?;
        }
        if let Some(what) = difference(&config["fingerprint"], &self.fingerprint) {
            return Err(self.refused(what));
        }
        let n_models = self.fingerprint["models"].as_array().map_or(0, Vec::len);
        self.n_finished = config["finished"].as_u64().map(|n| n as usize).filter(|&n| n <= n_models).ok_or_else(|| self.bad("'finished'"))?;
        let (mut finished, rest): (HashMap<_, _>, HashMap<_, _>) = tensors.into_iter().partition(|(n, _)| n.starts_with("finished."));
        self.finished = finished.drain().collect();
        self.finished.sort_by(|a, b| a.0.cmp(&b.0));
        let current = &config["current"];
        if !current.is_null() {
            if current["model"].as_u64() != Some(self.n_finished as u64) {
                return Err(self.bad("its model in training is not the one after the finished ones"));
            }
            let mut buffers: HashMap<String, Vec<f32>> = rest.into_iter().map(|(n, t)| (n, t.data)).collect();
            self.pending = Some(TrainState::decode(&current["state"], "current.", &mut buffers).map_err(|e| e.context(self.shown()))?);
        }
        Ok(())
    }

    /// Puts rank `rank`'s own part of a checkpoint in place of rank 0's, and drops every rank's.
    fn take_rank_part(&mut self, config: &mut Value, tensors: &mut HashMap<String, StoredTensor>, rank: usize) -> Result<()> {
        let part = config["ranks"].get(rank).cloned().ok_or_else(|| self.bad(format!("it has no state of rank {rank}")))?;
        for field in RANK_FIELDS {
            if let Some(v) = config.pointer_mut(field) {
                *v = part[field].clone();
            }
        }
        let prefix = rank_prefix(rank);
        let ranks: Vec<String> = tensors.keys().filter(|n| n.starts_with("rank")).cloned().collect();
        for name in ranks {
            let t = tensors.remove(&name).expect("listed above");
            if let Some(own) = name.strip_prefix(&prefix) {
                if own.starts_with("finished.") {
                    self.own_finished.insert(own.to_string());
                }
                tensors.insert(own.to_string(), t);
            }
        }
        Ok(())
    }

    /// Trains model `i` with `train`, continuing from its saved state, and records it as finished;
    /// a model the checkpoint has finished gets its saved weights instead of training again.
    pub fn train(&mut self, i: usize, model: &dyn Model, train: impl FnOnce(&mut dyn Checkpoints) -> Result<()>) -> Result<()> {
        if i < self.n_finished {
            return self.restore_finished(i, model);
        }
        self.current = i;
        train(self)?;
        let prefix = format!("finished.{i}.");
        self.finished.extend(model_tensors(model).into_iter().map(|(n, t)| (format!("{prefix}{n}"), StoredTensor::f32(t.shape().to_vec(), t.to_vec()))));
        self.own_finished.extend(named_buffers(model).into_iter().map(|(n, _)| format!("{prefix}{n}")));
        self.n_finished = i + 1;
        self.write(None)
    }

    fn restore_finished(&self, i: usize, model: &dyn Model) -> Result<()> {
        let stored: HashMap<&str, &StoredTensor> = self.finished.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for (name, t) in model_tensors(model) {
            let key = format!("finished.{i}.{name}");
            match stored.get(key.as_str()) {
                Some(s) if s.shape == t.shape() && s.data.len() == t.numel() => t.data_mut().copy_from_slice(&s.data),
                _ => return Err(self.bad(format!("the weight '{key}' is missing or of the wrong shape"))),
            }
        }
        Ok(())
    }

    /// Writes the file: the finished models, and the model in training at `state`. In a world,
    /// every rank sends rank 0 its own part, rank 0 writes, and a failed write fails every rank.
    fn write(&self, state: Option<&TrainState>) -> Result<()> {
        let mut tensors = self.finished.clone();
        let current = state.map(|s| {
            let (config, buffers) = s.encode("current.");
            tensors.extend(buffers.into_iter().map(|(n, v)| (n, StoredTensor::f32(vec![v.len()], v))));
            json!({"model": self.current, "state": config})
        });
        let mut config = json!({"checkpoint": VERSION, "fingerprint": self.fingerprint, "finished": self.n_finished, "current": current});
        let Some(world) = &self.world else { return self.store(&config, &tensors) };
        let own = self.rank_part(&config, &tensors);
        let parts = world.all_gather_bytes(own.as_ref().map_or_else(|_| Vec::new(), Clone::clone))?;
        let written = match world.rank() {
            0 => self.with_rank_parts(&mut config, &mut tensors, &parts).and_then(|()| self.store(&config, &tensors)),
            _ => Ok(()),
        };
        agree(world.as_ref(), own.and(written), "saving the checkpoint")
    }

    fn store(&self, config: &Value, tensors: &[(String, StoredTensor)]) -> Result<()> {
        file::write_atomic(&self.opts.path, &file::encode(config, tensors)?).map_err(|e| e.context("fit option 'checkpointPath'"))
    }

    /// This rank's own part of the checkpoint `config` and `tensors` hold, as the bytes of a file.
    fn rank_part(&self, config: &Value, tensors: &[(String, StoredTensor)]) -> Result<Vec<u8>> {
        let fields: serde_json::Map<String, Value> = RANK_FIELDS.iter().map(|f| (f.to_string(), config.pointer(f).cloned().unwrap_or(Value::Null))).collect();
        let own: Vec<(String, StoredTensor)> = tensors.iter().filter(|(n, _)| n.starts_with("current.task.") || self.own_finished.contains(n)).cloned().collect();
        file::encode(&Value::Object(fields), &own)
    }

    /// Adds every rank's part (`parts`, in rank order) to rank 0's checkpoint.
    fn with_rank_parts(&self, config: &mut Value, tensors: &mut Vec<(String, StoredTensor)>, parts: &[Vec<u8>]) -> Result<()> {
        let mut fields = Vec::with_capacity(parts.len());
        for (k, bytes) in parts.iter().enumerate() {
            // An empty part: that rank could not encode its own, and says why itself.
            if bytes.is_empty() {
                return Err(Error::value(format!("rank {k} sent no checkpoint state")));
            }
            let (part, own) = file::decode_as(bytes, &format!("rank {k}'s checkpoint state"), KIND)?;
            fields.push(part);
            let prefix = rank_prefix(k);
            tensors.extend(own.into_iter().map(|(n, t)| (format!("{prefix}{n}"), t)));
        }
        config["ranks"] = Value::Array(fields);
        Ok(())
    }
}

impl Checkpoints for FitCheckpoint {
    fn every(&self) -> usize {
        self.opts.every
    }

    fn resume(&mut self) -> Result<Option<TrainState>> {
        Ok(if self.current == self.n_finished { self.pending.take() } else { None })
    }

    fn save(&mut self, state: &TrainState) -> Result<()> {
        self.write(Some(state))
    }
}

/// How the world of a checkpoint's fit and this fit's differ, in the user's words: the number of
/// ranks, or the mode (which, sharded, gives each rank other data).
fn world_difference(saved: &Value, now: &Value) -> Option<String> {
    let size = |fp: &Value| fp["world"]["size"].as_u64().unwrap_or(1);
    let (then, size_now) = (size(saved), size(now));
    if then != size_now {
        let ranks = |n: u64| if n == 1 { "one process".to_string() } else { format!("{n} processes") };
        let hint = if then == 1 { "resume it in one process".to_string() } else { format!("resume it with `mpirun -n {then}`") };
        return Some(format!("world size ({} in the checkpoint, {} now: {hint})", ranks(then), ranks(size_now)));
    }
    let sharded = |fp: &Value| fp["fit"]["sharded"].as_bool().unwrap_or(false);
    (sharded(saved) != sharded(now)).then(|| format!("fit options ('sharded': {} in the checkpoint, {} now)", sharded(saved), sharded(now)))
}

/// What differs between a checkpoint's fingerprint and this fit's, in the user's words.
fn difference(saved: &Value, now: &Value) -> Option<String> {
    if saved["df"] != now["df"] {
        return Some("data (df differs)".into());
    }
    if saved["staticDf"] != now["staticDf"] {
        return Some("static data (staticDf differs)".into());
    }
    let (a, b) = (saved["models"].as_array(), now["models"].as_array());
    if a.map(Vec::len) != b.map(Vec::len) {
        return Some(format!("models ({} in the checkpoint, {} now)", a.map_or(0, Vec::len), b.map_or(0, Vec::len)));
    }
    for (x, y) in a.into_iter().flatten().zip(b.into_iter().flatten()) {
        let class = y["class"].as_str().unwrap_or("?");
        if x["class"] != y["class"] {
            return Some(format!("models ({} in the checkpoint where this fit has {class})", x["class"].as_str().unwrap_or("?")));
        }
        if let Some(key) = differing_key(&x["options"], &y["options"]) {
            return Some(format!("model options ({class} option '{key}': {} in the checkpoint, {} now)", x["options"][&key], y["options"][&key]));
        }
    }
    let fit = (&saved["fit"], &now["fit"]);
    if let Some(key) = differing_key(fit.0, fit.1) {
        return Some(format!("fit options ('{key}': {} in the checkpoint, {} now)", fit.0[&key], fit.1[&key]));
    }
    if saved["startWeights"] != now["startWeights"] {
        return Some("starting weights (this fit continues from other weights: a fit after an earlier one, or another useInitModels)".into());
    }
    (saved != now).then(|| "inputs".into())
}

/// The first key of two objects whose values differ.
fn differing_key(a: &Value, b: &Value) -> Option<String> {
    let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let mut all = keys(a);
    all.extend(keys(b));
    all.sort();
    all.into_iter().find(|k| a[k] != b[k])
}

//! A fit's checkpoint file (`checkpointEvery`, `checkpointPath`, `resume`): the weights of the
//! models that have finished training, the whole training state of the one in training (see
//! `train::TrainState`), and a fingerprint of what the fit was given, so that a job restarted
//! after a crash or a preemption continues where its last checkpoint stood and ends with the
//! forecasts an uninterrupted fit gives. The container is our model file's (checksummed, written
//! atomically); only the tensor names and the configuration differ.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::file::{self, StoredTensor};
use super::inputs::Statics;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::models::Model;
use crate::nn::{named_buffers, named_params};
use crate::tensor::Tensor;
use crate::train::{Checkpoints, TrainState};

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
pub(super) fn fingerprint(models: &[Box<dyn Model>], data: &Dataset, statics: &Statics, val_sizes: &[usize], max_steps: Option<usize>) -> Value {
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
    json!({
        "df": hex(df),
        "staticDf": hex(st),
        "models": models.iter().map(|m| json!({"class": m.class_name(), "options": m.options_json()})).collect::<Vec<_>>(),
        "fit": {"valSize": val_sizes, "maxSteps": max_steps},
        "startWeights": hex(start),
    })
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
    /// The finished models' weights and buffers, as stored (`finished.{i}.{name}`).
    finished: Vec<(String, StoredTensor)>,
    n_finished: usize,
    /// The model in training (set by [`FitCheckpoint::train`]).
    current: usize,
    /// The saved state of model `n_finished`, read from the file, until its training resumes.
    pending: Option<TrainState>,
}

impl FitCheckpoint {
    /// A fresh checkpoint, or with `resume` the one in the file when there is one, which must
    /// have been written by a fit given what `fingerprint` says this one is given.
    pub fn open(opts: &CheckpointOptions, fingerprint: Value) -> Result<FitCheckpoint> {
        let mut ck = FitCheckpoint { opts: opts.clone(), fingerprint, finished: Vec::new(), n_finished: 0, current: 0, pending: None };
        if opts.resume && opts.path.exists() {
            ck.read()?;
        }
        Ok(ck)
    }

    fn shown(&self) -> String {
        self.opts.path.display().to_string()
    }

    fn bad(&self, why: impl std::fmt::Display) -> Error {
        Error::format(format!("{} is not a valid neuro-divergent {KIND}: {why}", self.shown()))
    }

    fn read(&mut self) -> Result<()> {
        let (config, tensors) = file::read_as(&self.opts.path, KIND)?;
        match config["checkpoint"].as_u64() {
            Some(VERSION) => {}
            None => return Err(self.bad("it is not a checkpoint (a saved model is loaded with NeuralForecast.load)")),
            Some(v) => return Err(self.bad(format!("it is a checkpoint of format {v}, and this version of neuro-divergent reads format {VERSION}"))),
        }
        if let Some(what) = difference(&config["fingerprint"], &self.fingerprint) {
            return Err(Error::value(format!(
                "fit option 'resume': checkpoint {} was written by a fit given other {what}; give the same, or delete the file (or use another checkpointPath) to start afresh",
                self.shown()
            )));
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

    /// Writes the file: the finished models, and the model in training at `state`.
    fn write(&self, state: Option<&TrainState>) -> Result<()> {
        let mut tensors = self.finished.clone();
        let current = state.map(|s| {
            let (config, buffers) = s.encode("current.");
            tensors.extend(buffers.into_iter().map(|(n, v)| (n, StoredTensor::f32(vec![v.len()], v))));
            json!({"model": self.current, "state": config})
        });
        let config = json!({"checkpoint": VERSION, "fingerprint": self.fingerprint, "finished": self.n_finished, "current": current});
        file::write_atomic(&self.opts.path, &file::encode(&config, &tensors)?).map_err(|e| e.context("fit option 'checkpointPath'"))
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

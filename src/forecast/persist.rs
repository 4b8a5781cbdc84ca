//! What a saved NeuralForecast holds: each model's class, options and weights, the freq, and the
//! fitted data (so `predict()` works after `load()` exactly as before `save()`).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::conformal::{Conformal, IntervalMethod, PredictionIntervals};
use super::core::NeuralForecast;
use super::file::{self, StoredTensor};
use super::inputs::Statics;
use super::FreqSpec;
use crate::data::{Dataset, Series};
use crate::error::{Error, Result};
use crate::kernels::half::HalfKind;
use crate::models;
use crate::nn::{named_buffers, named_params};

/// The largest finite f16.
const F16_MAX: f32 = 65504.0;

fn bad(why: impl std::fmt::Display) -> Error {
    Error::format(format!("the model file is inconsistent: {why}"))
}

/// Writes `nf` to `path`; `weights` stores the models' parameters in 16 bits (their buffers, such
/// as BatchNorm statistics, and the fitted data stay f32).
pub fn save(nf: &NeuralForecast, extra: &Value, path: &Path, weights: Option<HalfKind>) -> Result<()> {
    // Unfitted weights are random: a file of them would load and then refuse to predict.
    if nf.data.is_none() {
        return Err(Error::value("save() before fit(): there is nothing trained to save; fit (or crossValidation) first"));
    }
    let mut tensors = Vec::new();
    let mut model_cfg = Vec::new();
    for (i, m) in nf.models.iter().enumerate() {
        model_cfg.push(json!({"class": m.class_name(), "options": m.options_json()}));
        for (name, t) in named_params(m.as_ref()) {
            let data = t.to_vec();
            if weights == Some(HalfKind::F16) {
                if let Some(v) = data.iter().find(|v| v.is_finite() && v.abs() > F16_MAX) {
                    return Err(Error::range(format!(
                        "save option weights 'f16': {} weight '{name}' holds {v}, beyond f16's range (±{F16_MAX}); use weights 'bf16', which has f32's range",
                        m.class_name()
                    )));
                }
            }
            tensors.push((format!("models.{i}.{name}"), StoredTensor { shape: t.shape().to_vec(), data, half: weights }));
        }
        // Buffers (BatchNorm running statistics) are saved beside the weights.
        for (name, t) in named_buffers(m.as_ref()) {
            tensors.push((format!("models.{i}.{name}"), StoredTensor::f32(t.shape().to_vec(), t.to_vec())));
        }
    }
    let data_cfg = match &nf.data {
        None => Value::Null,
        Some(d) => {
            tensors.push(("data.y".into(), StoredTensor::f32(vec![d.series.iter().map(Series::len).sum()], d.series.iter().flat_map(|s| s.y.iter().copied()).collect())));
            for j in 0..d.exog_names.len() {
                let data: Vec<f32> = d.series.iter().flat_map(|s| s.exog[j].iter().copied()).collect();
                tensors.push((format!("data.exog.{j}"), StoredTensor::f32(vec![data.len()], data)));
            }
            let mut static_ids: Vec<&String> = nf.statics.rows.keys().collect();
            static_ids.sort();
            if !static_ids.is_empty() {
                let data: Vec<f32> = static_ids.iter().flat_map(|id| nf.statics.rows[*id].iter().copied()).collect();
                tensors.push(("data.static".into(), StoredTensor::f32(vec![static_ids.len(), nf.statics.names.len()], data)));
            }
            json!({
                "series": d.series.iter().map(|s| json!({"id": s.id, "start": s.ds[0], "len": s.len()})).collect::<Vec<_>>(),
                "exog": d.exog_names,
                "static_names": nf.statics.names,
                "static_ids": static_ids,
            })
        }
    };
    let freq = match &nf.freq_spec {
        FreqSpec::Alias(a) => json!(a),
        FreqSpec::Step(s) => json!(s),
    };
    let intervals = match &nf.conformal {
        None => Value::Null,
        Some(c) => {
            let mut with_scores = Vec::new();
            for (i, s) in c.scores.iter().enumerate() {
                if let Some(s) = s {
                    tensors.push((format!("conformal.{i}"), StoredTensor::f32(vec![c.series.len(), c.spec.n_windows, c.h], s.clone())));
                    with_scores.push(i);
                }
            }
            json!({"method": c.spec.method.name(), "n_windows": c.spec.n_windows, "step_size": c.spec.step_size, "h": c.h, "series": c.series, "models": with_scores})
        }
    };
    let config = json!({"freq": freq, "holidays": nf.holidays, "models": model_cfg, "data": data_cfg, "intervals": intervals, "extra": extra});
    file::write_atomic(path, &file::encode(&config, &tensors)?)
}

pub fn load(path: &Path) -> Result<NeuralForecast> {
    let (config, tensors) = file::read(path)?;
    if !config["checkpoint"].is_null() {
        return Err(Error::format(format!(
            "{} is a training checkpoint (fit option 'checkpointPath'), not a saved model: fit with resume: true continues from it, and save() writes a model",
            path.display()
        )));
    }
    from_parts(&config, tensors)
}

/// A NeuralForecast from a decoded model file's configuration and tensors, each checked against
/// the other (the checksum only says the file is as written, not that it was written by us).
pub(super) fn from_parts(config: &Value, mut tensors: HashMap<String, StoredTensor>) -> Result<NeuralForecast> {
    let freq_spec = match &config["freq"] {
        Value::String(s) => FreqSpec::Alias(s.clone()),
        Value::Number(n) => FreqSpec::Step(n.as_f64().ok_or_else(|| bad("freq"))?),
        _ => return Err(bad("freq is missing")),
    };
    let model_cfg = config["models"].as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad("no models"))?;
    let mut loaded = Vec::new();
    for (i, mc) in model_cfg.iter().enumerate() {
        let class = mc["class"].as_str().ok_or_else(|| bad(format!("model {i} has no class")))?;
        let m = models::build(class, &mc["options"]).map_err(|e| bad(format!("model {i}: {e}")))?;
        for (name, t) in named_params(m.as_ref()).into_iter().chain(named_buffers(m.as_ref())) {
            let key = format!("models.{i}.{name}");
            let stored = tensors.remove(&key).ok_or_else(|| bad(format!("weight '{key}' is missing")))?;
            if stored.shape != t.shape() {
                return Err(bad(format!("weight '{key}' has shape {:?}, the model needs {:?}", stored.shape, t.shape())));
            }
            t.data_mut().copy_from_slice(&stored.data);
            if let Some(kind) = stored.half {
                t.round_to_half(kind);
            }
        }
        loaded.push(m);
    }
    let holidays: Vec<f64> = match &config["holidays"] {
        Value::Null => Vec::new(),
        v => v.as_array().ok_or_else(|| bad("holidays"))?.iter().map(|d| d.as_f64().ok_or_else(|| bad("holidays"))).collect::<Result<_>>()?,
    };
    let mut nf = NeuralForecast::from_models(loaded, freq_spec)?.with_holidays(&holidays).map_err(bad)?;
    nf.extra = config["extra"].clone();
    if !config["data"].is_null() {
        let (data, statics) = load_data(&config["data"], &mut tensors, &nf)?;
        nf.data = Some(data);
        nf.statics = statics;
    }
    if !config["intervals"].is_null() {
        nf.conformal = Some(load_conformal(&config["intervals"], &mut tensors, nf.models.len())?);
    }
    Ok(nf)
}

/// The conformity scores of a fit with `predictionIntervals` (files written before them have none).
fn load_conformal(cfg: &Value, tensors: &mut HashMap<String, StoredTensor>, n_models: usize) -> Result<Conformal> {
    let count = |key: &str| cfg[key].as_u64().map(|v| v as usize).ok_or_else(|| bad(format!("intervals.{key}")));
    let spec = PredictionIntervals { n_windows: count("n_windows")?, step_size: count("step_size")?, method: IntervalMethod::parse(cfg["method"].as_str().unwrap_or("")).map_err(bad)? };
    spec.check().map_err(bad)?;
    let h = count("h")?;
    let series: Vec<String> = cfg["series"].as_array().ok_or_else(|| bad("intervals.series"))?.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| bad("intervals.series"))).collect::<Result<_>>()?;
    let mut scores = vec![None; n_models];
    for i in cfg["models"].as_array().ok_or_else(|| bad("intervals.models"))? {
        let i = i.as_u64().map(|v| v as usize).filter(|&i| i < n_models).ok_or_else(|| bad("intervals.models"))?;
        let t = tensors.remove(&format!("conformal.{i}")).ok_or_else(|| bad(format!("conformal.{i} is missing")))?;
        if t.shape != [series.len(), spec.n_windows, h] || t.data.len() != series.len() * spec.n_windows * h {
            return Err(bad(format!("conformal.{i} has shape {:?}, the intervals need {:?}", t.shape, [series.len(), spec.n_windows, h])));
        }
        scores[i] = Some(t.data);
    }
    Ok(Conformal { spec, series, h, scores })
}

fn load_data(cfg: &Value, tensors: &mut HashMap<String, StoredTensor>, nf: &NeuralForecast) -> Result<(Dataset, Statics)> {
    let strings = |v: &Value| -> Result<Vec<String>> {
        v.as_array().ok_or_else(|| bad("data lists"))?.iter().map(|x| x.as_str().map(str::to_string).ok_or_else(|| bad("data lists"))).collect()
    };
    let exog_names = strings(&cfg["exog"])?;
    let y = tensors.remove("data.y").ok_or_else(|| bad("data.y is missing"))?.data;
    let exog: Vec<Vec<f32>> =
        (0..exog_names.len()).map(|j| tensors.remove(&format!("data.exog.{j}")).map(|t| t.data).ok_or_else(|| bad(format!("data.exog.{j} is missing")))).collect::<Result<_>>()?;
    let mut series = Vec::new();
    let mut at = 0usize;
    for s in cfg["series"].as_array().ok_or_else(|| bad("data.series"))? {
        let id = s["id"].as_str().ok_or_else(|| bad("series id"))?.to_string();
        let start = s["start"].as_f64().ok_or_else(|| bad("series start"))?;
        let len = s["len"].as_u64().ok_or_else(|| bad("series len"))? as usize;
        // Checked: a huge length would wrap the end below the stored values and pass.
        let end = at.checked_add(len).filter(|&end| len > 0 && end <= y.len() && exog.iter().all(|c| c.len() >= end));
        let Some(end) = end else {
            return Err(bad(format!("series '{id}' runs past the stored values")));
        };
        series.push(Series {
            id,
            ds: (0..len).map(|k| nf.freq.advance(start, k as i64)).collect(),
            y: y[at..end].to_vec(),
            exog: exog.iter().map(|c| c[at..end].to_vec()).collect(),
        });
        at = end;
    }
    let names = strings(&cfg["static_names"])?;
    let ids = strings(&cfg["static_ids"])?;
    let mut rows = HashMap::new();
    if !ids.is_empty() {
        let t = tensors.remove("data.static").ok_or_else(|| bad("data.static is missing"))?;
        if t.data.len() != ids.len() * names.len() {
            return Err(bad("data.static has the wrong size"));
        }
        for (r, id) in ids.into_iter().enumerate() {
            rows.insert(id, t.data[r * names.len()..(r + 1) * names.len()].to_vec());
        }
    }
    Ok((Dataset { series, exog_names }, Statics { names, rows }))
}

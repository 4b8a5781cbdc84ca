//! The memory limit: options whose weights or batches would not fit are refused with a
//! `RangeError` before anything is allocated, because a failed allocation aborts the process
//! (Rust's allocator does not unwind) and takes the user's Node.js process with it.
//!
//! The limit is half of the machine's physical memory (or of the container's cgroup limit, when
//! lower), or `NEURO_DIVERGENT_MEMORY_LIMIT` (bytes, or with a unit: `512MB`, `8GB`, `1.5TB`).

use serde_json::Value;

use super::{CommonOptions, ModelConfig};
use crate::error::{Error, Result};

/// The environment variable that sets the limit.
pub const ENV: &str = "NEURO_DIVERGENT_MEMORY_LIMIT";

/// Bytes of one value (f32).
const VALUE: f64 = 4.0;
/// Copies of each parameter a training step holds: weights, gradients, and Adam's two moments.
const PARAM_COPIES: f64 = 4.0;
/// Per window, training keeps each activation and (in backward) its gradient.
const TRAIN_ACTIVATION_COPIES: f64 = 2.0;
/// Copies of each parameter inference holds: the weights, and the transposed copy of each
/// linear weight that products of many rows read (`Tensor::transposed`).
const INFERENCE_PARAM_COPIES: f64 = 2.0;

/// Used when the physical memory cannot be read (not Linux, macOS or another Unix).
const FALLBACK_PHYSICAL: f64 = 8.0 * GIB;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The limit in bytes and how it was set (for messages).
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub bytes: f64,
    pub source: String,
}

/// Reads the limit now (the environment variable first, then the machine).
pub fn limit() -> Result<Limit> {
    match std::env::var(ENV) {
        Ok(text) => parse_bytes(&text)
            .map(|bytes| Limit { bytes, source: format!("set by {ENV}") })
            .ok_or_else(|| Error::range(format!("{ENV} must be a size such as 8GB, 512MB or 1000000000 (bytes), got '{text}'"))),
        Err(_) => {
            // Read once: a predict checks its batch against the limit, and reading the cgroup
            // files each time cost a few µs per forecast.
            static PHYSICAL: std::sync::OnceLock<Option<f64>> = std::sync::OnceLock::new();
            let (bytes, what) = PHYSICAL.get_or_init(physical_memory).map_or((FALLBACK_PHYSICAL, "an assumed 8 GB"), |b| (b, "physical memory"));
            Ok(Limit { bytes: bytes / 2.0, source: format!("half of {what}; set {ENV} to change it") })
        }
    }
}

/// `"8GB"`, `"512 MiB"`, `"1.5t"`, `"1000000"` → bytes (units are powers of 1024).
pub fn parse_bytes(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit = unit.trim().trim_end_matches("ib").trim_end_matches('b');
    let scale = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => GIB,
        "t" => GIB * 1024.0,
        _ => return None,
    };
    let v: f64 = number.parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v * scale)
}

#[cfg(unix)]
fn physical_memory() -> Option<f64> {
    // SAFETY: sysconf only reads system configuration.
    let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    let physical = (pages > 0 && size > 0).then(|| pages as f64 * size as f64);
    // A container's memory limit (cgroup v2, then v1) is what the process can really use.
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse::<f64>().ok());
    match (physical, cgroup) {
        (Some(p), Some(c)) => Some(p.min(c)),
        (p, c) => p.or(c),
    }
}

#[cfg(not(unix))]
fn physical_memory() -> Option<f64> {
    None
}

/// `1536` → `"1.5 KB"`.
pub fn human(bytes: f64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} bytes")
    } else if v >= 1e4 {
        format!("{v:.3e} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A whole number above 1, or a list of them (or of lists of them, like NHITS' `mlpUnits`).
fn is_size(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty() && a.iter().all(|x| x.is_u64() || x.as_array().is_some_and(|r| r.iter().all(Value::is_u64))),
        _ => v.as_u64().is_some_and(|n| n > 1),
    }
}

/// The options a model's size follows: horizon, window and the model's own whole-number options.
fn size_options(config: &dyn ModelConfig) -> String {
    let c = config.common();
    let common = c.to_json();
    let mut parts = vec![format!("h={}", c.h), format!("inputSize={}", c.input_size)];
    for (k, v) in config.options_json().as_object().into_iter().flatten() {
        if common.get(k).is_none() && is_size(v) {
            parts.push(if v.is_array() { k.clone() } else { format!("{k}={v}") });
        }
    }
    let exog = c.hist_exog_list.len() + c.futr_exog_list.len() + c.stat_exog_list.len();
    if exog > 0 {
        parts.push(format!("{exog} exogenous variables"));
    }
    parts.join(", ")
}

/// Values of one window's input tensors (history, mask, target, exogenous).
fn window_inputs(c: &CommonOptions) -> f64 {
    let (l, h) = (c.input_size as f64, c.h as f64);
    let (nx, nf, ns) = (c.hist_exog_list.len() as f64, c.futr_exog_list.len() as f64, c.stat_exog_list.len() as f64);
    l * (2.0 + nx) + 2.0 * h + (l + h) * nf + ns
}

/// Bytes one training step of `config` needs: its parameters with gradients and Adam state, and a
/// batch of `windowsBatchSize` windows (NeuralForecast samples that many with replacement even
/// from fewer windows, so the batch does not depend on the data).
pub fn training_bytes(config: &dyn ModelConfig) -> (f64, f64) {
    let f = config.footprint();
    let windows = config.common().windows_batch_size as f64;
    (f.params * PARAM_COPIES * VALUE, windows * (window_inputs(config.common()) + TRAIN_ACTIVATION_COPIES * f.per_window) * VALUE)
}

/// Refuses options whose training step would need more than `limit`.
pub fn check_options(config: &dyn ModelConfig, limit: &Limit) -> Result<()> {
    let (params, batch) = training_bytes(config);
    if params + batch <= limit.bytes {
        return Ok(());
    }
    let c = config.common();
    Err(Error::range(format!(
        "{} options need {} of memory to train, over the limit of {} ({}): {} for {:.3e} parameters with their gradients and Adam state (from {}), and {} for a batch of windowsBatchSize={} windows",
        config.class_name(),
        human(params + batch),
        human(limit.bytes),
        limit.source,
        human(params),
        config.footprint().params,
        size_options(config),
        human(batch),
        c.windows_batch_size,
    )))
}

/// Refuses a data-dependent batch of `windows` windows (`what`: e.g. "validation") before it is
/// allocated. `train` counts gradients too.
pub fn check_batch(config: &dyn ModelConfig, what: &str, windows: usize, train: bool, limit: &Limit) -> Result<()> {
    let f = config.footprint();
    let copies = if train { TRAIN_ACTIVATION_COPIES } else { 1.0 };
    let params = f.params * if train { PARAM_COPIES } else { INFERENCE_PARAM_COPIES } * VALUE;
    let batch = windows as f64 * (window_inputs(config.common()) + copies * f.per_window) * VALUE;
    if params + batch <= limit.bytes {
        return Ok(());
    }
    Err(Error::range(format!(
        "{}: {what} would need {} of memory for {windows} windows in one batch (plus {} of weights), over the limit of {} ({}); use fewer series at once, a smaller valSize or inferenceWindowsBatchSize, or a higher limit",
        config.class_name(),
        human(batch),
        human(params),
        human(limit.bytes),
        limit.source,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("1000"), Some(1000.0));
        assert_eq!(parse_bytes("8GB"), Some(8.0 * GIB));
        assert_eq!(parse_bytes(" 1.5 gib "), Some(1.5 * GIB));
        assert_eq!(parse_bytes("512m"), Some(512.0 * 1024.0 * 1024.0));
        for bad in ["", "abc", "-1GB", "0", "8XB", "1e3"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
        assert_eq!(human(1536.0), "1.5 KB");
    }

    #[test]
    fn the_machine_limit_is_positive() {
        let m = physical_memory().unwrap_or(FALLBACK_PHYSICAL);
        assert!(m > 64.0 * 1024.0 * 1024.0, "{m}");
    }
}

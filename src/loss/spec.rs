//! Parsing a loss from the JS API's options (`{ type: 'MQLoss', level: [80, 90] }`).

use serde_json::{Map, Value};

use super::Loss;
use crate::error::{Error, Result};

const KNOWN: &str = "MAE, MSE, RMSE, MAPE, SMAPE, MASE, HuberLoss, QuantileLoss, MQLoss, DistributionLoss";

fn number(obj: &Map<String, Value>, loss: &str, key: &str) -> Result<Option<f64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::type_err(format!("{loss} option '{key}' must be a number, got {other}"))),
    }
}

fn numbers(obj: &Map<String, Value>, loss: &str, key: &str) -> Result<Option<Vec<f64>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_f64().ok_or_else(|| Error::type_err(format!("{loss} option '{key}' must be an array of numbers, got {v} in it"))))
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(other) => Err(Error::type_err(format!("{loss} option '{key}' must be an array of numbers, got {other}"))),
    }
}

/// How Python prints a float (`repr`, what NeuralForecast's f-strings show) from Rust's
/// shortest round-trip digits, plain and in exponent form: `.0` on whole numbers, and the
/// exponent form (`1e-05`, `1.5e+16`) below 1e-4 or from 1e16.
fn python_float(plain: String, sci: String) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if plain.contains(|c: char| c.is_ascii_digit() && c != '0') && (exp < -4 || exp >= 16) {
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    if plain.contains('.') || plain.contains("inf") || plain.contains("NaN") {
        plain
    } else {
        plain + ".0"
    }
}

pub(crate) fn python_f64(x: f64) -> String {
    python_float(format!("{x}"), format!("{x:e}"))
}

pub(super) fn python_f32(x: f32) -> String {
    python_float(format!("{x}"), format!("{x:e}"))
}

/// A number as Python would print the value JSON parsed it to: an int stays an int.
fn python_number(v: &Value) -> String {
    match v.as_i64() {
        Some(i) if v.is_i64() || v.is_u64() => i.to_string(),
        _ => python_f64(v.as_f64().unwrap_or(f64::NAN)),
    }
}

/// NeuralForecast's `level_to_outputs`: the median, then the lo/hi quantiles sorted ascending,
/// named by each level as given (`80` gives `-lo-80`, `80.5` gives `-lo-80.5`); duplicates
/// dropped, keeping the first.
fn from_levels(levels: &[Value], kind: &str) -> Result<(Vec<f32>, Vec<String>)> {
    let mut seen: Vec<(f64, String)> = Vec::new();
    for v in levels {
        let l = v.as_f64().ok_or_else(|| Error::type_err(format!("{kind} option 'level' must be an array of numbers, got {v} in it")))?;
        if !(l > 0.0 && l < 100.0) {
            return Err(Error::range(format!("{kind} level must be in (0, 100), got {l}")));
        }
        if !seen.iter().any(|(x, _)| *x == l) {
            seen.push((l, python_number(v)));
        }
    }
    let mut pairs: Vec<(f64, String)> = Vec::new();
    for (l, name) in &seen {
        pairs.push((50.0 - l / 2.0, format!("-lo-{name}")));
        pairs.push((50.0 + l / 2.0, format!("-hi-{name}")));
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // As torch.Tensor(qs) / 100: to f32 first, then divided in f32.
    let mut q = vec![0.5f32];
    let mut names = vec!["-median".to_string()];
    for (p, n) in pairs {
        q.push(p as f32 / 100.0);
        names.push(n);
    }
    Ok((q, names))
}

/// NeuralForecast's `quantiles_to_outputs`: quantiles in the order given, each named by
/// `np.round(100 - 200q, 2)` printed as a Python float (`0.1` gives `-lo-80.0`).
fn from_quantiles(quantiles: &[f64], kind: &str) -> Result<(Vec<f32>, Vec<String>)> {
    let mut seen: Vec<f64> = Vec::new();
    let mut q = Vec::new();
    let mut names = Vec::new();
    for &x in quantiles {
        if !(x > 0.0 && x < 1.0) {
            return Err(Error::range(format!("{kind} quantiles must be in (0, 1), got {x}")));
        }
        if seen.contains(&x) {
            continue;
        }
        seen.push(x);
        // numpy's round: scale, round half to even, scale back.
        let round2 = |v: f64| (v * 100.0).round_ties_even() / 100.0;
        names.push(if x < 0.5 {
            format!("-lo-{}", python_f64(round2(100.0 - 200.0 * x)))
        } else if x > 0.5 {
            format!("-hi-{}", python_f64(round2(100.0 - 200.0 * (1.0 - x))))
        } else {
            "-median".to_string()
        });
        q.push(x as f32);
    }
    Ok((q, names))
}

/// Quantiles and column suffixes from `level` (default [80, 90]) or `quantiles`.
/// DistributionLoss sorts `quantiles` first; MQLoss keeps their order (as NeuralForecast).
fn quantiles_or_levels(obj: &Map<String, Value>, kind: &str) -> Result<(Vec<f32>, Vec<String>)> {
    let levels = match obj.get("level") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.clone()),
        Some(other) => return Err(Error::type_err(format!("{kind} option 'level' must be an array of numbers, got {other}"))),
    };
    let (quantiles, names) = match (numbers(obj, kind, "quantiles")?, levels) {
        (Some(mut q), None) => {
            if kind == "DistributionLoss" {
                q.sort_by(f64::total_cmp);
            }
            from_quantiles(&q, kind)?
        }
        (None, level) => from_levels(&level.unwrap_or_else(|| vec![80.into(), 90.into()]), kind)?,
        (Some(_), Some(_)) => return Err(Error::type_err(format!("{kind} takes 'level' or 'quantiles', not both"))),
    };
    if quantiles.is_empty() {
        return Err(Error::range(format!("{kind} needs at least one level or quantile")));
    }
    Ok((quantiles, names))
}

impl Loss {
    /// Parses `{type: 'MAE'}`, `'MAE'`, `{type: 'MQLoss', level: [80, 90]}`, etc. `option` names the
    /// model option being parsed (`loss` or `validLoss`) in errors.
    pub fn from_json(v: &Value, option: &str) -> Result<Loss> {
        let obj = match v {
            Value::String(s) => {
                let mut m = Map::new();
                m.insert("type".into(), Value::String(s.clone()));
                m
            }
            Value::Object(m) => m.clone(),
            other => return Err(Error::type_err(format!("option '{option}' must be a loss object such as new MAE(), got {other}"))),
        };
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::type_err(format!("option '{option}' must name its loss type ({KNOWN})")))?
            .to_string();
        let allowed: &[&str] = match kind.as_str() {
            "MAE" | "MSE" | "RMSE" | "MAPE" | "SMAPE" => &["type"],
            "HuberLoss" => &["type", "delta"],
            "QuantileLoss" => &["type", "q"],
            "MQLoss" => &["type", "level", "quantiles"],
            "MASE" => &["type", "seasonality"],
            "DistributionLoss" => &["type", "distribution", "level", "quantiles", "numSamples"],
            _ => return Err(Error::type_err(format!("option '{option}': unknown loss '{kind}'; available: {KNOWN}"))),
        };
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::type_err(format!("{kind}: unknown option '{k}' (allowed: {})", allowed[1..].join(", "))));
        }
        Ok(match kind.as_str() {
            "MAE" => Loss::Mae,
            "MSE" => Loss::Mse,
            "RMSE" => Loss::Rmse,
            "MAPE" => Loss::Mape,
            "SMAPE" => Loss::Smape,
            "MASE" => {
                let s = number(&obj, &kind, "seasonality")?.ok_or_else(|| Error::type_err("MASE needs option 'seasonality' (e.g. 12 for monthly data)"))?;
                if !(s >= 1.0 && s.fract() == 0.0) {
                    return Err(Error::range(format!("MASE option 'seasonality' must be a whole number >= 1, got {s}")));
                }
                Loss::Mase { seasonality: s as usize }
            }
            "DistributionLoss" => {
                let name = obj.get("distribution").and_then(Value::as_str).ok_or_else(|| {
                    Error::type_err("DistributionLoss needs option 'distribution': 'Normal', 'StudentT', 'Poisson' or 'NegativeBinomial'")
                })?;
                let distribution = super::Distribution::parse(name).ok_or_else(|| {
                    Error::range(format!("DistributionLoss option 'distribution' must be 'Normal', 'StudentT', 'Poisson' or 'NegativeBinomial', got '{name}'"))
                })?;
                let (quantiles, suffixes) = quantiles_or_levels(&obj, &kind)?;
                let num_samples = number(&obj, &kind, "numSamples")?.unwrap_or(1000.0);
                if !(num_samples >= 1.0 && num_samples <= 1e6 && num_samples.fract() == 0.0) {
                    return Err(Error::range(format!("DistributionLoss option 'numSamples' must be a whole number in [1, 1000000], got {num_samples}")));
                }
                Loss::Distribution { distribution, quantiles, suffixes, num_samples: num_samples as usize }
            }
            "HuberLoss" => {
                let delta = number(&obj, &kind, "delta")?.unwrap_or(1.0);
                if !(delta > 0.0 && delta.is_finite()) {
                    return Err(Error::range(format!("HuberLoss option 'delta' must be > 0, got {delta}")));
                }
                Loss::Huber { delta: delta as f32 }
            }
            "QuantileLoss" => {
                let q = number(&obj, &kind, "q")?.ok_or_else(|| Error::type_err("QuantileLoss needs option 'q'"))?;
                if !(q > 0.0 && q < 1.0) {
                    return Err(Error::range(format!("QuantileLoss option 'q' must be in (0, 1), got {q}")));
                }
                Loss::Quantile { q: q as f32 }
            }
            _ => {
                let (quantiles, suffixes) = quantiles_or_levels(&obj, &kind)?;
                Loss::MultiQuantile { quantiles, suffixes }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_follow_neuralforecast_order_and_names() {
        let l = Loss::from_json(&json!({"type": "MQLoss", "level": [80, 90]}), "loss").unwrap();
        let Loss::MultiQuantile { quantiles, suffixes } = l else { panic!() };
        assert_eq!(quantiles, vec![0.5, 0.05, 0.1, 0.9, 0.95]);
        assert_eq!(suffixes, vec!["-median", "-lo-90", "-lo-80", "-hi-80", "-hi-90"]);
    }

    fn suffixes(v: serde_json::Value) -> Vec<String> {
        match Loss::from_json(&v, "loss").unwrap() {
            Loss::MultiQuantile { suffixes, .. } | Loss::Distribution { suffixes, .. } => suffixes,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn column_names_follow_each_neuralforecast_rule() {
        // level_to_outputs: the level as given (an int stays an int), sorted by quantile.
        assert_eq!(suffixes(json!({"type": "MQLoss", "level": [90, 80.5, 90]})), vec!["-median", "-lo-90", "-lo-80.5", "-hi-80.5", "-hi-90"]);
        assert_eq!(suffixes(json!({"type": "MQLoss", "level": [80.0]})), vec!["-median", "-lo-80.0", "-hi-80.0"]);
        assert_eq!(suffixes(json!({"type": "MQLoss", "level": [0.00001]})), vec!["-median", "-lo-1e-05", "-hi-1e-05"]);
        // quantiles_to_outputs: np.round(100 - 200q, 2) printed as a float, in the order given.
        assert_eq!(suffixes(json!({"type": "MQLoss", "quantiles": [0.9, 0.1, 0.5, 0.1]})), vec!["-hi-80.0", "-lo-80.0", "-median"]);
        assert_eq!(suffixes(json!({"type": "MQLoss", "quantiles": [0.025, 0.333]})), vec!["-lo-95.0", "-lo-33.4"]);
        // Round half to even, as numpy: 100 - 200·0.439375 = 12.125 → 12.12.
        assert_eq!(suffixes(json!({"type": "MQLoss", "quantiles": [0.439375]})), vec!["-lo-12.12"]);
        // DistributionLoss sorts its quantiles first; the sample mean's column comes first.
        assert_eq!(suffixes(json!({"type": "DistributionLoss", "distribution": "Normal", "quantiles": [0.9, 0.1]})), vec!["-lo-80.0", "-hi-80.0"]);
        let d = Loss::from_json(&json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80]}), "loss").unwrap();
        assert_eq!(d.output_names("N"), vec!["N", "N-median", "N-lo-80", "N-hi-80"]);
        // QuantileLoss: `_ql{q}`.
        assert_eq!(Loss::from_json(&json!({"type": "QuantileLoss", "q": 0.1}), "loss").unwrap().output_names("M"), vec!["M_ql0.1"]);
        assert_eq!(Loss::from_json(&json!({"type": "QuantileLoss", "q": 0.00005}), "loss").unwrap().output_names("M"), vec!["M_ql5e-05"]);
        // Level quantiles as torch computes them: to f32, then / 100 in f32.
        let Loss::MultiQuantile { quantiles, .. } = Loss::from_json(&json!({"type": "MQLoss", "level": [80]}), "loss").unwrap() else { panic!() };
        assert_eq!(quantiles, vec![0.5, 10.0f32 / 100.0, 90.0f32 / 100.0]);
    }

    #[test]
    fn errors_name_the_option() {
        let e = Loss::from_json(&json!({"type": "MAE", "foo": 1}), "loss").unwrap_err();
        assert!(e.message.contains("'foo'"));
        let e = Loss::from_json(&json!({"type": "QuantileLoss", "q": 1.5}), "loss").unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Range);
        let e = Loss::from_json(&json!({"type": "Nope"}), "validLoss").unwrap_err();
        assert!(e.message.contains("validLoss") && e.message.contains("MQLoss"));
        assert_eq!(Loss::from_json(&json!("MSE"), "loss").unwrap(), Loss::Mse);
    }
}

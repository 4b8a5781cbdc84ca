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

/// NeuralForecast's `level_to_outputs`: the median then lo/hi quantiles sorted ascending.
fn from_levels(levels: &[f64]) -> Result<(Vec<f32>, Vec<String>)> {
    let mut seen = Vec::new();
    for &l in levels {
        if !(l > 0.0 && l < 100.0) {
            return Err(Error::range(format!("MQLoss level must be in (0, 100), got {l}")));
        }
        if !seen.contains(&l) {
            seen.push(l);
        }
    }
    let mut pairs: Vec<(f64, String)> = Vec::new();
    for &l in &seen {
        let name = if l.fract() == 0.0 { format!("{}", l as i64) } else { format!("{l}") };
        pairs.push((50.0 - l / 2.0, format!("-lo-{name}")));
        pairs.push((50.0 + l / 2.0, format!("-hi-{name}")));
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut q = vec![0.5f32];
    let mut names = vec!["-median".to_string()];
    for (p, n) in pairs {
        q.push((p / 100.0) as f32);
        names.push(n);
    }
    Ok((q, names))
}

/// NeuralForecast's `quantiles_to_outputs`.
fn from_quantiles(quantiles: &[f64]) -> Result<(Vec<f32>, Vec<String>)> {
    let mut q = Vec::new();
    let mut names = Vec::new();
    for &x in quantiles {
        if !(x > 0.0 && x < 1.0) {
            return Err(Error::range(format!("MQLoss quantiles must be in (0, 1), got {x}")));
        }
        if q.contains(&(x as f32)) {
            continue;
        }
        let round2 = |v: f64| (v * 100.0).round() / 100.0;
        names.push(if x < 0.5 {
            format!("-lo-{}", round2(100.0 - 200.0 * x))
        } else if x > 0.5 {
            format!("-hi-{}", round2(100.0 - 200.0 * (1.0 - x)))
        } else {
            "-median".to_string()
        });
        q.push(x as f32);
    }
    Ok((q, names))
}

/// Quantiles and column suffixes from `level` (default [80, 90]) or `quantiles`.
fn quantiles_or_levels(obj: &Map<String, Value>, kind: &str) -> Result<(Vec<f32>, Vec<String>)> {
    let (quantiles, names) = match (numbers(obj, kind, "quantiles")?, numbers(obj, kind, "level")?) {
        (Some(q), None) => from_quantiles(&q)?,
        (None, level) => from_levels(&level.unwrap_or_else(|| vec![80.0, 90.0]))?,
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

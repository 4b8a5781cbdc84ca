//! Reads a model's camelCase options object, remembering which keys were used so that unknown
//! ones can be rejected by name (with a suggestion when one is close).

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

pub struct OptionReader<'a> {
    model: &'a str,
    obj: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => other.to_string(),
    }
}

/// Edit distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.to_lowercase().chars().collect(), b.to_lowercase().chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + usize::from(a[i - 1] != b[j - 1]));
        }
        prev = cur;
    }
    prev[b.len()]
}

impl<'a> OptionReader<'a> {
    pub fn new(model: &'a str, options: &'a Value) -> Result<Self> {
        let obj = options
            .as_object()
            .ok_or_else(|| Error::type_err(format!("{model} options must be an object, got {}", describe(options))))?;
        Ok(OptionReader { model, obj, used: Vec::new() })
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.obj.get(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, v: &Value) -> Error {
        Error::type_err(format!("{} option '{key}' must be {expected}, got {}", self.model, describe(v)))
    }

    /// A RangeError naming the option: `"<model> option '<key>' <what>"`.
    pub fn range_error(&self, key: &str, what: &str) -> Error {
        Error::range(format!("{} option '{key}' {what}", self.model))
    }

    /// A non-negative integer, or `default` when absent. At most 2^53 (JavaScript's largest
    /// exact integer), so that size arithmetic stays far from overflow.
    pub fn usize(&mut self, key: &'static str, default: usize) -> Result<usize> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.as_u64() {
                Some(x) if x <= MAX_SAFE_INTEGER => Ok(x as usize),
                _ if v.as_i64().is_some_and(|x| x < 0) => Err(Error::range(format!("{} option '{key}' must be >= 0, got {v}", self.model))),
                _ if v.is_u64() || v.as_f64().is_some_and(|x| x.fract() == 0.0 && x > 0.0) => {
                    Err(Error::range(format!("{} option '{key}' must be <= {MAX_SAFE_INTEGER}, got {v}", self.model)))
                }
                _ => Err(self.wrong(key, "a whole number", v)),
            },
        }
    }

    /// An integer >= `min`.
    pub fn usize_min(&mut self, key: &'static str, default: usize, min: usize) -> Result<usize> {
        let v = self.usize(key, default)?;
        if v < min {
            return Err(Error::range(format!("{} option '{key}' must be >= {min}, got {v}", self.model)));
        }
        Ok(v)
    }

    /// A required integer >= 1.
    pub fn required_positive(&mut self, key: &'static str) -> Result<usize> {
        if self.obj.get(key).map_or(true, Value::is_null) {
            // A near miss among the given keys is a typo of this one: name it, not the absence.
            if let Some(typo) = self.obj.keys().filter(|k| k.as_str() != key).min_by_key(|k| distance(k, key)).filter(|k| distance(k, key) <= 3 && 3 * distance(k, key) <= key.len()) {
                return Err(Error::type_err(format!("{}: unknown option '{typo}' (did you mean '{key}'?)", self.model)));
            }
            return Err(Error::type_err(format!("{} needs option '{key}'", self.model)));
        }
        self.usize_min(key, 1, 1)
    }

    /// A signed integer (e.g. -1 meaning "off").
    pub fn i64(&mut self, key: &'static str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_i64().ok_or_else(|| self.wrong(key, "a whole number", v)),
        }
    }

    /// A finite number in [lo, hi] (exclusive of lo when `lo_open`).
    pub fn f64_in(&mut self, key: &'static str, default: f64, lo: f64, hi: f64, lo_open: bool) -> Result<f64> {
        let v = match self.get(key) {
            None => return Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| self.wrong(key, "a number", v))?,
        };
        let ok = v.is_finite() && (if lo_open { v > lo } else { v >= lo }) && v <= hi;
        if !ok {
            let bound = if lo_open { format!("> {lo}") } else { format!(">= {lo}") };
            return Err(Error::range(format!("{} option '{key}' must be {bound} and <= {hi}, got {v}", self.model)));
        }
        Ok(v)
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.wrong(key, "true or false", v)),
        }
    }

    pub fn string(&mut self, key: &'static str, default: &str) -> Result<String> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(v) => v.as_str().map(str::to_string).ok_or_else(|| self.wrong(key, "a string", v)),
        }
    }

    /// One of `allowed`.
    pub fn choice(&mut self, key: &'static str, default: &str, allowed: &[&str]) -> Result<String> {
        let v = self.string(key, default)?;
        if !allowed.contains(&v.as_str()) {
            return Err(Error::range(format!("{} option '{key}' must be one of {}, got '{v}'", self.model, allowed.join(", "))));
        }
        Ok(v)
    }

    /// An activation of `common._modules.ACTIVATIONS` by name (MLP decoders, TCN convolutions).
    pub fn module_activation(&mut self, key: &'static str, default: &str) -> Result<String> {
        let v = self.string(key, default)?;
        super::activation::check_module_name(self.model, key, &v)?;
        if !super::activation::MODULE_NAMES.contains(&v.as_str()) {
            return Err(Error::range(format!("{} option '{key}' must be one of {}, got '{v}'", self.model, super::activation::MODULE_NAMES.join(", "))));
        }
        Ok(v)
    }

    pub fn optional_string(&mut self, key: &'static str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| self.wrong(key, "a string", v)),
        }
    }

    pub fn strings(&mut self, key: &'static str) -> Result<Vec<String>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|x| x.as_str().map(str::to_string).ok_or_else(|| self.wrong(key, "an array of column names", x))).collect(),
            Some(v) => Err(self.wrong(key, "an array of column names", v)),
        }
    }

    /// An array of integers >= `min`, or `default`.
    pub fn usizes(&mut self, key: &'static str, default: &[usize], min: usize) -> Result<Vec<usize>> {
        let values = match self.get(key) {
            None => return Ok(default.to_vec()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| match x.as_u64() {
                    Some(u) if u <= MAX_SAFE_INTEGER => Ok(u as usize),
                    Some(_) => Err(Error::range(format!("{} option '{key}' needs values <= {MAX_SAFE_INTEGER}, got {x}", self.model))),
                    None => Err(self.wrong(key, "an array of whole numbers", x)),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(v) => return Err(self.wrong(key, "an array of whole numbers", v)),
        };
        if let Some(bad) = values.iter().find(|&&x| x < min) {
            return Err(Error::range(format!("{} option '{key}' needs values >= {min}, got {bad}", self.model)));
        }
        Ok(values)
    }

    /// An array of arrays of integers >= 1 (e.g. NHITS `mlpUnits`).
    pub fn usize_matrix(&mut self, key: &'static str, default: &[Vec<usize>]) -> Result<Vec<Vec<usize>>> {
        let v = match self.get(key) {
            None => return Ok(default.to_vec()),
            Some(v) => v,
        };
        let rows = v.as_array().ok_or_else(|| self.wrong(key, "an array of arrays of whole numbers", v))?;
        rows.iter()
            .map(|row| {
                row.as_array()
                    .ok_or_else(|| self.wrong(key, "an array of arrays of whole numbers", row))?
                    .iter()
                    .map(|x| match x.as_u64() {
                        Some(u) if (1..=MAX_SAFE_INTEGER).contains(&u) => Ok(u as usize),
                        _ => Err(Error::range(format!("{} option '{key}' needs whole numbers from 1 to {MAX_SAFE_INTEGER}, got {x}", self.model))),
                    })
                    .collect()
            })
            .collect()
    }

    /// A raw JSON value (passed through, e.g. a loss).
    pub fn raw(&mut self, key: &'static str) -> Option<Value> {
        self.get(key).cloned()
    }

    /// Fails naming the first option that no reader call asked for.
    pub fn finish(self) -> Result<()> {
        for key in self.obj.keys() {
            if !self.used.contains(&key.as_str()) {
                let best = self.used.iter().min_by_key(|u| distance(key, u)).filter(|u| distance(key, u) <= 3);
                let hint = best.map(|b| format!(" (did you mean '{b}'?)")).unwrap_or_default();
                return Err(Error::type_err(format!("{}: unknown option '{key}'{hint}", self.model)));
            }
        }
        Ok(())
    }
}

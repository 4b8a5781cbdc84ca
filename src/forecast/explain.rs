//! What explains each model's last forecast: the tensors its network records in the forward
//! (TFT's variable selection weights and attention probabilities), averaged over every window
//! the predict forecast. NeuralForecast keeps the same tensors of its last batch
//! (`interpretability_params`) and averages them over that batch; with every series in one
//! batch, as for its default batch sizes on up to 1024 series, the two are the same.

use std::sync::Mutex;

use serde_json::{json, Map, Value};

use crate::tensor::Tensor;

/// Running sums, per recorded name, of the per-window tensors.
#[derive(Clone, Debug, Default)]
pub struct Explanation {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
struct Part {
    name: &'static str,
    /// Of one window (the batch axis dropped).
    shape: Vec<usize>,
    sum: Vec<f64>,
    windows: usize,
}

impl Explanation {
    /// Adds one batch's records, each `[windows, ..]`.
    pub fn add(&mut self, records: Vec<(&'static str, Tensor)>) {
        for (name, t) in records {
            let windows = t.dim(0);
            let shape = t.shape()[1..].to_vec();
            let per_window: usize = shape.iter().product();
            let i = match self.parts.iter().position(|p| p.name == name) {
                Some(i) => i,
                None => {
                    self.parts.push(Part { name, shape: shape.clone(), sum: vec![0.0; per_window], windows: 0 });
                    self.parts.len() - 1
                }
            };
            let part = &mut self.parts[i];
            debug_assert_eq!(part.shape, shape, "{name} changed shape between batches");
            for row in t.to_vec().chunks_exact(per_window.max(1)) {
                part.sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
            }
            part.windows += windows;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// `{ name: { shape, mean } }`, `mean` row-major over `shape`.
    pub fn to_json(&self) -> Value {
        let parts: Map<String, Value> = self
            .parts
            .iter()
            .map(|p| {
                let n = p.windows.max(1) as f64;
                (p.name.to_string(), json!({ "shape": p.shape, "windows": p.windows, "mean": p.sum.iter().map(|s| s / n).collect::<Vec<f64>>() }))
            })
            .collect();
        Value::Object(parts)
    }
}

/// The last predict's explanation of each model (by index), behind a lock because predicts
/// share the fitted models (`&self`).
#[derive(Debug, Default)]
pub(super) struct LastExplanations(Mutex<Vec<Option<Explanation>>>);

impl LastExplanations {
    pub fn set(&self, model: usize, e: Explanation) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() <= model {
            all.resize(model + 1, None);
        }
        all[model] = Some(e);
    }

    pub fn get(&self, model: usize) -> Option<Explanation> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(model).cloned().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_every_window_of_every_batch() {
        let mut e = Explanation::default();
        e.add(vec![("w", Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]))]);
        e.add(vec![("w", Tensor::from_vec(vec![5.0, 6.0], &[1, 2]))]);
        let j = e.to_json();
        assert_eq!(j["w"]["shape"], json!([2]));
        assert_eq!(j["w"]["windows"], json!(3));
        assert_eq!(j["w"]["mean"], json!([3.0, 4.0]));
        let last = LastExplanations::default();
        assert!(last.get(1).is_none());
        last.set(1, e);
        assert!(last.get(0).is_none() && last.get(1).is_some());
    }
}

//! Matching a model's exogenous lists to the columns a user supplied, with errors that say which
//! model asked for which missing column.

use std::collections::HashMap;

use super::frame::InputFrame;
use crate::data::{format_ds, Dataset, Freq};
use crate::error::{Error, Result};
use crate::models::{Model, ModelConfig};

/// The display name of a model: its alias, or its class name.
pub fn model_name(m: &dyn Model) -> String {
    config_name(m.config())
}

/// A model's output column name: its alias, or its class name.
pub fn config_name(c: &dyn ModelConfig) -> String {
    c.common().alias.clone().unwrap_or_else(|| c.class_name().to_string())
}

/// Indices of `names` among the dataset's exogenous columns.
pub fn exog_indices(model: &dyn Model, data: &Dataset, names: &[String], list: &str) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|n| {
            data.exog_index(n).ok_or_else(|| {
                Error::value(format!("{}: column '{n}' of {list} is not in df (df has: {})", model_name(model), listing(&data.exog_names)))
            })
        })
        .collect()
}

fn listing(names: &[String]) -> String {
    if names.is_empty() {
        "no exogenous columns".into()
    } else {
        names.join(", ")
    }
}

/// Static values: the static frame's columns by name, and a row per series id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statics {
    pub names: Vec<String>,
    pub rows: HashMap<String, Vec<f32>>,
}

impl Statics {
    /// Per series of `data`, the values of the model's `statExogList`, in that order.
    pub fn for_model(&self, model: &dyn Model, data: &Dataset) -> Result<Option<Vec<Vec<f32>>>> {
        let wanted = &model.common().stat_exog_list;
        if wanted.is_empty() {
            return Ok(None);
        }
        let cols: Vec<usize> = wanted
            .iter()
            .map(|n| {
                self.names.iter().position(|c| c == n).ok_or_else(|| {
                    Error::value(format!("{}: column '{n}' of statExogList is not in staticDf (it has: {})", model_name(model), listing(&self.names)))
                })
            })
            .collect::<Result<_>>()?;
        data.series
            .iter()
            .map(|s| {
                let row = self.rows.get(&s.id).ok_or_else(|| Error::value(format!("staticDf has no row for series '{}'", s.id)))?;
                Ok(cols.iter().map(|&c| row[c]).collect())
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

/// Future values of the model's `futrExogList` for the `h` steps after each series' end:
/// `[series][column][step]`. Fails naming the missing column or (series, ds) row.
pub fn future_values(model: &dyn Model, data: &Dataset, futr: Option<&InputFrame>, freq: &Freq, h: usize) -> Result<Option<Vec<Vec<Vec<f32>>>>> {
    let wanted = &model.common().futr_exog_list;
    if wanted.is_empty() {
        return Ok(None);
    }
    let name = model_name(model);
    let futr = futr.ok_or_else(|| {
        Error::value(format!("{name} uses future exogenous columns ({}): pass their future values as futrDf", wanted.join(", ")))
    })?;
    let cols: Vec<&[f64]> = wanted
        .iter()
        .map(|c| futr.column(c).ok_or_else(|| Error::value(format!("futrDf has no column '{c}' (in futrExogList of {name})"))))
        .collect::<Result<_>>()?;
    // The binding hands columns over as given: a short one would be indexed out of bounds below.
    for (c, len) in std::iter::once(("ds", futr.ds.len())).chain(wanted.iter().map(String::as_str).zip(cols.iter().map(|v| v.len()))) {
        if len != futr.len() {
            return Err(Error::value(format!("futrDf: column '{c}' has {len} values but unique_id has {}", futr.len())));
        }
    }
    // Rows by series, sorted by ds, so each needed timestamp is found by a search.
    let mut rows: HashMap<&str, Vec<(f64, usize)>> = HashMap::new();
    for (i, (id, ds)) in futr.unique_id.iter().zip(&futr.ds).enumerate() {
        rows.entry(id.as_str()).or_default().push((*ds, i));
    }
    for r in rows.values_mut() {
        r.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    data.series
        .iter()
        .map(|s| {
            let mut per_col = vec![Vec::with_capacity(h); cols.len()];
            let series_rows = rows.get(s.id.as_str()).map_or(&[][..], Vec::as_slice);
            for k in 1..=h {
                let ds = freq.advance(s.last_ds(), k as i64);
                let row = matching_row(series_rows, ds, freq).map_err(|found| {
                    if found == 0 {
                        Error::value(format!(
                            "futrDf is missing the row for series '{}' at ds {} (it needs the {h} timestamps after each series' last one)",
                            s.id,
                            format_ds(ds, freq)
                        ))
                    } else {
                        Error::value(format!("futrDf has {found} rows for series '{}' at ds {}: give each timestamp one row", s.id, format_ds(ds, freq)))
                    }
                })?;
                for (c, col) in cols.iter().enumerate() {
                    let v = col[row];
                    if !v.is_finite() {
                        return Err(Error::value(format!("futrDf column '{}' is {v} at row {row} (series '{}')", wanted[c], s.id)));
                    }
                    per_col[c].push(v as f32);
                }
            }
            Ok(per_col)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The one row of `rows` (sorted by ds) at `ds`, within a millionth of a step (numeric steps
/// such as 0.1 do not add up exactly); Err(count) when there is none or more than one.
fn matching_row(rows: &[(f64, usize)], ds: f64, freq: &Freq) -> std::result::Result<usize, usize> {
    let tol = 1e-6 * (freq.advance(ds, 1) - ds).abs();
    let from = rows.partition_point(|(d, _)| *d < ds - tol);
    let found: Vec<usize> = rows[from..].iter().take_while(|(d, _)| *d <= ds + tol).map(|(_, i)| *i).collect();
    match found[..] {
        [row] => Ok(row),
        _ => Err(found.len()),
    }
}

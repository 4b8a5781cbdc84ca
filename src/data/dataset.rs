//! Validated, per-series storage built from a long-format frame: series sorted by id, rows by
//! time, no gaps, no duplicates, finite values. Errors name the series, the row and the timestamp.

use std::collections::HashMap;

use super::freq::{civil_from_days, Freq};
use crate::error::{Error, Result};

/// One series on a regular grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub id: String,
    /// Timestamps (epoch ms or integer steps), strictly increasing by one freq step.
    pub ds: Vec<f64>,
    pub y: Vec<f32>,
    /// One vector per exogenous column of the dataset, aligned with `y`.
    pub exog: Vec<Vec<f32>>,
}

impl Series {
    pub fn len(&self) -> usize {
        self.y.len()
    }
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
    pub fn last_ds(&self) -> f64 {
        *self.ds.last().expect("a series is never empty")
    }
    /// The series without its last `n` points.
    pub fn truncated(&self, n: usize) -> Series {
        let keep = self.len().saturating_sub(n);
        Series {
            id: self.id.clone(),
            ds: self.ds[..keep].to_vec(),
            y: self.y[..keep].to_vec(),
            exog: self.exog.iter().map(|c| c[..keep].to_vec()).collect(),
        }
    }
}

/// All series of a frame, sorted by id.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    pub series: Vec<Series>,
    /// Names of the exogenous columns, in the order of `Series::exog`.
    pub exog_names: Vec<String>,
}

/// A long frame's columns, borrowed.
pub struct FrameColumns<'a> {
    pub unique_id: &'a [String],
    pub ds: &'a [f64],
    pub y: &'a [f64],
    pub exog: &'a [(String, Vec<f64>)],
}

/// A timestamp as people read it: an ISO date(-time) for calendar freqs, the number otherwise.
pub fn format_ds(ds: f64, freq: &Freq) -> String {
    if !freq.is_calendar() || !ds.is_finite() {
        return format!("{ds}");
    }
    let ms = ds as i64;
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    let t = ms.rem_euclid(86_400_000) / 1000;
    if t == 0 {
        format!("{y:04}-{m:02}-{d:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60)
    }
}

/// The error for `b` off the grid that `a` starts: a changed time of day by an hour (or half an
/// hour) is what local-time Dates do across a daylight-saving change, not a wrong freq.
fn not_one_step(what: &str, id: &str, a: f64, b: f64, row: usize, freq: &Freq) -> Error {
    const HOUR: i64 = 3_600_000;
    let (ta, tb) = ((a as i64).rem_euclid(86_400_000), (b as i64).rem_euclid(86_400_000));
    let shift = (tb - ta).rem_euclid(86_400_000);
    let dst = freq.is_calendar() && ta != tb && freq.steps_between(a, b + (ta - tb) as f64).is_some() && [HOUR / 2, HOUR, 23 * HOUR, 47 * HOUR / 2].contains(&shift);
    if dst {
        return Error::value(format!(
            "{what}: series '{id}': the time of day moves from ds {} to {} (row {row}): local-time Dates shift by an hour across a daylight-saving change; build Dates in UTC (new Date(Date.UTC(y, m, d))) or pass ISO strings such as '2024-03-31'",
            format_ds(a, freq),
            format_ds(b, freq)
        ));
    }
    Error::value(format!("{what}: series '{id}': ds {} (row {row}) is not one freq step after {}; check freq", format_ds(b, freq), format_ds(a, freq)))
}

impl Dataset {
    /// Validates a frame and groups it into series. `what` names the frame in errors (e.g. "df").
    pub fn from_frame(frame: &FrameColumns, freq: &Freq, what: &str) -> Result<Dataset> {
        let n = frame.unique_id.len();
        if n == 0 {
            return Err(Error::value(format!("{what} is empty: it needs at least one row")));
        }
        for (name, len) in [("ds", frame.ds.len()), ("y", frame.y.len())]
            .into_iter()
            .chain(frame.exog.iter().map(|(c, v)| (c.as_str(), v.len())))
        {
            if len != n {
                return Err(Error::value(format!("{what}: column '{name}' has {len} values but unique_id has {n}")));
            }
        }
        for (row, &ds) in frame.ds.iter().enumerate() {
            if !ds.is_finite() {
                return Err(Error::value(format!("{what}: ds is not a valid timestamp at row {row} (series '{}')", frame.unique_id[row])));
            }
        }
        let check_finite = |name: &str, values: &[f64]| -> Result<()> {
            match values.iter().position(|&v| !fits_f32(v)) {
                Some(row) => Err(Error::value(format!(
                    "{what}: column '{name}' is {} at row {row} (series '{}', ds {}); values must be finite numbers within float32's range (|v| <= 3.4e38), which the engine computes in",
                    values[row],
                    frame.unique_id[row],
                    format_ds(frame.ds[row], freq)
                ))),
                None => Ok(()),
            }
        };
        check_finite("y", frame.y)?;
        for (name, values) in frame.exog {
            check_finite(name, values)?;
        }

        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| frame.unique_id[a].cmp(&frame.unique_id[b]).then(frame.ds[a].total_cmp(&frame.ds[b])));
        let mut series = Vec::new();
        let mut start = 0;
        while start < n {
            let id = &frame.unique_id[order[start]];
            let mut end = start + 1;
            while end < n && &frame.unique_id[order[end]] == id {
                end += 1;
            }
            let rows = &order[start..end];
            for &r in rows {
                if let Some(why) = freq.off_grid(frame.ds[r]) {
                    return Err(Error::value(format!("{what}: series '{id}': ds {} (row {r}) {why}", format_ds(frame.ds[r], freq))));
                }
            }
            let steps: Vec<Option<i64>> = rows.windows(2).map(|w| freq.steps_between(frame.ds[w[0]], frame.ds[w[1]])).collect();
            for (w, k) in rows.windows(2).zip(&steps) {
                let (a, b) = (frame.ds[w[0]], frame.ds[w[1]]);
                if a == b {
                    return Err(Error::value(format!(
                        "{what}: series '{id}' has duplicate timestamps: rows {} and {} both have ds {}",
                        w[0].min(w[1]),
                        w[0].max(w[1]),
                        format_ds(a, freq)
                    )));
                }
                match *k {
                    Some(1) => {}
                    // No step of the series (of three points or more) is one freq step: another freq.
                    Some(k) if steps.len() > 1 && !steps.contains(&Some(1)) => {
                        return Err(Error::value(format!(
                            "{what}: series '{id}' never steps by one freq '{}': ds {} is followed by {} (row {}), {k} steps of '{}' later; check freq (the data may be coarser, e.g. daily data with freq 'h')",
                            freq.alias(),
                            format_ds(a, freq),
                            format_ds(b, freq),
                            w[1],
                            freq.alias()
                        )))
                    }
                    Some(_) => {
                        return Err(Error::value(format!(
                            "{what}: series '{id}' has a gap: after ds {} comes {} (row {}), expected {}; fill missing timestamps first{}",
                            format_ds(a, freq),
                            format_ds(b, freq),
                            w[1],
                            format_ds(freq.advance(a, 1), freq),
                            if freq.alias().ends_with('B') { " (or list market holidays in the NeuralForecast option 'holidays')" } else { "" }
                        )))
                    }
                    None => return Err(not_one_step(what, id, a, b, w[1], freq)),
                }
            }
            series.push(Series {
                id: id.clone(),
                ds: rows.iter().map(|&r| frame.ds[r]).collect(),
                y: rows.iter().map(|&r| frame.y[r] as f32).collect(),
                exog: frame.exog.iter().map(|(_, v)| rows.iter().map(|&r| v[r] as f32).collect()).collect(),
            });
            start = end;
        }
        Ok(Dataset { series, exog_names: frame.exog.iter().map(|(n, _)| n.clone()).collect() })
    }

    /// Index of an exogenous column by name.
    pub fn exog_index(&self, name: &str) -> Option<usize> {
        self.exog_names.iter().position(|n| n == name)
    }

    /// Length of the longest series.
    pub fn max_len(&self) -> usize {
        self.series.iter().map(Series::len).max().unwrap_or(0)
    }

    /// Every series without its last `n` points (fails naming a series too short for that).
    pub fn truncated(&self, n: usize, min_left: usize, why: &str) -> Result<Dataset> {
        if let Some(s) = self.series.iter().find(|s| s.len() < n + min_left) {
            return Err(Error::value(format!(
                "series '{}' has {} points, too few for {why} (needs at least {})",
                s.id,
                s.len(),
                n + min_left
            )));
        }
        Ok(Dataset { series: self.series.iter().map(|s| s.truncated(n)).collect(), exog_names: self.exog_names.clone() })
    }
}

/// Whether `v` is finite and stays finite as the f32 the engine computes with: 1e300 passes
/// JS's and f64's finiteness and becomes Infinity in f32.
fn fits_f32(v: f64) -> bool {
    v.is_finite() && v.abs() <= f32::MAX as f64
}

/// Static exogenous values: one row per series id.
pub fn static_table(ids: &[String], columns: &[(String, Vec<f64>)], what: &str) -> Result<HashMap<String, Vec<f32>>> {
    let mut table = HashMap::new();
    for (row, id) in ids.iter().enumerate() {
        let mut values = Vec::with_capacity(columns.len());
        for (name, col) in columns {
            let v = *col.get(row).ok_or_else(|| Error::value(format!("{what}: column '{name}' is shorter than unique_id")))?;
            if !fits_f32(v) {
                return Err(Error::value(format!("{what}: column '{name}' is {v} at row {row} (series '{id}'); values must be finite numbers within float32's range (|v| <= 3.4e38)")));
            }
            values.push(v as f32);
        }
        if table.insert(id.clone(), values).is_some() {
            return Err(Error::value(format!("{what}: series '{id}' appears in more than one row")));
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of<'a>(ids: &'a [String], ds: &'a [f64], y: &'a [f64]) -> FrameColumns<'a> {
        FrameColumns { unique_id: ids, ds, y, exog: &[] }
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sorts_series_and_rows() {
        let i = ids(&["b", "a", "b", "a"]);
        let d = ds_vec(&[2.0, 2.0, 1.0, 1.0]);
        let y = vec![20.0, 2.0, 10.0, 1.0];
        let set = Dataset::from_frame(&frame_of(&i, &d, &y), &Freq::step(1.0).unwrap(), "df").unwrap();
        assert_eq!(set.series[0].id, "a");
        assert_eq!(set.series[0].y, vec![1.0, 2.0]);
        assert_eq!(set.series[1].y, vec![10.0, 20.0]);
    }

    fn ds_vec(v: &[f64]) -> Vec<f64> {
        v.to_vec()
    }

    #[test]
    fn errors_name_series_row_and_timestamp() {
        let f = Freq::step(1.0).unwrap();
        let i = ids(&["a", "a", "a"]);
        let e = Dataset::from_frame(&frame_of(&i, &[1.0, 2.0, 3.0], &[1.0, f64::NAN, 3.0]), &f, "df").unwrap_err();
        assert!(e.message.contains("row 1") && e.message.contains("'a'") && e.message.contains("NaN"), "{e}");
        // Finite in f64 but Infinity in the engine's f32.
        let e = Dataset::from_frame(&frame_of(&i, &[1.0, 2.0, 3.0], &[1.0, 2.0, -1e300]), &f, "df").unwrap_err();
        assert!(e.message.contains("row 2") && e.message.contains("float32's range"), "{e}");
        assert!(Dataset::from_frame(&frame_of(&i, &[1.0, 2.0, 3.0], &[1.0, 2.0, f32::MAX as f64]), &f, "df").is_ok());
        let e = static_table(&ids(&["a"]), &[("s".to_string(), vec![1e39])], "staticDf").unwrap_err();
        assert!(e.message.contains("'s'") && e.message.contains("float32's range"), "{e}");
        let e = Dataset::from_frame(&frame_of(&i, &[1.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), &f, "df").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e}");
        let e = Dataset::from_frame(&frame_of(&i, &[1.0, 2.0, 5.0], &[1.0, 2.0, 3.0]), &f, "df").unwrap_err();
        assert!(e.message.contains("gap") && e.message.contains("expected 3"), "{e}");
        let e = Dataset::from_frame(&frame_of(&[], &[], &[]), &f, "df").unwrap_err();
        assert!(e.message.contains("empty"), "{e}");
        let e = Dataset::from_frame(&frame_of(&i, &[1.0, 2.0], &[1.0, 2.0, 3.0]), &f, "df").unwrap_err();
        assert!(e.message.contains("'ds' has 2 values"), "{e}");
    }

    #[test]
    fn calendar_gaps_are_reported_as_dates() {
        let f = Freq::parse("MS").unwrap();
        let day = 86_400_000.0;
        let jan = 19_723.0 * day; // 2024-01-01
        let mar = jan + 60.0 * day; // 2024-03-01
        let i = ids(&["x", "x"]);
        let e = Dataset::from_frame(&frame_of(&i, &[jan, mar], &[1.0, 2.0]), &f, "df").unwrap_err();
        assert!(e.message.contains("2024-02-01"), "{e}");
    }

    #[test]
    fn messages_tell_dst_freq_mismatch_and_off_grid_apart() {
        let day = 86_400_000.0;
        let hour = 3_600_000.0;
        let i = ids(&["x", "x", "x"]);
        // Local midnight in Berlin around 2023-03-26: 23:00Z, 23:00Z, then 22:00Z.
        let mar24 = 19_440.0 * day; // 2023-03-24
        let ds = [mar24 + 23.0 * hour, mar24 + day + 23.0 * hour, mar24 + 2.0 * day + 22.0 * hour];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &Freq::parse("D").unwrap(), "df").unwrap_err();
        assert!(e.message.contains("daylight-saving") && e.message.contains("row 2") && !e.message.contains("check freq"), "{e}");
        // Daily data with an hourly freq is a freq mismatch, not a gap.
        let ds = [mar24, mar24 + day, mar24 + 2.0 * day];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &Freq::parse("h").unwrap(), "df").unwrap_err();
        assert!(e.message.contains("never steps by one freq 'h'") && e.message.contains("24 steps") && !e.message.contains("gap"), "{e}");
        // One missing day among daily steps is still a gap.
        let ds = [mar24, mar24 + day, mar24 + 3.0 * day];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &Freq::parse("D").unwrap(), "df").unwrap_err();
        assert!(e.message.contains("has a gap"), "{e}");
        // A Sunday in W-FRI data names the weekday.
        let fri = 19_727.0 * day; // 2024-01-05, a Friday
        let ds = [fri, fri + 7.0 * day, fri + 9.0 * day];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &Freq::parse("W-FRI").unwrap(), "df").unwrap_err();
        assert!(e.message.contains("2024-01-14") && e.message.contains("is a Sunday") && e.message.contains("row 2"), "{e}");
        // Business days with a holiday list accept the holiday's absence and refuse a row on it.
        let b = Freq::parse("B").unwrap().with_holidays(&[19_737.0 * day]).unwrap(); // 2024-01-15
        let ds = [19_733.0 * day, 19_734.0 * day, 19_738.0 * day]; // Thu 11th, Fri 12th, Tue 16th
        assert!(Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &b, "df").is_ok());
        let ds = [19_734.0 * day, 19_737.0 * day, 19_738.0 * day];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &b, "df").unwrap_err();
        assert!(e.message.contains("2024-01-15") && e.message.contains("'holidays'"), "{e}");
        let ds = [19_733.0 * day, 19_734.0 * day, 19_738.0 * day];
        let e = Dataset::from_frame(&frame_of(&i, &ds, &[1.0, 2.0, 3.0]), &Freq::parse("B").unwrap(), "df").unwrap_err();
        assert!(e.message.contains("has a gap") && e.message.contains("'holidays'"), "{e}");
    }

    #[test]
    fn static_table_rejects_duplicates() {
        let e = static_table(&ids(&["a", "a"]), &[("s".into(), vec![1.0, 2.0])], "staticDf").unwrap_err();
        assert!(e.message.contains("more than one row"));
    }
}

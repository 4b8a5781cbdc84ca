//! Frames across the boundary: the JS wrapper hands over normalised columns; results go back
//! as one Float64Array.

use napi::bindgen_prelude::{Array, Float64Array, Float64ArraySlice, FromNapiValue, ToNapiValue};
use napi::{sys, Env};
use napi_derive::napi;

use super::error::to_js;
use crate::error::Error;
use crate::forecast::{InputFrame, OutputFrame};

/// A long frame as `toEngine` (lib/frames.js) hands it over, the array `[uniqueId, idRuns, ds, y,
/// columnNames, columns]`: ids as strings, ds as epoch ms or integer steps, values as
/// Float64Arrays; with `idRuns`, `uniqueId` holds one id per run of rows with the same id and
/// `idRuns` the runs' lengths (a one-series tick hands over one string, not one per row). It is
/// copied into owned memory on arrival, as it may move to a worker thread; the typed arrays are
/// read in place, with no reference to release. Indexed slots instead of named keys: each key
/// V8 turns into a string and looks up on every call.
pub struct NativeFrame(pub InputFrame);

/// What [`NativeFrame`] reads, as the generated TypeScript declarations name it (only the
/// declarations generator reads this alias).
#[allow(dead_code)]
#[napi(js_name = "NativeFrame")]
pub type NativeFrameParts = (Vec<String>, Option<Vec<u32>>, Float64Array, Option<Float64Array>, Vec<String>, Vec<Float64Array>);

impl FromNapiValue for NativeFrame {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY (here and below): `env` and `value` are the live arguments of this conversion,
        // and no slice outlives it.
        let parts = unsafe { Array::from_napi_value(env, value)? };
        fn part<T: FromNapiValue>(parts: &Array, i: u32) -> napi::Result<T> {
            parts.get(i)?.ok_or_else(|| to_js(Error::value(format!("frame has {} parts, not 6", parts.len()))))
        }
        let unique_id: Vec<String> = part(&parts, 0)?;
        let id_runs: Option<Vec<u32>> = part(&parts, 1)?;
        let ds: &[f64] = part(&parts, 2)?;
        let y: Option<&[f64]> = part(&parts, 3)?;
        let column_names: Vec<String> = part(&parts, 4)?;
        let columns: Vec<&[f64]> = part(&parts, 5)?;
        if column_names.len() != columns.len() {
            return Err(to_js(Error::value("frame has a different number of column names and columns")));
        }
        let unique_id = match id_runs {
            None => unique_id,
            Some(runs) => {
                let rows: u64 = runs.iter().map(|&r| u64::from(r)).sum();
                if runs.len() != unique_id.len() || rows != ds.len() as u64 {
                    return Err(to_js(Error::value(format!("frame has {} id runs of {rows} rows for {} ids and {} rows", runs.len(), unique_id.len(), ds.len()))));
                }
                unique_id.iter().zip(runs).flat_map(|(id, r)| std::iter::repeat_n(id, r as usize)).cloned().collect()
            }
        };
        let columns = column_names.into_iter().zip(columns.into_iter().map(<[f64]>::to_vec)).collect();
        Ok(NativeFrame(InputFrame { unique_id, ds: ds.to_vec(), y: y.map(<[f64]>::to_vec), columns }))
    }
}

/// A result frame as `fromEngine` (lib/frames.js) reads it, the array `[uniqueId, idRuns, values,
/// columnNames]`: ids once per run of rows with the same id (`idRuns` their lengths: a forecast's
/// h rows per series share one JS string), and one Float64Array holding ds and then each column,
/// a row count each. Indexed slots and one buffer, because a one-series forecast spent more in
/// V8 on named keys and array buffers (each an allocation, a registry entry and a sweep) than
/// the engine spends on a small model's forecast.
pub struct NativeOutput {
    unique_id: Vec<String>,
    id_runs: Vec<u32>,
    values: Vec<f64>,
    column_names: Vec<String>,
}

/// What [`NativeOutput`] becomes, as the generated TypeScript declarations name it (only the
/// declarations generator reads this alias).
#[allow(dead_code)]
#[napi(js_name = "NativeOutput")]
pub type NativeOutputParts = (Vec<String>, Vec<u32>, Float64Array, Vec<String>);

/// Values up to this many are copied into memory JS owns; more are handed over as they are. An
/// external buffer saves the copy but costs a finalizer and a weak handle, more than copying the
/// few dozen values of a one-series forecast.
const COPY_VALUES: usize = 4096;

impl ToNapiValue for NativeOutput {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let values = if val.values.len() > COPY_VALUES {
            // SAFETY: `env` is the live environment this conversion was called with.
            unsafe { Float64Array::to_napi_value(env, Float64Array::new(val.values))? }
        } else {
            let copy = Float64ArraySlice::copy_from(&Env::from_raw(env), &val.values)?;
            // SAFETY: as above.
            unsafe { <&Float64ArraySlice>::to_napi_value(env, &copy)? }
        };
        // SAFETY: as above.
        unsafe { ToNapiValue::to_napi_value(env, (val.unique_id, val.id_runs, RawValue(values), val.column_names)) }
    }
}

/// A value already converted.
struct RawValue(sys::napi_value);

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

pub fn to_output(f: OutputFrame) -> NativeOutput {
    let (mut unique_id, mut id_runs) = (Vec::<String>::new(), Vec::<u32>::new());
    for id in f.unique_id {
        match (unique_id.last(), id_runs.last_mut()) {
            // A run stays below u32::MAX rows: a longer one starts a new run with the same id.
            (Some(last), Some(run)) if *last == id && *run < u32::MAX => *run += 1,
            _ => {
                unique_id.push(id);
                id_runs.push(1);
            }
        }
    }
    let mut values = f.ds;
    values.reserve(values.len() * f.columns.len());
    let mut column_names = Vec::with_capacity(f.columns.len());
    for (name, column) in f.columns {
        values.extend(column);
        column_names.push(name);
    }
    NativeOutput { unique_id, id_runs, values, column_names }
}

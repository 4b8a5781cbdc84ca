//! Frames across the boundary: the JS wrapper hands over normalised columns; results go back
//! as Float64Arrays.

use napi::bindgen_prelude::{Float64Array, Float64ArraySlice, Object, ToNapiValue, Uint32Array};
use napi::{sys, Env};
use napi_derive::napi;

use crate::error::Error;
use crate::forecast::{InputFrame, OutputFrame};

/// A long frame as columns (ids as strings; ds as epoch ms or integer steps). With `id_runs`,
/// `unique_id` holds one id per run of rows with the same id and `id_runs` the runs' lengths
/// (`withIdRuns` in lib/frames.js: a one-series tick hands over one string, not one per row).
#[napi(object)]
pub struct NativeFrame {
    pub unique_id: Vec<String>,
    pub id_runs: Option<Uint32Array>,
    pub ds: Float64Array,
    pub y: Option<Float64Array>,
    pub column_names: Vec<String>,
    pub columns: Vec<Float64Array>,
}

/// Copies a JS frame into owned memory (it is about to move to a worker thread).
pub fn to_input(f: &NativeFrame) -> crate::Result<InputFrame> {
    if f.column_names.len() != f.columns.len() {
        return Err(Error::value("frame has a different number of column names and columns"));
    }
    let unique_id = match &f.id_runs {
        None => f.unique_id.clone(),
        Some(runs) => {
            let rows: u64 = runs.iter().map(|&r| u64::from(r)).sum();
            if runs.len() != f.unique_id.len() || rows != f.ds.len() as u64 {
                return Err(Error::value(format!("frame has {} id runs of {rows} rows for {} ids and {} rows", runs.len(), f.unique_id.len(), f.ds.len())));
            }
            f.unique_id.iter().zip(runs.iter()).flat_map(|(id, &r)| std::iter::repeat(id).take(r as usize)).cloned().collect()
        }
    };
    Ok(InputFrame {
        unique_id,
        ds: f.ds.to_vec(),
        y: f.y.as_ref().map(|y| y.to_vec()),
        columns: f.column_names.iter().cloned().zip(f.columns.iter().map(|c| c.to_vec())).collect(),
    })
}

/// A result frame, as `fromNative` (lib/frames.js) reads it: ids once per run of rows with the
/// same id (`idRuns` their lengths: a forecast's h rows per series share one JS string).
#[napi(object, object_to_js = false)]
pub struct NativeOutput {
    pub unique_id: Vec<String>,
    pub id_runs: Vec<u32>,
    pub ds: Float64Array,
    pub column_names: Vec<String>,
    pub columns: Vec<Float64Array>,
}

/// Columns up to this many values are copied into memory JS owns; longer ones are handed over
/// as they are. An external buffer saves the copy but costs a finalizer and a weak handle, more
/// than copying the dozen values of a one-series forecast.
const COPY_VALUES: usize = 4096;

fn f64_array(env: sys::napi_env, values: Float64Array) -> napi::Result<sys::napi_value> {
    if values.len() > COPY_VALUES {
        // SAFETY: `env` is the live environment this conversion was called with.
        return unsafe { Float64Array::to_napi_value(env, values) };
    }
    let copy = Float64ArraySlice::copy_from(&Env::from_raw(env), &*values)?;
    // SAFETY: as above.
    unsafe { <&Float64ArraySlice>::to_napi_value(env, &copy) }
}

impl ToNapiValue for NativeOutput {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        let mut out = Object::new(&Env::from_raw(env))?;
        out.set("uniqueId", val.unique_id)?;
        out.set("idRuns", val.id_runs)?;
        out.set("ds", RawValue(f64_array(env, val.ds)?))?;
        out.set("columnNames", val.column_names)?;
        let columns = val.columns.into_iter().map(|c| f64_array(env, c).map(RawValue)).collect::<napi::Result<Vec<_>>>()?;
        out.set("columns", columns)?;
        // SAFETY: as above.
        unsafe { Object::to_napi_value(env, out) }
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
    let (column_names, columns) = f.columns.into_iter().map(|(n, v)| (n, Float64Array::new(v))).unzip();
    NativeOutput { unique_id, id_runs, ds: Float64Array::new(f.ds), column_names, columns }
}

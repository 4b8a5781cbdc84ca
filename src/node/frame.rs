//! Frames across the boundary: the JS wrapper hands over normalised columns; results go back
//! as Float64Arrays.

use napi::bindgen_prelude::Float64Array;
use napi_derive::napi;

use crate::error::Error;
use crate::forecast::{InputFrame, OutputFrame};

/// A long frame as columns (ids as strings; ds as epoch ms or integer steps).
#[napi(object)]
pub struct NativeFrame {
    pub unique_id: Vec<String>,
    pub ds: Float64Array,
    pub y: Option<Float64Array>,
    pub column_names: Vec<String>,
    pub columns: Vec<Float64Array>,
}

/// A result frame.
#[napi(object)]
pub struct NativeOutput {
    pub unique_id: Vec<String>,
    pub ds: Float64Array,
    pub column_names: Vec<String>,
    pub columns: Vec<Float64Array>,
}

/// Copies a JS frame into owned memory (it is about to move to a worker thread).
pub fn to_input(f: &NativeFrame) -> crate::Result<InputFrame> {
    if f.column_names.len() != f.columns.len() {
        return Err(Error::value("frame has a different number of column names and columns"));
    }
    Ok(InputFrame {
        unique_id: f.unique_id.clone(),
        ds: f.ds.to_vec(),
        y: f.y.as_ref().map(|y| y.to_vec()),
        columns: f.column_names.iter().cloned().zip(f.columns.iter().map(|c| c.to_vec())).collect(),
    })
}

pub fn to_output(f: OutputFrame) -> NativeOutput {
    let (column_names, columns) = f.columns.into_iter().map(|(n, v)| (n, Float64Array::new(v))).unzip();
    NativeOutput { unique_id: f.unique_id, ds: Float64Array::new(f.ds), column_names, columns }
}

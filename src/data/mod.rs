//! Long-format frames, frequencies, window sampling and scalers. Pure data: no tensors.

pub mod dataset;
pub mod freq;
pub mod scaler;
pub mod windows;

pub use dataset::{format_ds, static_table, Dataset, FrameColumns, Series};
pub use freq::Freq;
pub use scaler::ScalerType;
pub use windows::{forecast_windows, validation_windows, Extras, TrainSampler, Window, WindowBatch, WindowSpec};

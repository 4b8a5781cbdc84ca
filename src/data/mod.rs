//! Long-format frames, frequencies, window sampling and scalers. Pure data: no tensors.

pub mod dataset;
pub mod freq;
pub mod multivariate;
pub mod scaler;
pub mod windows;

pub use dataset::{format_ds, static_table, Dataset, FrameColumns, Series};
pub use freq::Freq;
pub use multivariate::{check_n_series, mv_forecast_window, mv_validation_windows, mv_window_at, MvBatch, MvSampler, TimeWindow};
pub use scaler::ScalerType;
pub use windows::{forecast_windows, validation_windows, Extras, TrainSampler, Window, WindowBatch, WindowSpec};

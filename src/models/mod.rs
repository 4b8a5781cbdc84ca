//! Forecasting models, one file each, named and configured as in NeuralForecast.
//!
//! A model maps a batch of windows (already scaled by the pipeline) to a forecast in the same
//! scaled space, shaped `[batch, h, outputs]`, where `outputs` is what its loss needs per step
//! (1 for point losses, one per quantile for MQLoss, the distribution's parameters for
//! DistributionLoss). Sampling windows, scaling, training and inverse scaling live in the
//! pipeline (`data`, `train`, `forecast`), not in the models.

mod activation;
mod lstm;
mod mlp;
mod nhits;
mod patchtst;
pub mod options;
mod reader;
mod revin;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::nn::{Ctx, Module};
use crate::tensor::Tensor;

pub use lstm::Lstm;
pub use mlp::Mlp;
pub use nhits::Nhits;
pub use patchtst::PatchTst;
pub use options::CommonOptions;

/// The model classes this build implements, by NeuralForecast name.
pub const CLASSES: [&str; 4] = ["LSTM", "MLP", "NHITS", "PatchTST"];

/// Builds a model from its class name and camelCase options, validating every option.
pub fn build(class: &str, options: &Value) -> Result<Box<dyn Model>> {
    let loss = match options.get("loss") {
        Some(v) if !v.is_null() => Loss::from_json(v, "loss").map_err(|e| e.context(class))?,
        _ => Loss::Mae,
    };
    let outputs = loss.outputs();
    let model: Box<dyn Model> = match class {
        "LSTM" => Box::new(Lstm::from_options(options, outputs)?),
        "MLP" => Box::new(Mlp::from_options(options, outputs)?),
        "NHITS" => Box::new(Nhits::from_options(options, outputs)?),
        "PatchTST" => Box::new(PatchTst::from_options(options, outputs)?),
        _ => {
            return Err(Error::type_err(format!(
                "unknown model class '{class}'; this build implements {}",
                CLASSES.join(", ")
            )))
        }
    };
    Ok(if model.common().scaler_type == "revin" { Box::new(revin::Revin::wrap(model)) } else { model })
}

/// Validates options without keeping the model; returns them normalised (defaults filled in).
pub fn validate(class: &str, options: &Value) -> Result<Value> {
    build(class, options).map(|m| m.options_json())
}

/// One batch of windows as tensors. Shapes use B = windows, L = input_size, h = horizon.
pub struct Batch {
    /// `[B, L]` target history, scaled.
    pub insample_y: Tensor,
    /// `[B, L]` 1 where the history value is real, 0 where padded.
    pub insample_mask: Tensor,
    /// `[B, L + h, F]` future-known exogenous variables (history and horizon), if the model uses any.
    pub futr_exog: Option<Tensor>,
    /// `[B, L, X]` historical exogenous variables, if any.
    pub hist_exog: Option<Tensor>,
    /// `[B, S]` static exogenous variables, if any.
    pub stat_exog: Option<Tensor>,
}

/// What kinds of exogenous input a model accepts (NeuralForecast's capability flags); the
/// pipeline rejects options naming exogenous lists a model cannot use.
#[derive(Clone, Copy, Debug, Default)]
pub struct Capabilities {
    pub futr_exog: bool,
    pub hist_exog: bool,
    pub stat_exog: bool,
    /// Models all series jointly (`nSeries` > 1 windows per sample).
    pub multivariate: bool,
}

/// A forecasting model.
pub trait Model: Module + Send + Sync {
    /// NeuralForecast's class name, e.g. `"NHITS"`.
    fn class_name(&self) -> &'static str;
    /// The options common to every model (h, input size, training settings, ...).
    fn common(&self) -> &CommonOptions;
    /// The model's full options as camelCase JSON (for save/load and for reporting).
    fn options_json(&self) -> serde_json::Value;
    fn capabilities(&self) -> Capabilities;
    /// Forecast `[B, h, outputs]` in scaled space.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor;

    /// The `[B, 1]` statistics that map this model's outputs back to the original scale, from
    /// each window's scaler shift and scale. RevIN moves them by its learnable parameters (see
    /// `revin`); other models keep them.
    fn output_stats(&self, shift: &Tensor, scale: &Tensor) -> (Tensor, Tensor) {
        (shift.clone(), scale.clone())
    }
}

#[cfg(test)]
mod tests;

//! DLinear and NLinear (Zeng et al., 2023, "Are transformers effective for time series
//! forecasting?"; NeuralForecast's `DLinear` and `NLinear`): one linear map from the window to the
//! horizon, after a decomposition that makes the series easier for it.
//!
//! - DLinear splits the window into a trend (a centred moving average, the ends padded by
//!   repeating the edge values) and the seasonal remainder, and sums a linear map of each:
//!   `ŷ = W_t·trend + b_t + W_s·(y − trend) + b_s`.
//! - NLinear subtracts the window's last value and adds it back after the map:
//!   `ŷ = W·(y − y_L) + b + y_L`.
//!
//! Each map has `h·outputs` outputs, reshaped to `[h, outputs]`; NLinear adds the last value to
//! every output (each quantile, each distribution parameter), as NeuralForecast does. Neither
//! model takes exogenous variables, so NeuralForecast refuses `exclude_insample_y=True` for both.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::Result;
use crate::nn::{join, Ctx, Linear, Module, SeriesDecomp};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast's defaults for both models: longer training at a lower rate than BaseModel's,
/// and inference in batches of 1024 windows.
const DEFAULTS: Defaults =
    Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };

/// Neither model uses exogenous variables (NeuralForecast's EXOGENOUS_* flags are all False).
const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: false };

/// A linear map of `[B, L]` windows to `[B, h, outputs]`: one map each for DLinear's two parts, and
/// NLinear's one.
fn horizon_linear(c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Linear {
    Linear::new(c.input_size, c.h * outputs, true, rng)
}

fn linear_params(c: &CommonOptions, outputs: usize) -> f64 {
    (c.input_size as f64 + 1.0) * c.h as f64 * outputs as f64
}

/// DLinear's own options.
#[derive(Clone, Debug)]
pub struct DLinearOptions {
    /// Length of the moving average that extracts the trend (odd, so that it is centred).
    pub moving_avg_window: usize,
}

pub struct DLinear {
    h: usize,
    outputs: usize,
    decomp: SeriesDecomp,
    linear_trend: Linear,
    linear_season: Linear,
}

impl Spec for DLinearOptions {
    const CLASS: &'static str = "DLinear";
    const DEFAULTS: Defaults = DEFAULTS;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    type Net = DLinear;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let k = r.usize("movingAvgWindow", 25)?;
        // NeuralForecast: Exception('moving_avg_window should be uneven'); 0 is even too.
        if k % 2 == 0 {
            return Err(r.range_error("movingAvgWindow", &format!("should be uneven (odd, so that the moving average is centred), got {k}")));
        }
        Ok(DLinearOptions { moving_avg_window: k })
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([("movingAvgWindow", json!(self.moving_avg_window))])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, k, o) = (c.input_size as f64, self.moving_avg_window as f64, c.h as f64 * outputs as f64);
        Footprint {
            params: 2.0 * linear_params(c, outputs),
            // The padded window, trend and season, each part's map and their sum.
            per_window: (l + k - 1.0) + 2.0 * l + 3.0 * o,
        }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> DLinear {
        let linear_trend = horizon_linear(c, outputs, rng);
        let linear_season = horizon_linear(c, outputs, rng);
        DLinear { h: c.h, outputs, decomp: SeriesDecomp::new(self.moving_avg_window), linear_trend, linear_season }
    }
}

impl Module for DLinear {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.linear_trend.visit(&join(prefix, "linear_trend"), f);
        self.linear_season.visit(&join(prefix, "linear_season"), f);
    }
}

impl Network for DLinear {
    fn forward(&self, batch: &Batch, _ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        let (season, trend) = self.decomp.forward(&batch.insample_y);
        let forecast = self.linear_trend.forward(&trend).add(&self.linear_season.forward(&season));
        forecast.reshape(&[b, self.h, self.outputs])
    }
}

/// NLinear has no options of its own.
#[derive(Clone, Debug)]
pub struct NLinearOptions;

pub struct NLinear {
    h: usize,
    outputs: usize,
    linear: Linear,
}

impl Spec for NLinearOptions {
    const CLASS: &'static str = "NLinear";
    const DEFAULTS: Defaults = DEFAULTS;
    const CAPABILITIES: Capabilities = CAPABILITIES;
    type Net = NLinear;

    fn read(_: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(NLinearOptions)
    }
    fn to_json(&self) -> Map<String, Value> {
        Map::new()
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, o) = (c.input_size as f64, c.h as f64 * outputs as f64);
        // The shifted window, the map and the shifted-back forecast.
        Footprint { params: linear_params(c, outputs), per_window: l + 2.0 * o }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> NLinear {
        NLinear { h: c.h, outputs, linear: horizon_linear(c, outputs, rng) }
    }
}

impl Module for NLinear {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.linear.visit(&join(prefix, "linear"), f);
    }
}

impl Network for NLinear {
    fn forward(&self, batch: &Batch, _ctx: &mut Ctx) -> Tensor {
        let x = &batch.insample_y;
        let (b, l) = (x.dim(0), x.dim(1));
        let last = x.narrow(1, l - 1, 1);
        let forecast = self.linear.forward(&x.sub(&last)).add(&last);
        forecast.reshape(&[b, self.h, self.outputs])
    }
}

#[cfg(test)]
mod tests;

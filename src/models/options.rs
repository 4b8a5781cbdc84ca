//! Options every model shares, with NeuralForecast's names (camelCase in JSON) and meanings.
//! Each model supplies its own defaults (NeuralForecast's differ per model).

use serde_json::{json, Value};

use super::reader::OptionReader;
use crate::data::ScalerType;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::tensor::Precision;

/// A model's own options as JSON entries, in the order given (for `Spec::to_json`).
pub fn entries<const N: usize>(pairs: [(&str, Value); N]) -> serde_json::Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Training and data options common to all models.
#[derive(Clone, Debug, PartialEq)]
pub struct CommonOptions {
    /// Forecast horizon.
    pub h: usize,
    /// Length of the input window.
    pub input_size: usize,
    pub max_steps: usize,
    pub learning_rate: f64,
    /// Halvings of the learning rate over training (StepLR); -1 for none.
    pub num_lr_decays: i64,
    /// Validation checks without improvement before stopping; <= 0 disables early stopping.
    pub early_stop_patience_steps: i64,
    pub val_check_steps: usize,
    /// Series per training batch.
    pub batch_size: usize,
    pub valid_batch_size: Option<usize>,
    /// Windows sampled per training step.
    pub windows_batch_size: usize,
    /// Windows per inference batch; None = all at once.
    pub inference_windows_batch_size: Option<usize>,
    /// Distance between consecutive training windows.
    pub step_size: usize,
    pub start_padding_enabled: bool,
    /// Padded window positions read 0 after scaling; false (NeuralForecast) scales the padded
    /// zeros like data. See `data::windows`.
    pub pad_after_scaling: bool,
    /// `identity | standard | robust | minmax | minmax1 | invariant`.
    pub scaler_type: String,
    /// The training loss as the JS API gave it (`{"type": "MAE"}` by default).
    pub loss: Value,
    /// The validation loss; None = same as `loss`.
    pub valid_loss: Option<Value>,
    pub random_seed: u64,
    /// Output column name; None = the class name.
    pub alias: Option<String>,
    pub futr_exog_list: Vec<String>,
    pub hist_exog_list: Vec<String>,
    pub stat_exog_list: Vec<String>,
    /// Number of series, for multivariate models.
    pub n_series: Option<usize>,
    /// NeuralForecast's `exclude_insample_y`: the model sees the window's target values as zeros
    /// (it forecasts from exogenous variables only). None for a class without the option.
    pub exclude_insample_y: Option<bool>,
    /// Lightning's `precision` for training ('32-true', 'bf16-mixed', '16-mixed').
    pub precision: Precision,
}

/// NeuralForecast's per-model defaults for the common options.
#[derive(Clone, Copy, Debug)]
pub struct Defaults {
    pub max_steps: usize,
    pub learning_rate: f64,
    pub num_lr_decays: i64,
    pub windows_batch_size: usize,
    /// None = all windows at once (NeuralForecast's -1).
    pub inference_windows_batch_size: Option<usize>,
    pub scaler_type: &'static str,
    /// NeuralForecast's recurrent models take `inputSize: -1` (their default) as this many horizons.
    pub input_size_horizons: Option<usize>,
    /// The training loss when `loss` is not given, as loss JSON (MAE for most models).
    pub loss: &'static str,
    /// The loss type validation uses when `validLoss` is not given (None: the training loss).
    pub valid_loss: Option<&'static str>,
    /// The class's NeuralForecast signature has `exclude_insample_y` (TCN's, NBEATS', FEDformer's
    /// and TFT's do not, so the option is unknown there).
    pub takes_exclude_insample_y: bool,
}

impl Defaults {
    /// NeuralForecast's BaseModel defaults; a model states only where it differs
    /// (`Defaults { num_lr_decays: 3, ..Defaults::BASE }`).
    pub const BASE: Defaults = Defaults {
        max_steps: 1000,
        learning_rate: 1e-3,
        num_lr_decays: -1,
        windows_batch_size: 1024,
        inference_windows_batch_size: None,
        scaler_type: "identity",
        input_size_horizons: None,
        loss: r#"{"type": "MAE"}"#,
        valid_loss: None,
        takes_exclude_insample_y: true,
    };
}

impl CommonOptions {
    /// Reads the common options from `r`, leaving model-specific ones for the caller.
    pub fn read(r: &mut OptionReader, d: Defaults) -> Result<CommonOptions> {
        let h = r.required_positive("h")?;
        let input_size = match d.input_size_horizons {
            Some(k) => match r.i64("inputSize", -1)? {
                -1 => k.saturating_mul(h),
                n if n >= 1 => n as usize,
                n => return Err(r.range_error("inputSize", &format!("must be >= 1 (or -1 for {k}·h), got {n}"))),
            },
            None => r.required_positive("inputSize")?,
        };
        let scaler_type = r.string("scalerType", d.scaler_type)?;
        ScalerType::parse(&scaler_type)?;
        let loss = r.raw("loss").unwrap_or_else(|| serde_json::from_str(d.loss).expect("a model's default loss is valid JSON"));
        let train = Loss::from_json(&loss, "loss")?;
        let valid_loss = r.raw("validLoss");
        if let Some(v) = &valid_loss {
            train.check_valid_loss(&Loss::from_json(v, "validLoss")?)?;
        }
        // A model's default validation loss is not checked against the training loss here: the
        // model's own check refuses training losses it cannot use, with its own message.
        let valid_loss = valid_loss.or_else(|| d.valid_loss.map(|t| json!({"type": t})));
        let ibs = r.i64("inferenceWindowsBatchSize", d.inference_windows_batch_size.map_or(-1, |v| v as i64))?;
        let seed = r.i64("randomSeed", 1)?;
        if seed < 0 {
            return Err(Error::range(format!("option 'randomSeed' must be >= 0, got {seed}")));
        }
        Ok(CommonOptions {
            h,
            input_size,
            max_steps: r.usize_min("maxSteps", d.max_steps, 1)?,
            learning_rate: r.f64_in("learningRate", d.learning_rate, 0.0, 10.0, true)?,
            num_lr_decays: r.i64("numLrDecays", d.num_lr_decays)?,
            early_stop_patience_steps: r.i64("earlyStopPatienceSteps", -1)?,
            val_check_steps: r.usize_min("valCheckSteps", 100, 1)?,
            batch_size: r.usize_min("batchSize", 32, 1)?,
            valid_batch_size: match r.usize("validBatchSize", 0)? {
                0 => None,
                n => Some(n),
            },
            windows_batch_size: r.usize_min("windowsBatchSize", d.windows_batch_size, 1)?,
            inference_windows_batch_size: if ibs <= 0 { None } else { Some(ibs as usize) },
            step_size: r.usize_min("stepSize", 1, 1)?,
            start_padding_enabled: r.bool("startPaddingEnabled", false)?,
            pad_after_scaling: r.bool("padAfterScaling", false)?,
            scaler_type,
            loss,
            valid_loss,
            random_seed: seed as u64,
            alias: r.optional_string("alias")?,
            futr_exog_list: r.strings("futrExogList")?,
            hist_exog_list: r.strings("histExogList")?,
            stat_exog_list: r.strings("statExogList")?,
            n_series: None,
            exclude_insample_y: if d.takes_exclude_insample_y { Some(r.bool("excludeInsampleY", false)?) } else { None },
            precision: r.raw("precision").map_or(Ok(Precision::F32), |v| Precision::parse(&v, "precision"))?,
        })
    }

    /// The common options as camelCase JSON (defaults filled in).
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "h": self.h,
            "inputSize": self.input_size,
            "maxSteps": self.max_steps,
            "learningRate": self.learning_rate,
            "numLrDecays": self.num_lr_decays,
            "earlyStopPatienceSteps": self.early_stop_patience_steps,
            "valCheckSteps": self.val_check_steps,
            "batchSize": self.batch_size,
            "validBatchSize": self.valid_batch_size,
            "windowsBatchSize": self.windows_batch_size,
            "inferenceWindowsBatchSize": self.inference_windows_batch_size.map_or(-1, |v| v as i64),
            "stepSize": self.step_size,
            "startPaddingEnabled": self.start_padding_enabled,
            "padAfterScaling": self.pad_after_scaling,
            "scalerType": self.scaler_type,
            "loss": self.loss,
            "validLoss": self.valid_loss,
            "randomSeed": self.random_seed,
            "alias": self.alias,
            "futrExogList": self.futr_exog_list,
            "histExogList": self.hist_exog_list,
            "statExogList": self.stat_exog_list,
        });
        if let Some(n) = self.n_series {
            v["nSeries"] = json!(n);
        }
        if let Some(x) = self.exclude_insample_y {
            v["excludeInsampleY"] = json!(x);
        }
        // Only when set: the options of an f32 model (and so its saved file and a checkpoint's
        // fingerprint) stay as they were before the option existed.
        if self.precision != Precision::F32 {
            v["precision"] = json!(self.precision.name());
        }
        v
    }

    /// The parsed training loss.
    pub fn loss(&self) -> Loss {
        Loss::from_json(&self.loss, "loss").expect("validated when the options were read")
    }

    /// The parsed validation loss (the training loss when not set).
    pub fn valid_loss(&self) -> Loss {
        self.valid_loss.as_ref().map_or_else(|| self.loss(), |v| Loss::from_json(v, "validLoss").expect("validated"))
    }

    pub fn scaler(&self) -> ScalerType {
        ScalerType::parse(&self.scaler_type).expect("validated when the options were read")
    }
}

//! The Node binding: conversion and error mapping only. Long work runs off the JS thread (see
//! `tasks`); the JS thread never trains or predicts.

mod error;
mod frame;
mod tasks;
mod teardown;
mod world;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{AbortSignal, AsyncTask, Either, Object};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Status};
use napi_derive::napi;
use serde_json::Value;

use crate::error::Error;
use crate::forecast::{CheckpointOptions, CvOptions, FitOptions, FreqSpec, IntervalMethod, ModelSpec, NeuralForecast, PredictOptions, PredictionIntervals, Shared};
use crate::kernels::half::HalfKind;
use error::{guarded, to_js};
use frame::{to_output, NativeFrame, NativeOutput};
use tasks::{InsampleCall, LoadTask, PredictCall, SaveTask, WriteCall};

/// One progress report, as `onProgress` receives it.
#[napi(object)]
#[derive(Clone)]
pub struct ProgressEvent {
    pub model: String,
    pub step: u32,
    pub max_steps: u32,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
}

/// fit's `predictionIntervals`, defaults filled in by the JS side.
#[napi(object)]
pub struct PredictionIntervalsOptions {
    pub n_windows: u32,
    pub step_size: u32,
    pub method: String,
}

impl PredictionIntervalsOptions {
    fn to_engine(&self) -> crate::Result<PredictionIntervals> {
        Ok(PredictionIntervals { n_windows: self.n_windows as usize, step_size: self.step_size as usize, method: IntervalMethod::parse(&self.method)? })
    }
}

/// fit's `checkpointEvery`, `checkpointPath` and `resume`, checked by the JS side.
#[napi(object)]
pub struct CheckpointSpec {
    pub path: String,
    /// 0: only when each model finishes.
    pub every: u32,
    pub resume: bool,
}

impl CheckpointSpec {
    fn to_engine(&self) -> CheckpointOptions {
        CheckpointOptions { path: PathBuf::from(&self.path), every: self.every as usize, resume: self.resume }
    }
}

/// `onProgress`, called on the JS thread with each event.
#[napi]
pub type ProgressCallback = ThreadsafeFunction<ProgressEvent, (), ProgressEvent, Status, false>;

/// A cancel flag for the engine's `Control`, raised when `signal` aborts: the engine stops within
/// one training step and returns `ErrorKind::Aborted`.
fn cancel_flag(signal: Option<&AbortSignal>) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    if let Some(signal) = signal {
        let f = flag.clone();
        signal.on_abort(move || f.store(true, Ordering::Relaxed));
    }
    flag
}

fn parse_json(text: &str, what: &str) -> crate::Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::type_err(format!("{what} is not valid JSON: {e}")))
}

fn freq_spec(v: &Value) -> crate::Result<FreqSpec> {
    match v {
        Value::String(s) => Ok(FreqSpec::Alias(s.clone())),
        Value::Number(n) => Ok(FreqSpec::Step(n.as_f64().unwrap_or(f64::NAN))),
        Value::Null => Err(Error::type_err("NeuralForecast needs option 'freq' (e.g. 'MS', 'h', or 1 for integer ds)")),
        other => Err(Error::type_err(format!("option 'freq' must be a string such as 'MS' or a number, got {other}"))),
    }
}

fn model_specs(v: &Value) -> crate::Result<Vec<ModelSpec>> {
    let list = v.as_array().ok_or_else(|| Error::type_err("option 'models' must be an array of models, e.g. [new NHITS({ h: 12, inputSize: 24 })]"))?;
    list.iter()
        .map(|m| {
            let class = m["class"].as_str().ok_or_else(|| Error::type_err("each entry of 'models' must be a model instance such as new NHITS({...})"))?;
            Ok(ModelSpec { class: class.to_string(), options: m["options"].clone() })
        })
        .collect()
}

/// Checks a model's options at construction; returns them normalised, as JSON.
#[napi(catch_unwind)]
pub fn validate_model(class_name: String, options_json: String) -> napi::Result<String> {
    guarded("validateModel", || {
        let options = parse_json(&options_json, "model options")?;
        NeuralForecast::validate_model(&ModelSpec { class: class_name, options }).map(|v| v.to_string())
    })
}

/// The engine side of `NeuralForecast`: its state shared by concurrent calls (`forecast::Shared`).
#[napi]
pub struct Forecaster {
    inner: Arc<Shared>,
    /// The size of the pool each of its engine calls runs on (0: the default, the core count).
    threads: usize,
}

impl Forecaster {
    pub(crate) fn wrap(nf: NeuralForecast, threads: usize) -> Forecaster {
        Forecaster { inner: Shared::new(nf), threads }
    }
}

/// The `threads` option: absent or null is the default (0), else a whole number from 1 to
/// `threads::MAX_THREADS`.
fn thread_count(v: &Value) -> crate::Result<usize> {
    use crate::kernels::threads::MAX_THREADS;
    if v.is_null() {
        return Ok(0);
    }
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && (1.0..=MAX_THREADS as f64).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::range(format!("NeuralForecast option 'threads' must be a whole number from 1 to {MAX_THREADS}, got {n}"))),
        None => Err(Error::type_err(format!("NeuralForecast option 'threads' must be a number, got {v}"))),
    }
}

fn progress_sink(cb: Option<ProgressCallback>) -> Option<Box<dyn Fn(&crate::forecast::ProgressEvent) + Send + Sync>> {
    use napi::threadsafe_function::ThreadsafeFunctionCallMode;
    cb.map(|cb| {
        Box::new(move |e: &crate::forecast::ProgressEvent| {
            let event = ProgressEvent { model: e.model.clone(), step: e.step as u32, max_steps: e.max_steps as u32, train_loss: e.train_loss, val_loss: e.val_loss };
            cb.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }) as Box<dyn Fn(&crate::forecast::ProgressEvent) + Send + Sync>
    })
}

#[napi]
impl Forecaster {
    /// `config_json`: `{ models: [{ class, options }], freq }`.
    #[napi(constructor, catch_unwind)]
    pub fn new(config_json: String) -> napi::Result<Self> {
        guarded("NeuralForecast", || {
            let cfg = parse_json(&config_json, "NeuralForecast options")?;
            let holidays: Vec<f64> = cfg["holidays"].as_array().map(|a| a.iter().map(|d| d.as_f64().unwrap_or(f64::NAN)).collect()).unwrap_or_default();
            let threads = thread_count(&cfg["threads"])?;
            Ok(Forecaster::wrap(NeuralForecast::new(model_specs(&cfg["models"])?, freq_spec(&cfg["freq"])?)?.with_holidays(&holidays)?, threads))
        })
    }

    /// Rejects at once when a fit or crossValidation of this object is still running.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    #[allow(clippy::too_many_arguments)]
    pub fn fit<'env>(
        &self,
        env: &'env Env,
        df: NativeFrame,
        static_df: Option<NativeFrame>,
        val_size: u32,
        model_val_sizes: Option<Vec<u32>>,
        verbose: bool,
        prediction_intervals: Option<PredictionIntervalsOptions>,
        use_init_models: bool,
        max_steps: Option<u32>,
        checkpoint: Option<CheckpointSpec>,
        on_progress: Option<ProgressCallback>,
        signal: Option<AbortSignal>,
        world_sharded: Option<bool>,
    ) -> napi::Result<Object<'env>> {
        let df = df.0;
        // Set (to whether each rank has its own series) for a world of more than one process.
        let world = world_sharded.map(world::world).transpose().map_err(to_js)?;
        let static_df = static_df.map(|f| f.0);
        let model_val_sizes = model_val_sizes.unwrap_or_default().into_iter().map(|v| v as usize).collect();
        let prediction_intervals = prediction_intervals.as_ref().map(PredictionIntervalsOptions::to_engine).transpose().map_err(to_js)?;
        let checkpoint = checkpoint.as_ref().map(CheckpointSpec::to_engine);
        let opts = FitOptions { val_size: val_size as usize, model_val_sizes, verbose, prediction_intervals, use_init_models, max_steps: max_steps.map(|s| s as usize), checkpoint, world };
        let writer = self.inner.begin_write("fit").map_err(to_js)?;
        let cancel = cancel_flag(signal.as_ref());
        tasks::fit(env, WriteCall { writer, df, static_df, opts, cancel, progress: progress_sink(on_progress), threads: self.threads })
    }

    /// Forecasts with the committed models (during a refit: the ones fitted before it). A request
    /// known to be small returns its forecast at once, computed on this thread.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeOutput> | NativeOutput")]
    #[allow(clippy::too_many_arguments)]
    pub fn predict<'env>(
        &self,
        env: &'env Env,
        df: Option<NativeFrame>,
        futr_df: Option<NativeFrame>,
        static_df: Option<NativeFrame>,
        h: Option<u32>,
        level: Option<Vec<f64>>,
        signal: Option<AbortSignal>,
    ) -> napi::Result<Either<Object<'env>, NativeOutput>> {
        let conv = |f: Option<NativeFrame>| f.map(|f| f.0);
        let opts = PredictOptions { h: h.map(|h| h as usize), level };
        let call = PredictCall { nf: self.inner.current(), df: conv(df), futr_df: conv(futr_df), static_df: conv(static_df), opts, cancel: cancel_flag(signal.as_ref()), threads: self.threads };
        tasks::predict(env, call)
    }

    /// µs the engine's last successful predict of the committed state took, without the binding
    /// (null before one): the Rust-side figure `bench/predict_latency.mjs` reports.
    #[napi(catch_unwind)]
    pub fn last_predict_micros(&self) -> Option<f64> {
        self.inner.current().last_predict_time().map(|t| t.as_secs_f64() * 1e6)
    }

    /// In-sample forecasts of the committed models over the data they were fitted on.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeOutput>")]
    pub fn predict_insample<'env>(&self, env: &'env Env, step_size: u32, signal: Option<AbortSignal>) -> napi::Result<Object<'env>> {
        tasks::predict_insample(env, InsampleCall { nf: self.inner.current(), step_size: step_size as usize, cancel: cancel_flag(signal.as_ref()), threads: self.threads })
    }

    /// Rejects at once when a fit or crossValidation of this object is still running.
    #[napi(catch_unwind, ts_return_type = "Promise<NativeOutput>")]
    #[allow(clippy::too_many_arguments)]
    pub fn cross_validation<'env>(
        &self,
        env: &'env Env,
        df: NativeFrame,
        static_df: Option<NativeFrame>,
        n_windows: u32,
        step_size: Option<u32>,
        val_size: u32,
        refit: bool,
        use_init_models: bool,
        prediction_intervals: Option<PredictionIntervalsOptions>,
        level: Option<Vec<f64>>,
        verbose: bool,
        on_progress: Option<ProgressCallback>,
        signal: Option<AbortSignal>,
    ) -> napi::Result<Object<'env>> {
        let df = df.0;
        let static_df = static_df.map(|f| f.0);
        let prediction_intervals = prediction_intervals.as_ref().map(PredictionIntervalsOptions::to_engine).transpose().map_err(to_js)?;
        let opts = CvOptions { n_windows: n_windows as usize, step_size: step_size.map(|s| s as usize), val_size: val_size as usize, refit, verbose, use_init_models, max_steps: None, prediction_intervals, level };
        let writer = self.inner.begin_write("crossValidation").map_err(to_js)?;
        let cancel = cancel_flag(signal.as_ref());
        tasks::cross_validation(env, WriteCall { writer, df, static_df, opts, cancel, progress: progress_sink(on_progress), threads: self.threads })
    }

    /// Saves to `path`; `extra_json` is stored alongside and returned by `extra()` after load;
    /// `weights` ('f32', 'bf16' or 'f16', checked by the wrapper) is how the weights are stored.
    /// During a fit it saves the models fitted before it, without waiting.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn save(&self, path: String, extra_json: String, weights: String) -> napi::Result<AsyncTask<SaveTask>> {
        let extra = parse_json(&extra_json, "save metadata").map_err(to_js)?;
        let weights = match weights.as_str() {
            "f32" => None,
            "bf16" => Some(HalfKind::Bf16),
            "f16" => Some(HalfKind::F16),
            other => return Err(to_js(Error::range(format!("save option 'weights' must be 'f32', 'bf16' or 'f16', got '{other}'")))),
        };
        Ok(AsyncTask::new(SaveTask { nf: self.inner.clone(), path: PathBuf::from(path), extra, weights }))
    }

    /// The metadata given to `save`, as JSON (`null` when none).
    #[napi(catch_unwind)]
    pub fn extra(&self) -> napi::Result<String> {
        guarded("extra", || Ok(self.inner.extra().to_string()))
    }

    /// What explains model `index`'s last predict, as JSON: per recorded tensor its per-window
    /// shape and mean over the predict's windows (TFT's weights; `{}` for other models, `null`
    /// before a predict). The wrapper turns it into NeuralForecast's `feature_importances()`.
    #[napi(catch_unwind)]
    pub fn explanation(&self, index: u32) -> napi::Result<String> {
        guarded("explanation", || Ok(self.inner.current().explanation(index as usize).to_string()))
    }

    /// NeuralForecast's `make_future_dataframe`: `unique_id` and `ds` of the horizon of every series.
    #[napi(catch_unwind)]
    pub fn make_future_dataframe(&self, df: Option<NativeFrame>, h: Option<u32>) -> napi::Result<NativeOutput> {
        guarded("makeFutureDataframe", || {
            let df = df.map(|f| f.0);
            Ok(to_output(self.inner.current().make_future_frame(df.as_ref(), h.map(|h| h as usize))?))
        })
    }

    /// NeuralForecast's `get_missing_future`: the horizon rows `futr_df` lacks.
    #[napi(catch_unwind)]
    pub fn get_missing_future(&self, futr_df: NativeFrame, df: Option<NativeFrame>, h: Option<u32>) -> napi::Result<NativeOutput> {
        guarded("getMissingFuture", || {
            let futr = futr_df.0;
            let df = df.map(|f| f.0);
            Ok(to_output(self.inner.current().missing_future(&futr, df.as_ref(), h.map(|h| h as usize))?))
        })
    }

    /// Output column names, model by model.
    #[napi(catch_unwind)]
    pub fn output_names(&self) -> napi::Result<Vec<String>> {
        guarded("outputNames", || Ok(self.inner.current().output_names()))
    }
}

/// Reads a saved NeuralForecast.
#[napi(catch_unwind, ts_return_type = "Promise<Forecaster>")]
pub fn load_forecaster(path: String, threads: Option<u32>) -> AsyncTask<LoadTask> {
    AsyncTask::new(LoadTask { path: PathBuf::from(path), threads: threads.unwrap_or(0) as usize })
}

//! The `NeuralForecast` object: models plus the data they were fitted on.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::checkpoint::{fingerprint, FitCheckpoint};
use super::conformal::{column_names, intervals, levels, Conformal};
use super::frame::{InputFrame, OutputFrame};
use super::inputs::{config_name, exog_indices, future_values, model_name, Statics};
use super::explain::{Explanation, LastExplanations};
use super::task::{forecast_columns, FitTask, Inputs, Sampler, Windows};
use super::{Control, CvOptions, FitOptions, FreqSpec, ModelSpec, PredictOptions, ProgressEvent, World};
use crate::loss::Loss;
use crate::data::{
    check_n_series, forecast_windows, mv_forecast_window, mv_validation_windows, mv_window_at, static_table, validation_windows, Dataset, FrameColumns, Freq, MvSampler,
    Series, TrainSampler, Window, WindowSpec,
};
use crate::error::{Error, Result};
use crate::kernels::half::HalfKind;
use crate::kernels::threads::on_worker;
use crate::models::{self, memory, Model, ModelConfig};
use crate::nn::{named_buffers, named_params};
use crate::rng::Rng;
use crate::train::{fit_in as train, Checkpoints, Collective, Local, TrainConfig};

/// Progress reports are thinned to at most one per this interval (plus each model's last step).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(50);

/// Models, their frequency, and (once fitted) the data they learned from.
pub struct NeuralForecast {
    /// Every model's checked options; weights exist only once fitted (or loaded), so constructing
    /// a NeuralForecast allocates nothing on the caller's thread.
    pub(super) configs: Vec<Arc<dyn ModelConfig>>,
    /// The trained models, one per config, once fitted or loaded; empty before.
    pub(super) models: Vec<Box<dyn Model>>,
    pub(super) freq: Freq,
    pub(super) freq_spec: FreqSpec,
    /// Market holidays of a business-day freq (epoch ms), as given; saved with the model.
    pub(super) holidays: Vec<f64>,
    /// The training data, kept so `predict()` without `df` forecasts after it.
    pub(super) data: Option<Dataset>,
    pub(super) statics: Statics,
    /// The conformity scores of a fit with `predictionIntervals`, for `predict(level)`.
    pub(super) conformal: Option<Conformal>,
    /// Caller-owned metadata saved with the model (the JS wrapper keeps the input frame's id and
    /// timestamp kinds here so outputs after `load` look like outputs before `save`).
    pub extra: serde_json::Value,
    /// What the last predict cost, to run the next small one on the caller's thread.
    pub(super) predict_cost: super::inline::PredictCost,
    /// What explains each model's last predict (TFT's weights).
    pub(super) explained: LastExplanations,
}

/// Rows `makeFutureDataframe` may return: an `h` that would need more is a caller's mistake.
const MAX_FUTURE_ROWS: usize = 100_000_000;

pub(super) fn parse_freq(spec: &FreqSpec) -> Result<Freq> {
    match spec {
        FreqSpec::Alias(a) => Freq::parse(a),
        FreqSpec::Step(s) => Freq::step(*s),
    }
}

/// The one way to reach a panic inside the engine from JS, for the test that panics are contained
/// (issue 14): no input reaches one on purpose, and a test build's trigger would not be in the
/// addon that the JS tests load. With `NEURO_DIVERGENT_TEST_PANIC=<id>` set when the process
/// starts, reading a frame that holds series `<id>` panics. Read once: setting it later does
/// nothing, and unset it costs one load per frame.
fn panic_if_asked(ids: &[String]) {
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(id) = ID.get_or_init(|| std::env::var("NEURO_DIVERGENT_TEST_PANIC").ok().filter(|s| !s.is_empty())) {
        if ids.iter().any(|u| u == id) {
            panic!("NEURO_DIVERGENT_TEST_PANIC: the frame holds series '{id}'");
        }
    }
}

impl NeuralForecast {
    /// Validates every model's options, the freq, and that aliases are unique and horizons agree.
    pub fn new(specs: Vec<ModelSpec>, freq: FreqSpec) -> Result<Self> {
        if specs.is_empty() {
            return Err(Error::value("models must list at least one model"));
        }
        let configs = specs.iter().map(|s| models::configure_class(&s.class, &s.options).map(Arc::from)).collect::<Result<Vec<_>>>()?;
        Self::from_configs(configs, Vec::new(), freq)
    }

    /// Loaded models, trained already.
    pub(super) fn from_models(models: Vec<Box<dyn Model>>, freq_spec: FreqSpec) -> Result<Self> {
        let configs = models.iter().map(|m| models::configure_class(m.class_name(), &m.options_json()).map(Arc::from)).collect::<Result<Vec<_>>>()?;
        // Refits and copies build from these: what they name on disk is loaded already (the
        // models were built from it), so this only shares it.
        configs.iter().try_for_each(|c: &Arc<dyn ModelConfig>| c.prepare())?;
        Self::from_configs(configs, models, freq_spec)
    }

    fn from_configs(configs: Vec<Arc<dyn ModelConfig>>, models: Vec<Box<dyn Model>>, freq_spec: FreqSpec) -> Result<Self> {
        let freq = parse_freq(&freq_spec)?;
        let mut names: Vec<String> = Vec::new();
        for m in &configs {
            let name = config_name(m.as_ref());
            if names.contains(&name) {
                return Err(Error::value(format!("two models are named '{name}': give one an alias")));
            }
            names.push(name);
        }
        let h = configs[0].common().h;
        if let Some(m) = configs.iter().find(|m| m.common().h != h) {
            return Err(Error::value(format!("all models must share one h: {} has h={}, {} has h={h}", config_name(m.as_ref()), m.common().h, config_name(configs[0].as_ref()))));
        }
        Ok(NeuralForecast { configs, models, freq, freq_spec, holidays: Vec::new(), data: None, statics: Statics::default(), conformal: None, extra: serde_json::Value::Null, predict_cost: Default::default(), explained: Default::default() })
    }

    /// Makes a business-day freq skip `holidays` (epoch ms): daily exchange data has no rows on
    /// them, and forecasts must not be dated on them either.
    pub fn with_holidays(mut self, holidays: &[f64]) -> Result<Self> {
        self.freq = self.freq.clone().with_holidays(holidays)?;
        self.holidays = holidays.to_vec();
        Ok(self)
    }

    /// Validates one model's options (for the JS constructors); returns them normalised.
    pub fn validate_model(spec: &ModelSpec) -> Result<serde_json::Value> {
        models::validate(&spec.class, &spec.options)
    }

    pub fn h(&self) -> usize {
        self.configs[0].common().h
    }

    pub fn is_fitted(&self) -> bool {
        self.data.is_some()
    }

    /// Output column names, model by model.
    pub fn output_names(&self) -> Vec<String> {
        self.configs.iter().flat_map(|m| m.common().loss().output_names(&config_name(m.as_ref()))).collect()
    }

    fn dataset(&self, df: &InputFrame, what: &str) -> Result<Dataset> {
        panic_if_asked(&df.unique_id);
        let y = df.y.as_ref().ok_or_else(|| Error::value(format!("{what} needs a 'y' column")))?;
        Dataset::from_frame(&FrameColumns { unique_id: &df.unique_id, ds: &df.ds, y, exog: &df.columns }, &self.freq, what)
    }

    fn read_statics(static_df: Option<&InputFrame>) -> Result<Statics> {
        Ok(match static_df {
            None => Statics::default(),
            Some(s) => Statics { names: s.columns.iter().map(|(n, _)| n.clone()).collect(), rows: static_table(&s.unique_id, &s.columns, "staticDf")? },
        })
    }

    fn window_spec(model: &dyn Model, data: &Dataset, purpose: Purpose) -> Result<WindowSpec> {
        let c = model.common();
        // A recurrent model's inputs are the points before each target, one more than
        // `inputSize` (NeuralForecast's `input_size + 1`); it trains on `hTrain` targets and
        // forecasts from `inferenceInputSize` points.
        let (input_size, h) = match (model.recurrence(), purpose) {
            (None, _) => (c.input_size, c.h),
            (Some(r), Purpose::Train) => (c.input_size + 1, r.h_train),
            (Some(_), Purpose::Validate) => (c.input_size + 1, c.h),
            (Some(r), Purpose::Predict(h)) => (r.inference_input_size + 1, h),
        };
        Ok(WindowSpec {
            input_size,
            h,
            step_size: c.step_size,
            start_padding: c.start_padding_enabled,
            pad_after_scaling: c.pad_after_scaling,
            scaler: c.scaler(),
            hist_cols: exog_indices(model, data, &c.hist_exog_list, "histExogList")?,
            futr_cols: exog_indices(model, data, &c.futr_exog_list, "futrExogList")?,
        })
    }

    /// Trains every model on `df`: from the fitted (or loaded) weights when there are some, as
    /// NeuralForecast's `fit` continues training, or from each model's initial weights (its
    /// `randomSeed`) before the first fit or with `use_init_models`. Each fit runs `maxSteps` with
    /// a new optimizer, learning-rate schedule and early-stopping count, as NeuralForecast's new
    /// Lightning trainer per fit does.
    ///
    /// `fit`, `predict` and `cross_validation` run on a thread pool of their own
    /// (`kernels::threads::on_worker`; the caller waits), so their parallel loops split among its
    /// workers without a wake-up each, and concurrent calls never run inside one another.
    pub fn fit(&mut self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &FitOptions, ctl: &Control) -> Result<()> {
        *self = self.fitted(df, static_df, opts, ctl)?;
        Ok(())
    }

    /// What `fit` would commit, leaving `self` as it is (so it can keep serving predictions
    /// while the new models train).
    pub fn fitted(&self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &FitOptions, ctl: &Control) -> Result<NeuralForecast> {
        on_worker(|| self.fitted_here(df, static_df, opts, ctl))
    }

    /// NeuralForecast's checks on `valSize` before any training.
    /// `val_sizes`: each model's.
    fn check_val_size(&self, val_sizes: &[usize]) -> Result<()> {
        for (m, &val_size) in self.configs.iter().zip(val_sizes) {
            if val_size == 0 {
                if m.common().early_stop_patience_steps > 0 {
                    return Err(Error::value(format!("{} sets earlyStopPatienceSteps: set valSize > 0 so there is a validation loss to stop on", config_name(m.as_ref()))));
                }
            } else if val_size < self.h() {
                return Err(Error::range(format!("valSize must be 0 or at least the horizon h = {}, got {val_size}", self.h())));
            }
        }
        Ok(())
    }

    fn fitted_here(&self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &FitOptions, ctl: &Control) -> Result<NeuralForecast> {
        let world = opts.world.as_ref().filter(|w| w.collective.size() > 1);
        let (val_sizes, data, statics, models) = agreed(world, self.fit_inputs(df, static_df, opts, world.is_some()), "fit's checks of its options and data")?;
        let mut checkpoint = FitCheckpoint::open_in(opts.checkpoint.as_ref(), world, || fingerprint(&models, &data, &statics, &val_sizes, opts.max_steps, world))?;
        // Calibrated first, on copies trained from the same start, so the final models are the
        // ones a fit without intervals gives. (Not checkpointed: a resumed fit calibrates again.)
        let conformal = match &opts.prediction_intervals {
            Some(pi) => Some(self.conformity_scores(&models, &data, &statics, pi, opts, ctl)?),
            None => None,
        };
        for (i, (m, &val_size)) in models.iter().zip(&val_sizes).enumerate() {
            let run = Run { val_size, holdout: 0, max_steps: opts.max_steps, verbose: opts.verbose, world };
            match &mut checkpoint {
                None => train_model(m.as_ref(), &data, &statics, &run, ctl, None)?,
                Some(c) => c.train(i, m.as_ref(), |saved| train_model(m.as_ref(), &data, &statics, &run, ctl, Some(saved)))?,
            }
        }
        Ok(self.with_fitted(models, data, statics, conformal))
    }

    /// fit's checked options and data: each model's validation size, the dataset, the statics
    /// and the models to train.
    fn fit_inputs(&self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &FitOptions, distributed: bool) -> Result<(Vec<usize>, Dataset, Statics, Vec<Box<dyn Model>>)> {
        if distributed && opts.prediction_intervals.is_some() {
            return Err(Error::type_err("fit options 'world' (of more than one process) and 'predictionIntervals' together are not supported: fit with the world, then calibrate intervals in a fit of one process"));
        }
        let val_sizes = opts.val_sizes(self.configs.len())?;
        self.check_val_size(&val_sizes)?;
        if opts.max_steps == Some(0) {
            return Err(Error::range("fit option 'maxSteps' must be >= 1"));
        }
        let data = self.dataset(df, "df")?;
        let statics = Self::read_statics(static_df)?;
        let models = self.start_models(opts.use_init_models)?;
        Ok((val_sizes, data, statics, models))
    }

    fn with_fitted(&self, models: Vec<Box<dyn Model>>, data: Dataset, statics: Statics, conformal: Option<Conformal>) -> NeuralForecast {
        NeuralForecast {
            configs: self.configs.clone(),
            models,
            freq: self.freq.clone(),
            freq_spec: self.freq_spec.clone(),
            holidays: self.holidays.clone(),
            data: Some(data),
            statics,
            conformal,
            extra: self.extra.clone(),
            predict_cost: Default::default(),
            explained: Default::default(),
        }
    }

    /// The models a fit starts from: copies of the fitted ones (the committed state keeps
    /// serving predictions meanwhile), or fresh ones from the configs, bit for bit what a new
    /// NeuralForecast would build.
    pub(super) fn start_models(&self, use_init_models: bool) -> Result<Vec<Box<dyn Model>>> {
        // The configs were read on the JS thread; the files they name are loaded here, in the
        // worker task (once: a refit finds them loaded).
        self.configs.iter().try_for_each(|c| c.prepare())?;
        if use_init_models || self.models.is_empty() {
            return Ok(self.configs.iter().map(|c| c.build()).collect());
        }
        Ok(self.configs.iter().zip(&self.models).map(|(c, m)| copy_model(c.as_ref(), m.as_ref())).collect())
    }

    /// Forecasts `h` steps after the end of every series of `df` (or of the data seen in fit).
    /// What explains model `i`'s last predict, as JSON (`{}` for a model that records nothing,
    /// `null` before its first predict).
    pub fn explanation(&self, i: usize) -> serde_json::Value {
        self.explained.get(i).map_or(serde_json::Value::Null, |e| e.to_json())
    }

    pub fn predict(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>) -> Result<OutputFrame> {
        self.predict_cancellable(df, futr_df, static_df, &PredictOptions::default(), &AtomicBool::new(false))
    }

    /// `predict` over `h` steps (default the models' horizon; NeuralForecast's `predict(h=...)`),
    /// with intervals at `level`, stopping with `ErrorKind::Aborted` between inference batches
    /// once `cancel` is set.
    pub fn predict_cancellable(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions, cancel: &AtomicBool) -> Result<OutputFrame> {
        self.measured_predict(df, futr_df, static_df, opts, || on_worker(|| self.predict_here(df, futr_df, static_df, opts, cancel)))
    }

    /// The horizon `predict` runs: the models' `h` unless a longer one is asked for, which
    /// NeuralForecast serves (recurrent models step further, the others forecast recursively)
    /// unless a model reads historic exogenous values, unknown beyond the data.
    fn predict_horizon(&self, data: &Dataset, h: Option<usize>) -> Result<usize> {
        let trained = self.h();
        let Some(h) = h else { return Ok(trained) };
        if h < trained {
            return Err(Error::range(format!("predict option 'h' ({h}) must be at least the horizon the models were trained for ({trained})")));
        }
        if h > trained {
            if let Some(m) = self.models.iter().find(|m| !m.common().hist_exog_list.is_empty()) {
                return Err(Error::value(format!(
                    "predict option 'h' ({h}) beyond the trained horizon ({trained}) needs the historic exogenous values of {} ({}) after the data, which nobody knows: predict with h {trained}",
                    model_name(m.as_ref()),
                    m.common().hist_exog_list.join(", ")
                )));
            }
        }
        let rows = data.series.len().saturating_mul(h);
        if rows > MAX_FUTURE_ROWS {
            return Err(Error::range(format!("predict option 'h': {} series × h {h} is {rows} rows, more than the {MAX_FUTURE_ROWS} allowed", data.series.len())));
        }
        Ok(h)
    }

    fn predict_here(&self, df: Option<&InputFrame>, futr_df: Option<&InputFrame>, static_df: Option<&InputFrame>, opts: &PredictOptions, cancel: &AtomicBool) -> Result<OutputFrame> {
        let data = self.history(df, "predict() before fit(): fit the models first, or load a saved NeuralForecast")?;
        let data = data.as_ref();
        if !self.is_fitted() {
            return Err(Error::value("predict() before fit(): fit the models first, or load a saved NeuralForecast"));
        }
        let statics_own;
        let statics = match static_df {
            Some(_) => {
                statics_own = Self::read_statics(static_df)?;
                &statics_own
            }
            None => &self.statics,
        };
        let h = self.predict_horizon(data, opts.h)?;
        let levels = opts.level.as_deref().map(levels).transpose()?;
        if levels.is_some() && self.conformal.is_some() && h > self.h() {
            return Err(Error::range(format!("predict option 'h' ({h}) is beyond the horizon the models were fitted for ({}): NeuralForecast has no prediction intervals there; predict with h {} or without 'level'", self.h(), self.h())));
        }
        let ids: Vec<&str> = data.series.iter().map(|s| s.id.as_str()).collect();
        let mut out = self.future_of(data, h);
        for (i, m) in self.models.iter().enumerate() {
            let st = statics.for_model(m.as_ref(), data)?;
            let name = model_name(m.as_ref());
            // A distribution's quantiles follow `level` (NeuralForecast re-quantiles); MQLoss keeps
            // its own; a point loss gets its conformal intervals after its forecast.
            let loss = match &levels {
                Some(l) => m.common().loss().with_levels(l),
                None => m.common().loss(),
            };
            let scores = match &levels {
                Some(_) if loss.columns() == 1 => Some(self.point_scores(i, &name, &ids)?),
                _ => None,
            };
            let names = loss.output_names(&name);
            let mut explanation = Explanation::default();
            let values = if m.recurrence().is_some() || h == m.common().h {
                let future = future_values(m.as_ref(), data, futr_df, &self.freq, h)?;
                self.forecast_once(m.as_ref(), &loss, data, st.as_deref(), future.as_deref(), h, cancel, &mut explanation)?
            } else {
                self.forecast_recursively(m.as_ref(), &loss, data, st.as_deref(), futr_df, &names, h, cancel, &mut explanation)?
            };
            if !explanation.is_empty() {
                self.explained.set(i, explanation);
            }
            push_columns(&mut out, &names, &values, loss.columns());
            if let (Some(scores), Some(l)) = (scores, &levels) {
                let c = self.conformal.as_ref().expect("point_scores found them");
                let cols = intervals(c.spec.method, &values, &scores, c.spec.n_windows, h, l);
                out.columns.extend(column_names(&name, l).into_iter().zip(cols));
            }
        }
        Ok(out)
    }

    /// One forecast of `h` steps after the end of every series, `[series, h, columns]`.
    #[allow(clippy::too_many_arguments)]
    /// `explain` gets what the network recorded (see `explain`).
    fn forecast_once(&self, m: &dyn Model, loss: &Loss, data: &Dataset, statics: Option<&[Vec<f32>]>, future: Option<&[Vec<Vec<f32>>]>, h: usize, cancel: &AtomicBool, explain: &mut Explanation) -> Result<Vec<f32>> {
        let multivariate = checked_multivariate(m, data, "df")?;
        let spec = Self::window_spec(m, data, Purpose::Predict(h))?;
        let inputs = Inputs { data, spec, statics, future, recurrent: m.recurrence().is_some() };
        // One multivariate window covers every series: its rows come out in series order.
        let windows = if multivariate { Windows::Time(vec![mv_forecast_window(data, &inputs.spec)]) } else { Windows::Series(forecast_windows(data, &inputs.spec)) };
        check_inference(m, "predict", windows.len())?;
        forecast_columns(m, loss, &inputs, &windows, cancel, Some(explain))
    }

    /// NeuralForecast's direct recursive prediction, for a horizon beyond a direct model's own:
    /// forecast `h_model` steps, append the point forecast (the median when the loss has quantiles)
    /// to every series as if observed, and forecast again from there, until `h` steps are covered.
    /// Every round reads `h_model` future exogenous values, so `futrDf` must cover whole rounds.
    /// `explain` keeps the last round's, as NeuralForecast keeps its last forward's.
    #[allow(clippy::too_many_arguments)]
    fn forecast_recursively(&self, m: &dyn Model, loss: &Loss, data: &Dataset, statics: Option<&[Vec<f32>]>, futr_df: Option<&InputFrame>, names: &[String], h: usize, cancel: &AtomicBool, explain: &mut Explanation) -> Result<Vec<f32>> {
        let step = m.common().h;
        let rounds = h.div_ceil(step);
        let k = names.len();
        let fed = if k == 1 { 0 } else { names.iter().position(|n| n.ends_with("-median")).ok_or_else(|| Error::value(format!("predict option 'h' beyond the trained horizon feeds back {}'s median forecast, and its loss has no 0.5 quantile", model_name(m))))? };
        let future = future_values(m, data, futr_df, &self.freq, rounds * step).map_err(|e| {
            if h % step == 0 {
                e
            } else {
                e.context(format!("predict h {h} runs {rounds} forecasts of {}'s h {step}, each with its future exogenous values", model_name(m)))
            }
        })?;
        let futr_cols = Self::window_spec(m, data, Purpose::Predict(step))?.futr_cols;
        let mut grown = data.clone();
        let mut out = vec![0.0f32; data.series.len() * h * k];
        for r in 0..rounds {
            let part: Option<Vec<Vec<Vec<f32>>>> = future.as_ref().map(|f| f.iter().map(|cols| cols.iter().map(|c| c[r * step..(r + 1) * step].to_vec()).collect()).collect());
            *explain = Explanation::default();
            let values = self.forecast_once(m, loss, &grown, statics, part.as_deref(), step, cancel, explain)?;
            for (i, s) in grown.series.iter_mut().enumerate() {
                let rows = &values[i * step * k..(i + 1) * step * k];
                let kept = step.min(h - r * step);
                out[(i * h + r * step) * k..(i * h + r * step + kept) * k].copy_from_slice(&rows[..kept * k]);
                for j in 0..step {
                    let ds = self.freq.advance(s.last_ds(), 1);
                    s.ds.push(ds);
                    s.y.push(rows[j * k + fed]);
                    for col in s.exog.iter_mut() {
                        col.push(0.0);
                    }
                    if let Some(p) = &part {
                        for (c, &at) in futr_cols.iter().enumerate() {
                            *s.exog[at].last_mut().expect("just pushed") = p[i][c][j];
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// NeuralForecast's `predict_insample`: forecasts of `h` steps from cutoffs `stepSize` apart
    /// across the data seen in fit, the first one before the first point (a window of padding
    /// only), the last `h` steps before the end; columns `cutoff`, the models', then `y`. As
    /// NeuralForecast does, each series first loses its `(len - h) % stepSize` oldest points, so
    /// that the cutoffs end exactly `h` before its end.
    pub fn predict_insample(&self, step_size: usize, cancel: &AtomicBool) -> Result<OutputFrame> {
        on_worker(|| self.predict_insample_here(step_size, cancel))
    }

    fn predict_insample_here(&self, step: usize, cancel: &AtomicBool) -> Result<OutputFrame> {
        let data = self.data.as_ref().ok_or_else(|| Error::value("predictInsample() before fit(): fit the models first, or load a saved NeuralForecast"))?;
        if step == 0 {
            return Err(Error::range("predictInsample option 'stepSize' must be >= 1"));
        }
        if let Some(m) = self.models.iter().find(|m| m.capabilities().multivariate) {
            return Err(Error::value(format!("predictInsample: {} is multivariate, and NeuralForecast has no in-sample forecasts for multivariate models", model_name(m.as_ref()))));
        }
        let h = self.h();
        // Cutoffs per series: after 0, step, 2·step, ... of its trimmed points.
        let trim: Vec<usize> = data.series.iter().map(|s| s.len().saturating_sub(h) % step).collect();
        let cutoffs: Vec<usize> = data.series.iter().zip(&trim).map(|(s, o)| if s.len() < h { 0 } else { (s.len() - h - o) / step + 1 }).collect();
        let rows = cutoffs.iter().fold(0usize, |a, c| a.saturating_add(c.saturating_mul(h)));
        if rows > MAX_FUTURE_ROWS {
            return Err(Error::range(format!("predictInsample: {rows} rows (cutoffs × h {h}) are more than the {MAX_FUTURE_ROWS} allowed: raise stepSize")));
        }
        let trimmed = Dataset {
            series: data.series.iter().zip(&trim).map(|(s, &o)| Series { id: s.id.clone(), ds: s.ds[o..].to_vec(), y: s.y[o..].to_vec(), exog: s.exog.iter().map(|c| c[o..].to_vec()).collect() }).collect(),
            exog_names: data.exog_names.clone(),
        };
        let mut out = OutputFrame::default();
        let (mut cutoff, mut truth) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        for (s, &n) in trimmed.series.iter().zip(&cutoffs) {
            for w in 0..n {
                let seen = w * step;
                let at = if seen == 0 { self.freq.advance(s.ds[0], -1) } else { s.ds[seen - 1] };
                for k in 0..h {
                    out.unique_id.push(s.id.clone());
                    out.ds.push(s.ds[seen + k]);
                    cutoff.push(at);
                    truth.push(s.y[seen + k] as f64);
                }
            }
        }
        for m in &self.models {
            let st = self.statics.for_model(m.as_ref(), &trimmed)?;
            let spec = Self::window_spec(m.as_ref(), &trimmed, Purpose::Predict(h))?;
            let l = spec.input_size as isize;
            let windows: Vec<Window> = cutoffs.iter().enumerate().flat_map(|(i, &n)| (0..n).map(move |w| Window { series: i, first: (w * step) as isize - l, visible: w * step })).collect();
            check_inference(m.as_ref(), "predictInsample", windows.len())?;
            let inputs = Inputs { data: &trimmed, spec, statics: st.as_deref(), future: None, recurrent: m.recurrence().is_some() };
            let values = forecast_columns(m.as_ref(), &m.common().loss(), &inputs, &Windows::Series(windows), cancel, None)?;
            let loss = m.common().loss();
            push_columns(&mut out, &loss.output_names(&model_name(m.as_ref())), &values, loss.columns());
        }
        out.columns.insert(0, ("cutoff".into(), cutoff));
        out.columns.push(("y".into(), truth));
        Ok(out)
    }

    /// The series of `df` when given, else the data seen in fit (`missing` is the error without it).
    fn history(&self, df: Option<&InputFrame>, missing: &str) -> Result<std::borrow::Cow<'_, Dataset>> {
        Ok(match df {
            Some(df) => std::borrow::Cow::Owned(self.dataset(df, "df")?),
            None => std::borrow::Cow::Borrowed(self.data.as_ref().ok_or_else(|| Error::value(missing))?),
        })
    }

    /// `unique_id` and `ds` of the `h` steps after the end of every series, in predict's row
    /// order.
    fn future_of(&self, data: &Dataset, h: usize) -> OutputFrame {
        let mut out = OutputFrame::default();
        for s in &data.series {
            for k in 1..=h {
                out.unique_id.push(s.id.clone());
                out.ds.push(self.freq.advance(s.last_ds(), k as i64));
            }
        }
        out
    }

    /// NeuralForecast's `make_future_dataframe`: the rows a `futrDf` needs (`h` steps, default the
    /// models' horizon, after the end of every series of `df`, or of the data seen in fit).
    pub fn make_future_frame(&self, df: Option<&InputFrame>, h: Option<usize>) -> Result<OutputFrame> {
        if !self.is_fitted() {
            return Err(Error::value("makeFutureDataframe() before fit(): fit the models first, or load a saved NeuralForecast"));
        }
        let h = h.unwrap_or_else(|| self.h());
        let data = self.history(df, "makeFutureDataframe() needs the fitted data or a df")?;
        let data = data.as_ref();
        let rows = data.series.len().saturating_mul(h);
        if rows > MAX_FUTURE_ROWS {
            return Err(Error::range(format!("makeFutureDataframe: {} series × h {h} is {rows} rows, more than the {MAX_FUTURE_ROWS} allowed", data.series.len())));
        }
        Ok(self.future_of(data, h))
    }

    /// NeuralForecast's `get_missing_future`: the rows of `make_future_frame(df, h)` that `futr_df`
    /// lacks (matched on `unique_id` and `ds`).
    pub fn missing_future(&self, futr_df: &InputFrame, df: Option<&InputFrame>, h: Option<usize>) -> Result<OutputFrame> {
        let expected = self.make_future_frame(df, h)?;
        let have: std::collections::HashSet<(&str, u64)> = futr_df.unique_id.iter().zip(&futr_df.ds).map(|(id, ds)| (id.as_str(), ds.to_bits())).collect();
        let mut out = OutputFrame::default();
        for (id, ds) in expected.unique_id.into_iter().zip(expected.ds) {
            if !have.contains(&(id.as_str(), ds.to_bits())) {
                out.unique_id.push(id);
                out.ds.push(ds);
            }
        }
        Ok(out)
    }

    /// Rolling-origin evaluation: `n_windows` forecasts of `h` steps, `step_size` apart, ending at
    /// the end of each series; columns `cutoff` and `y` added. Models are retrained per window when
    /// `refit`, otherwise once on the data before the first cutoff.
    pub fn cross_validation(&mut self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &CvOptions, ctl: &Control) -> Result<OutputFrame> {
        let (out, next) = self.cross_validated(df, static_df, opts, ctl)?;
        *self = next;
        Ok(out)
    }

    /// The forecasts of `cross_validation` and the state it would commit, leaving `self` as it is.
    pub fn cross_validated(&self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &CvOptions, ctl: &Control) -> Result<(OutputFrame, NeuralForecast)> {
        on_worker(|| self.cross_validation_here(df, static_df, opts, ctl))
    }

    fn cross_validation_here(&self, df: &InputFrame, static_df: Option<&InputFrame>, opts: &CvOptions, ctl: &Control) -> Result<(OutputFrame, NeuralForecast)> {
        self.check_val_size(&vec![opts.val_size; self.configs.len()])?;
        let data = self.dataset(df, "df")?;
        let statics = Self::read_statics(static_df)?;
        let start = self.start_models(opts.use_init_models)?.into_iter().enumerate().collect();
        let (out, fitted) = self.run_cv(start, &data, &statics, opts, ctl)?;
        // The new models have no conformity scores: intervals come from a fit that computes them.
        Ok((out, self.with_fitted(fitted, data, statics, None)))
    }

    /// Cross-validates `models` (each with the index of its config), training each further in
    /// place: once on the data before the first cutoff, or per window when `refit`, every window
    /// continuing from the previous one (NeuralForecast's refit calls `fit` without
    /// `use_init_models`). Returns the frame, with the given models' columns only, and the models.
    pub(super) fn run_cv(&self, models: Vec<(usize, Box<dyn Model>)>, data: &Dataset, statics: &Statics, opts: &CvOptions, ctl: &Control) -> Result<(OutputFrame, Vec<Box<dyn Model>>)> {
        if opts.n_windows == 0 {
            return Err(Error::range("crossValidation option 'nWindows' must be >= 1"));
        }
        let step = opts.step_size.unwrap_or(1);
        if step == 0 {
            return Err(Error::range("crossValidation option 'stepSize' must be >= 1"));
        }
        let levels = opts.level.as_deref().map(levels).transpose()?;
        if opts.prediction_intervals.is_some() {
            // NeuralForecast's checks in `cross_validation`.
            if levels.is_none() {
                return Err(Error::type_err("crossValidation option 'predictionIntervals' needs option 'level', the intervals' levels"));
            }
            if !opts.refit {
                return Err(Error::type_err("crossValidation option 'predictionIntervals' needs refit: true (as in NeuralForecast, each window's fit calibrates them)"));
            }
        }
        let h = self.h();
        let test_size = h + step * (opts.n_windows - 1);
        if let Some(s) = data.series.iter().find(|s| s.len() <= test_size) {
            return Err(Error::value(format!(
                "series '{}' has {} points, too few for {} cross-validation windows of h={h} every {step} steps (needs more than {test_size})",
                s.id,
                s.len(),
                opts.n_windows
            )));
        }
        // (series, window) rows in NeuralForecast's order: by id, then cutoff, then ds.
        let mut out = OutputFrame::default();
        let mut cutoff = Vec::new();
        let mut truth = Vec::new();
        let mut windows = Vec::new();
        for (i, s) in data.series.iter().enumerate() {
            for w in 0..opts.n_windows {
                let start = s.len() - test_size + w * step;
                windows.push(Window { series: i, first: start as isize, visible: start });
                for k in 0..h {
                    out.unique_id.push(s.id.clone());
                    out.ds.push(self.freq.advance(s.ds[start - 1], (k + 1) as i64));
                    cutoff.push(s.ds[start - 1]);
                    truth.push(s.y.get(start + k).map_or(f64::NAN, |v| *v as f64));
                }
            }
        }
        let mut fitted = Vec::new();
        for (index, m) in models {
            let template = &self.configs[index];
            let name = config_name(template.as_ref());
            let point = self.is_point(index);
            let loss = match &levels {
                Some(l) => template.common().loss().with_levels(l),
                None => template.common().loss(),
            };
            if levels.is_some() && point && opts.prediction_intervals.is_none() {
                return Err(Error::type_err(format!(
                    "crossValidation option 'level': {name} has a point loss, which gives no intervals of its own: pass option 'predictionIntervals' (with refit: true) to calibrate conformal intervals"
                )));
            }
            let k = loss.columns();
            let mut values = vec![0.0f32; windows.len() * h * k];
            // The interval columns of a point model, `[rows]` each, as predict names them.
            let mut bands = match (&levels, &opts.prediction_intervals) {
                (Some(l), Some(_)) if point => vec![vec![0.0f64; windows.len() * h]; 2 * l.len()],
                _ => Vec::new(),
            };
            let rounds: Vec<Vec<usize>> = if opts.refit { (0..opts.n_windows).map(|w| vec![w]).collect() } else { vec![(0..opts.n_windows).collect()] };
            for round in rounds {
                // Train on everything before this round's first cutoff.
                let holdout = test_size - round[0] * step;
                // NeuralForecast's refit calls `fit` with the intervals: this window's scores come
                // from a calibration on the data before its cutoff, from the weights it starts with.
                let scores = match &opts.prediction_intervals {
                    Some(pi) if !bands.is_empty() => {
                        let fit = FitOptions { val_size: opts.val_size, verbose: opts.verbose, max_steps: opts.max_steps, ..Default::default() };
                        Some(self.model_scores(index, m.as_ref(), &without_last(data, holdout), statics, pi, &fit, ctl)?)
                    }
                    _ => None,
                };
                let mut rows = Vec::new();
                train_model(m.as_ref(), data, statics, &Run { val_size: opts.val_size, holdout, max_steps: opts.max_steps, verbose: opts.verbose, world: None }, ctl, None)?;
                let spec = Self::window_spec(m.as_ref(), data, Purpose::Predict(h))?;
                let st = statics.for_model(m.as_ref(), data)?;
                let inputs = Inputs { data, spec, statics: st.as_deref(), future: None, recurrent: m.recurrence().is_some() };
                if m.capabilities().multivariate {
                    // One time window per cutoff; its rows (window, series) go to the output's
                    // (series, window) rows.
                    let n_series = data.series.len();
                    let max_len = data.max_len();
                    let ws: Vec<_> = round.iter().map(|&w| mv_window_at(&inputs.spec, max_len - test_size + w * step)).collect();
                    check_inference(m.as_ref(), "crossValidation", ws.len())?;
                    let pred = forecast_columns(m.as_ref(), &loss, &inputs, &Windows::Time(ws), &ctl.cancel, None)?;
                    for (r, chunk) in pred.chunks(h * k).enumerate() {
                        let j = (r % n_series) * opts.n_windows + round[r / n_series];
                        values[j * h * k..(j + 1) * h * k].copy_from_slice(chunk);
                        rows.push(j);
                    }
                } else {
                let picked: Vec<(usize, Window)> = windows
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| round.contains(&(j % opts.n_windows)))
                    .map(|(j, w)| {
                        let mut w = *w;
                        w.first -= inputs.spec.input_size as isize;
                        (j, w)
                    })
                    .collect();
                let ws: Vec<Window> = picked.iter().map(|(_, w)| *w).collect();
                check_inference(m.as_ref(), "crossValidation", ws.len())?;
                let pred = forecast_columns(m.as_ref(), &loss, &inputs, &Windows::Series(ws), &ctl.cancel, None)?;
                for ((j, _), chunk) in picked.iter().zip(pred.chunks(h * k)) {
                    values[j * h * k..(j + 1) * h * k].copy_from_slice(chunk);
                    rows.push(*j);
                }
                }
                if let (Some(scores), Some(l), Some(pi)) = (scores, &levels, &opts.prediction_intervals) {
                    let per = pi.n_windows * h;
                    for j in rows {
                        let s = windows[j].series;
                        let cols = intervals(pi.method, &values[j * h..(j + 1) * h], &scores[s * per..(s + 1) * per], pi.n_windows, h, l);
                        for (band, col) in bands.iter_mut().zip(cols) {
                            band[j * h..(j + 1) * h].copy_from_slice(&col);
                        }
                    }
                }
            }
            push_columns(&mut out, &loss.output_names(&name), &values, k);
            if let Some(l) = &levels {
                out.columns.extend(column_names(&name, l).into_iter().zip(bands));
            }
            fitted.push(m);
        }
        out.columns.insert(0, ("cutoff".into(), cutoff));
        out.columns.push(("y".into(), truth));
        Ok((out, fitted))
    }

    /// Writes the models, their weights and the fitted data to one file, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with_extra(path, &self.extra, None)
    }

    /// `save`, storing `extra` as the caller's metadata instead of `self.extra`, and the models'
    /// weights in 16 bits when `weights` says so (half the bytes; loaded, single-series forecasts
    /// read the 16-bit values, see `kernels::half`).
    pub fn save_with_extra(&self, path: &Path, extra: &serde_json::Value, weights: Option<HalfKind>) -> Result<()> {
        super::persist::save(self, extra, path, weights)
    }

    /// Reads a file written by [`NeuralForecast::save`].
    pub fn load(path: &Path) -> Result<Self> {
        super::persist::load(path)
    }
}

/// What windows are cut for: a recurrent model cuts each kind differently.
#[derive(Clone, Copy)]
enum Purpose {
    Train,
    Validate,
    /// Forecasting this many steps (a direct model always forecasts its own `h`).
    Predict(usize),
}

/// Refuses an inference batch that would exceed the memory limit, before it is allocated.
fn check_inference(m: &dyn Model, what: &str, windows: usize) -> Result<()> {
    let batch = m.common().inference_windows_batch_size.map_or(windows, |b| b.min(windows));
    memory::check_batch(m.config(), what, batch, false, &memory::limit()?)
}

/// Appends the `k` output columns of `values` (`[rows, k]` row-major, rows in frame order).
fn push_columns(out: &mut OutputFrame, names: &[String], values: &[f32], k: usize) {
    for (c, name) in names.iter().enumerate() {
        out.columns.push((name.clone(), values.iter().skip(c).step_by(k).map(|v| *v as f64).collect()));
    }
}

/// Whether `model` forecasts all series jointly; then `data` must hold exactly its nSeries series.
fn checked_multivariate(model: &dyn Model, data: &Dataset, what: &str) -> Result<bool> {
    if !model.capabilities().multivariate {
        return Ok(false);
    }
    let n = model.common().n_series.ok_or_else(|| Error::type_err(format!("{} is a multivariate model: set option 'nSeries'", model_name(model))))?;
    check_n_series(&model_name(model), n, data, what)?;
    Ok(true)
}

/// `data` without the last `n` points of every series.
fn without_last(data: &Dataset, n: usize) -> Dataset {
    let cut = |s: &Series| {
        let len = s.len() - n;
        Series { id: s.id.clone(), ds: s.ds[..len].to_vec(), y: s.y[..len].to_vec(), exog: s.exog.iter().map(|c| c[..len].to_vec()).collect() }
    };
    Dataset { series: data.series.iter().map(cut).collect(), exog_names: data.exog_names.clone() }
}

/// A model built from `config` holding `from`'s weights and buffers (BatchNorm statistics).
pub(super) fn copy_model(config: &dyn ModelConfig, from: &dyn Model) -> Box<dyn Model> {
    let to = config.build();
    let tensors = |m: &dyn Model| named_params(m).into_iter().chain(named_buffers(m)).map(|(_, t)| t).collect::<Vec<_>>();
    for (dst, src) in tensors(to.as_ref()).into_iter().zip(tensors(from)) {
        dst.data_mut().copy_from_slice(&src.to_vec());
    }
    to
}

/// How one model trains: on the data minus the last `holdout` points of every series, the
/// `val_size` before them validating, for `max_steps` (None: the model's own `maxSteps`).
struct Run<'a> {
    val_size: usize,
    holdout: usize,
    max_steps: Option<usize>,
    verbose: bool,
    /// Data-parallel training as one rank of this world (of more than one process).
    world: Option<&'a World>,
}

/// How a rank of `world` trains `model`: the part of each global batch it computes (rank, size)
/// and the batch sizes its own sampler draws (the whole batch when ranks split it; their share
/// of it when each rank has its own series). Refuses what cannot be split.
fn rank_batches(model: &dyn Model, world: Option<&World>, multivariate: bool) -> Result<((usize, usize), usize, usize)> {
    let c = model.common();
    let Some(w) = world else { return Ok(((0, 1), c.batch_size, c.windows_batch_size)) };
    let name = model_name(model);
    if c.loss() == Loss::Rmse {
        return Err(Error::value(format!("{name}: a data-parallel fit cannot split the RMSE loss (the root of a mean over the whole batch): train with MSE, whose minimum is the same")));
    }
    let (rank, size) = (w.collective.rank(), w.collective.size());
    if !w.sharded {
        return Ok(((rank, size), c.batch_size, c.windows_batch_size));
    }
    if multivariate {
        return Err(Error::value(format!("{name} forecasts all series jointly, so its series cannot be sharded over ranks: give every rank the same frame (fit option 'sharded': false)")));
    }
    let part = |n: usize| crate::train::collective::share(n, rank, size).len().max(1);
    Ok(((0, 1), part(c.batch_size), part(c.windows_batch_size)))
}

/// `local` as it is on one process; across a world, an error on every rank if any rank failed
/// (so that none waits for another that stopped).
fn agreed<T>(world: Option<&World>, local: Result<T>, what: &str) -> Result<T> {
    match world {
        Some(w) => crate::train::collective::agree(w.collective.as_ref(), local, what),
        None => local,
    }
}

/// What `model` trains on, and how, as `run` says.
fn fit_task<'a>(model: &'a dyn Model, data: &'a Dataset, st: Option<&'a [Vec<f32>]>, run: &Run) -> Result<(FitTask<'a>, TrainConfig)> {
    let Run { val_size, holdout, max_steps, world, .. } = *run;
    let rank = world.map_or(0, |w| w.collective.rank());
    let c = model.common();
    let name = model_name(model);
    let spec = NeuralForecast::window_spec(model, data, Purpose::Validate)?;
    let train_spec = NeuralForecast::window_spec(model, data, Purpose::Train)?;
    let multivariate = checked_multivariate(model, data, "df")?;
    let (share, batch_size, windows_batch_size) = rank_batches(model, world, multivariate)?;
    let (sampler, val_windows) = if multivariate {
        let sampler = MvSampler::new(data, &spec, val_size + holdout, windows_batch_size).map_err(|e| e.context(&name))?;
        (Sampler::Time(sampler), Windows::Time(mv_validation_windows(data, &spec, val_size, holdout)))
    } else {
        let sampler = TrainSampler::new(data, &train_spec, val_size + holdout, batch_size, windows_batch_size).map_err(|e| e.context(&name))?;
        (Sampler::Series(sampler), Windows::Series(validation_windows(data, &spec, val_size, holdout)))
    };
    let recurrent = model.recurrence().is_some();
    memory::check_batch(model.config(), "validation", val_windows.len(), false, &memory::limit()?)?;
    let task = FitTask {
        model,
        train_inputs: Inputs { data, spec: train_spec, statics: st, future: None, recurrent },
        inputs: Inputs { data, spec, statics: st, future: None, recurrent },
        sampler,
        loss: c.loss(),
        valid_loss: c.valid_loss(),
        val_windows,
        // Each rank's dropout masks its own rows; the same stream on every rank would repeat them.
        dropout_rng: Rng::seed(c.random_seed.wrapping_add(0x5eed).wrapping_add(rank as u64)),
        share,
    };
    let mut cfg = TrainConfig::new(max_steps.unwrap_or(c.max_steps), c.learning_rate);
    cfg.num_lr_decays = c.num_lr_decays;
    cfg.val_check_steps = c.val_check_steps;
    cfg.early_stop_patience_steps = c.early_stop_patience_steps;
    cfg.precision = c.precision;
    // Ranks that split one global batch draw it alike; ranks with series of their own draw apart.
    cfg.seed = c.random_seed.wrapping_add(if world.is_some_and(|w| w.sharded) { rank as u64 } else { 0 });
    Ok((task, cfg))
}

/// Trains one model (further, from the weights it has) as `run` says, continuing from and
/// saving to `checkpoints` when given.
fn train_model(model: &dyn Model, data: &Dataset, statics: &Statics, run: &Run, ctl: &Control, checkpoints: Option<&mut dyn Checkpoints>) -> Result<()> {
    let (name, verbose) = (model_name(model), run.verbose);
    let st = statics.for_model(model, data);
    let ready = match &st {
        Ok(st) => fit_task(model, data, st.as_deref(), run),
        Err(e) => Err(e.clone()),
    };
    let (mut task, cfg) = agreed(run.world, ready, &format!("the checks before training {name}"))?;
    let mut last_report = Instant::now() - PROGRESS_INTERVAL;
    let mut last_val = None;
    let collective = run.world.map_or(&Local as &dyn Collective, |w| w.collective.as_ref());
    train(collective, &mut task, &cfg, &ctl.cancel, &mut |r| {
        let fresh_val = r.val_loss != last_val;
        last_val = r.val_loss;
        if verbose && (r.step % 50 == 0 || r.last) {
            eprintln!(
                "[neuro-divergent] {name} step {}/{} train loss {:.5}{}",
                r.step,
                r.max_steps,
                r.train_loss,
                r.val_loss.map(|v| format!(" val loss {v:.5}")).unwrap_or_default()
            );
        }
        if r.last || fresh_val || last_report.elapsed() >= PROGRESS_INTERVAL {
            last_report = Instant::now();
            ctl.report(&ProgressEvent { model: name.clone(), step: r.step, max_steps: r.max_steps, train_loss: r.train_loss, val_loss: r.val_loss });
        }
    }, checkpoints)
    .map(|_| ())
}

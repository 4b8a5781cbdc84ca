//! How calls run. Fit, predict and crossValidation run on an engine pool of their own
//! (`kernels::threads::spawn`) and settle a promise when done: no libuv thread waits for them, so
//! they never starve Node's file system, DNS and crypto work, and an environment that tears down
//! (worker.terminate(), process.exit()) does not wait for them either: it aborts them
//! (`teardown`). A predict known to be smaller than the hop runs on the calling thread instead
//! (`forecast::inline`). Save and load are file work and run as ordinary `AsyncTask`s on libuv's pool.
//! Nothing here panics into Node: every call runs inside `guarded`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use napi::bindgen_prelude::*;

use super::error::guarded;
use super::frame::{to_output, NativeOutput};
use super::teardown;
use super::Forecaster;
use crate::forecast::{Control, CvOptions, FitOptions, InputFrame, NeuralForecast, PredictOptions, ProgressEvent, Shared, Writer};
use crate::kernels::half::HalfKind;
use crate::kernels::{inline, threads};

type Sink = Option<Box<dyn Fn(&ProgressEvent) + Send + Sync>>;
type Settle<J> = Box<dyn FnOnce(Env) -> napi::Result<J>>;

/// Runs `work` off every JS and libuv thread and returns the promise of its result (converted by
/// `to_js` on the JS thread). `cancel` is raised if this environment tears down first.
fn spawn<'env, T, J>(
    env: &'env Env,
    what: &'static str,
    threads: usize,
    cancel: &Arc<AtomicBool>,
    work: impl FnOnce() -> crate::Result<T> + Send + 'static,
    to_js: fn(T) -> J,
) -> napi::Result<Object<'env>>
where
    T: Send + 'static,
    J: ToNapiValue + 'static,
{
    // Watched before the promise exists, so a failure here leaves no promise unsettled.
    teardown::watch(env, cancel)?;
    let (deferred, promise) = env.create_deferred::<J, Settle<J>>()?;
    // Shared with the job so the promise can still be rejected if the job never starts.
    let slot = Arc::new(std::sync::Mutex::new(Some(deferred)));
    let job_slot = slot.clone();
    let started = threads::spawn(threads, move || {
        let Some(deferred) = job_slot.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
        match guarded(what, work) {
            Ok(v) => deferred.resolve(Box::new(move |_| Ok(to_js(v)))),
            Err(e) => deferred.reject(e),
        }
    });
    if let Err(why) = started {
        if let Some(deferred) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
            deferred.reject(napi::Error::from_reason(format!("{what}: {why}")));
        }
    }
    Ok(promise)
}

/// A fit or crossValidation: it holds the object's writer slot, trains from the committed state
/// into a new one and commits it; predicts meanwhile serve the committed one. The slot is released
/// when the call ends, however it ends.
pub struct WriteCall<O> {
    pub writer: Writer,
    pub df: InputFrame,
    pub static_df: Option<InputFrame>,
    pub opts: O,
    pub cancel: Arc<AtomicBool>,
    pub progress: Sink,
    /// The size of the call's pool (0: the default).
    pub threads: usize,
}

/// What a writer computes from the committed state: its result and the state to commit.
type Train<O, T> = fn(&NeuralForecast, &InputFrame, Option<&InputFrame>, &O, &Control) -> crate::Result<(T, NeuralForecast)>;

pub fn write<'env, O, T, J>(env: &'env Env, what: &'static str, call: WriteCall<O>, train: Train<O, T>, to_js: fn(T) -> J) -> napi::Result<Object<'env>>
where
    O: Send + 'static,
    T: Send + 'static,
    J: ToNapiValue + 'static,
{
    let (cancel, threads) = (call.cancel.clone(), call.threads);
    let work = move || {
        let WriteCall { writer, df, static_df, opts, cancel, progress, .. } = call;
        let ctl = Control { cancel, on_progress: progress };
        let (out, next) = train(&writer.current(), &df, static_df.as_ref(), &opts, &ctl)?;
        writer.commit(next);
        Ok(out)
    };
    spawn(env, what, threads, &cancel, work, to_js)
}

pub fn fit<'env>(env: &'env Env, call: WriteCall<FitOptions>) -> napi::Result<Object<'env>> {
    write(env, "fit", call, |nf, df, st, opts, ctl| Ok(((), nf.fitted(df, st, opts, ctl)?)), |()| ())
}

pub fn cross_validation<'env>(env: &'env Env, call: WriteCall<CvOptions>) -> napi::Result<Object<'env>> {
    write(env, "crossValidation", call, |nf, df, st, opts, ctl| nf.cross_validated(df, st, opts, ctl), to_output)
}

pub struct PredictCall {
    pub nf: Arc<NeuralForecast>,
    pub df: Option<InputFrame>,
    pub futr_df: Option<InputFrame>,
    pub static_df: Option<InputFrame>,
    pub opts: PredictOptions,
    /// Raised by the caller's AbortSignal (or a teardown): predict stops between batches.
    pub cancel: Arc<AtomicBool>,
    pub threads: usize,
}

/// The promise of the forecast, or, for a request known to be small (`forecast::inline`), the
/// forecast itself, computed on the calling thread: the JS wrapper awaits either.
pub fn predict<'env>(env: &'env Env, call: PredictCall) -> napi::Result<Either<Object<'env>, NativeOutput>> {
    let (df, futr_df, static_df) = (call.df.as_ref(), call.futr_df.as_ref(), call.static_df.as_ref());
    if call.nf.predict_is_small(df, futr_df, static_df, &call.opts) {
        return guarded("predict", || inline::run(|| call.nf.predict_cancellable(df, futr_df, static_df, &call.opts, &call.cancel))).map(|out| Either::B(to_output(out)));
    }
    let cancel = call.cancel.clone();
    spawn(env, "predict", call.threads, &cancel, move || call.nf.predict_cancellable(call.df.as_ref(), call.futr_df.as_ref(), call.static_df.as_ref(), &call.opts, &call.cancel), to_output).map(Either::A)
}

/// NeuralForecast's `predict_insample` on the committed models.
pub struct InsampleCall {
    pub nf: Arc<NeuralForecast>,
    pub step_size: usize,
    pub cancel: Arc<AtomicBool>,
    pub threads: usize,
}

pub fn predict_insample<'env>(env: &'env Env, call: InsampleCall) -> napi::Result<Object<'env>> {
    let cancel = call.cancel.clone();
    spawn(env, "predictInsample", call.threads, &cancel, move || call.nf.predict_insample(call.step_size, &call.cancel), to_output)
}

/// Saves the committed state (during a fit: the models fitted before it).
pub struct SaveTask {
    pub nf: Arc<Shared>,
    pub path: PathBuf,
    pub extra: serde_json::Value,
    pub weights: Option<HalfKind>,
}

impl Task for SaveTask {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        guarded("save", || {
            self.nf.current().save_with_extra(&self.path, &self.extra, self.weights)?;
            self.nf.set_extra(self.extra.clone());
            Ok(())
        })
    }
    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }
}

pub struct LoadTask {
    pub path: PathBuf,
    pub threads: usize,
}

impl Task for LoadTask {
    type Output = NeuralForecast;
    type JsValue = Forecaster;
    fn compute(&mut self) -> Result<NeuralForecast> {
        guarded("load", || NeuralForecast::load(&self.path))
    }
    fn resolve(&mut self, _env: Env, nf: NeuralForecast) -> Result<Forecaster> {
        Ok(Forecaster::wrap(nf, self.threads))
    }
}

//! The work that runs on libuv's thread pool. Each task locks the NeuralForecast for its
//! duration (calls on one object run one after another) and never panics into Node.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use napi::bindgen_prelude::*;

use super::error::guarded;
use super::frame::{to_output, NativeOutput};
use super::Forecaster;
use crate::error::Error;
use crate::forecast::{Control, CvOptions, FitOptions, InputFrame, NeuralForecast, OutputFrame, ProgressEvent};

type Shared = Arc<Mutex<NeuralForecast>>;
type Sink = Option<Box<dyn Fn(&ProgressEvent) + Send + Sync>>;

fn lock(nf: &Shared) -> crate::Result<MutexGuard<'_, NeuralForecast>> {
    nf.lock().map_err(|_| Error::value("NeuralForecast is unusable after an earlier crash"))
}

pub struct FitTask {
    pub nf: Shared,
    pub df: InputFrame,
    pub static_df: Option<InputFrame>,
    pub opts: FitOptions,
    pub cancel: Arc<AtomicBool>,
    pub progress: Sink,
}

impl Task for FitTask {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        let ctl = Control { cancel: self.cancel.clone(), on_progress: self.progress.take() };
        guarded("fit", || lock(&self.nf)?.fit(&self.df, self.static_df.as_ref(), &self.opts, &ctl))
    }
    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }
}

pub struct PredictTask {
    pub nf: Shared,
    pub df: Option<InputFrame>,
    pub futr_df: Option<InputFrame>,
    pub static_df: Option<InputFrame>,
}

impl Task for PredictTask {
    type Output = OutputFrame;
    type JsValue = NativeOutput;
    fn compute(&mut self) -> Result<OutputFrame> {
        guarded("predict", || lock(&self.nf)?.predict(self.df.as_ref(), self.futr_df.as_ref(), self.static_df.as_ref()))
    }
    fn resolve(&mut self, _env: Env, out: OutputFrame) -> Result<NativeOutput> {
        Ok(to_output(out))
    }
}

pub struct CvTask {
    pub nf: Shared,
    pub df: InputFrame,
    pub static_df: Option<InputFrame>,
    pub opts: CvOptions,
    pub cancel: Arc<AtomicBool>,
    pub progress: Sink,
}

impl Task for CvTask {
    type Output = OutputFrame;
    type JsValue = NativeOutput;
    fn compute(&mut self) -> Result<OutputFrame> {
        let ctl = Control { cancel: self.cancel.clone(), on_progress: self.progress.take() };
        guarded("crossValidation", || lock(&self.nf)?.cross_validation(&self.df, self.static_df.as_ref(), &self.opts, &ctl))
    }
    fn resolve(&mut self, _env: Env, out: OutputFrame) -> Result<NativeOutput> {
        Ok(to_output(out))
    }
}

pub struct SaveTask {
    pub nf: Shared,
    pub path: PathBuf,
    pub extra: serde_json::Value,
}

impl Task for SaveTask {
    type Output = ();
    type JsValue = ();
    fn compute(&mut self) -> Result<()> {
        guarded("save", || {
            let mut nf = lock(&self.nf)?;
            nf.extra = self.extra.clone();
            nf.save(&self.path)
        })
    }
    fn resolve(&mut self, _env: Env, _out: ()) -> Result<()> {
        Ok(())
    }
}

pub struct LoadTask {
    pub path: PathBuf,
}

impl Task for LoadTask {
    type Output = NeuralForecast;
    type JsValue = Forecaster;
    fn compute(&mut self) -> Result<NeuralForecast> {
        guarded("load", || NeuralForecast::load(&self.path))
    }
    fn resolve(&mut self, _env: Env, nf: NeuralForecast) -> Result<Forecaster> {
        Ok(Forecaster::wrap(nf))
    }
}

//! Forecasting models, one file each, named and configured as in NeuralForecast.
//!
//! A model maps a batch of windows (already scaled by the pipeline) to a forecast in the same
//! scaled space, shaped `[batch, h, outputs]`, where `outputs` is what its loss needs per step
//! (1 for point losses, one per quantile for MQLoss, the distribution's parameters for
//! DistributionLoss). Sampling windows, scaling, training and inverse scaling live in the
//! pipeline (`data`, `train`, `forecast`), not in the models.

mod activation;
mod autoformer;
mod bitcn;
mod deepar;
mod deepnpts;
mod fedformer;
mod informer;
mod itransformer;
mod linear;
pub mod memory;
mod mlp;
mod mlp_multivariate;
mod multivariate;
mod nbeats;
mod nbeatsx;
mod nhits;
pub mod options;
mod patchtst;
mod reader;
mod recurrent;
mod revin;
mod seq_decoder;
mod stemgnn;
mod tcn;
mod tft;
mod tide;
mod timellm;
mod timesnet;
mod tsmixer;
mod tsmixerx;
mod vanillatransformer;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::nn::{Ctx, Module, RecurrentRun, RecurrentState};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub use mlp::Mlp;
pub use nhits::Nhits;
pub use options::{CommonOptions, Defaults};
pub use patchtst::PatchTst;
pub use reader::OptionReader;

/// Every model class this build implements, by NeuralForecast name: adding a model is one entry
/// here (plus its JS class in lib/models.js).
const REGISTRY: &[Entry] = &[
    entry::<deepnpts::DeepNptsOptions>(),
    entry::<linear::DLinearOptions>(),
    entry::<linear::NLinearOptions>(),
    entry::<recurrent::LstmOptions>(),
    entry::<mlp::MlpOptions>(),
    entry::<mlp_multivariate::MlpMultivariateOptions>(),
    entry::<nbeats::NbeatsOptions>(),
    entry::<nbeatsx::NbeatsxOptions>(),
    entry::<nhits::NhitsOptions>(),
    entry::<patchtst::PatchTstOptions>(),
    entry::<tide::TideOptions>(),
    entry::<timesnet::TimesNetOptions>(),
    entry::<tsmixer::TsMixerOptions>(),
    entry::<tsmixerx::TsMixerxOptions>(),
    entry::<recurrent::RnnOptions>(),
    entry::<recurrent::GruOptions>(),
    entry::<vanillatransformer::VanillaTransformerOptions>(),
    entry::<itransformer::ITransformerOptions>(),
    entry::<informer::InformerOptions>(),
    entry::<autoformer::AutoformerOptions>(),
    entry::<fedformer::FedformerOptions>(),
    entry::<tcn::TcnOptions>(),
    entry::<bitcn::BiTcnOptions>(),
    entry::<deepar::DeepArOptions>(),
    entry::<stemgnn::StemGnnOptions>(),
    entry::<tft::TftOptions>(),
    entry::<timellm::TimeLlmOptions>(),
];

/// A model's options, read and checked: everything a model file declares about itself, and the
/// recipe that allocates its weights. Hyperparameters are data; the network is built from them.
///
/// A model file defines `XOptions: Spec` (its own options, NeuralForecast's names and defaults) and
/// the network `X: Network` that `build` returns; the registry above and [`Configured`] provide the
/// rest (class name, common options, options JSON, capabilities, validation without weights).
pub trait Spec: Clone + Send + Sync + 'static {
    /// NeuralForecast's class name, e.g. `"NHITS"`.
    const CLASS: &'static str;
    /// NeuralForecast's per-model defaults of the common options.
    const DEFAULTS: Defaults;
    /// What exogenous input the model accepts (NeuralForecast's capability flags).
    const CAPABILITIES: Capabilities;
    type Net: Network + 'static;

    /// Reads the model's own options (the common ones are already read). Only parsing: checks that
    /// need several options go in `check`, which runs after unknown options are refused.
    fn read(r: &mut OptionReader, common: &CommonOptions) -> Result<Self>;
    /// Checks across options (NeuralForecast's constructor errors); allocates nothing.
    fn check(&self, _common: &CommonOptions) -> Result<()> {
        Ok(())
    }
    /// Loads what the options name on disk and `build` needs (TimeLLM's language model): file
    /// work too slow for the JS thread, which the pipeline does in its worker tasks before building.
    /// Once done, later calls return at once.
    fn prepare(&self) -> Result<()> {
        Ok(())
    }
    /// The model's own options as camelCase JSON entries (defaults filled in).
    fn to_json(&self) -> serde_json::Map<String, Value>;
    /// Parameters and per-window activations, counted in f32 values from the options alone (no
    /// allocation); the pipeline refuses options whose memory would exceed the limit.
    fn footprint(&self, common: &CommonOptions, outputs: usize) -> Footprint;
    /// Allocates the network's weights. Cannot fail: every option was checked before.
    fn build(&self, common: &CommonOptions, outputs: usize, rng: &mut Rng) -> Self::Net;
    /// NeuralForecast's recurrent mode (`recurrent=True`), when these options ask for it.
    fn recurrence(&self, _common: &CommonOptions) -> Option<Recurrence> {
        None
    }
}

/// How a model in NeuralForecast's recurrent mode is trained and run (`BaseModel` with
/// `RECURRENT`): it forecasts one step ahead from every step of its input, is trained on
/// windows of `(inputSize + 1) + hTrain` points with teacher forcing, and forecasts a horizon
/// one step at a time carrying its state, feeding back each step's forecast (see
/// `forecast::task`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recurrence {
    /// Forecast steps each training window is scored on.
    pub h_train: usize,
    /// The history one forecast starts from (NeuralForecast's `inference_input_size`, before its
    /// `+ 1`); validation uses `inputSize`.
    pub inference_input_size: usize,
    /// Draws per forecast step for a distribution loss's quantiles (NeuralForecast's `n_samples`:
    /// 100 from BaseModel, DeepAR's `trajectory_samples`), instead of the loss's `numSamples`.
    pub samples: usize,
}

/// A model's forward pass over one batch of windows.
pub trait Network: Module + Send + Sync {
    /// Forecast `[B, h, outputs]` in scaled space.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor;
    /// In recurrent mode: a run over a sequence batch (every field `[B, T, ·]`, `futr_exog`
    /// included, see `forecast::task::recurrent_batch`) from `state`, giving each step's
    /// one-step-ahead output `[B, T, outputs]` and the state after the last step.
    fn run(&self, _batch: &Batch, _state: Option<&RecurrentState>, _ctx: &mut Ctx) -> Option<RecurrentRun> {
        None
    }
    /// Whether, in evaluation, each output row depends only on its own window's rows of the
    /// batch (no draws from `ctx.rng`, no statistics across the batch): then a predict may run
    /// several evaluation batches in one forward pass, the same forecasts with fewer passes
    /// over the weights (`forecast::task::forecast_columns`).
    fn rows_independent(&self) -> bool {
        false
    }
}

/// Memory a model needs, in f32 values (f64 so that absurd options cannot overflow the count).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Footprint {
    /// Trainable values (and buffers).
    pub params: f64,
    /// Values one window keeps alive through a training step's forward and backward pass.
    pub per_window: f64,
}

/// Validated options of one model, before any weight exists (what `new MLP({...})` checks).
pub trait ModelConfig: Send + Sync {
    fn class_name(&self) -> &'static str;
    fn common(&self) -> &CommonOptions;
    /// The model's full options as camelCase JSON (for save/load and for reporting).
    fn options_json(&self) -> Value;
    fn capabilities(&self) -> Capabilities;
    fn footprint(&self) -> Footprint;
    /// Loads the files `build` needs ([`Spec::prepare`]); must succeed before `build` is called.
    fn prepare(&self) -> Result<()>;
    /// Allocates the weights, seeded from `randomSeed`.
    fn build(&self) -> Box<dyn Model>;
    fn recurrence(&self) -> Option<Recurrence>;
}

/// The options of a model of class `S`: the common ones, the outputs its loss needs per step, and
/// its own.
#[derive(Clone)]
pub struct Configured<S> {
    pub common: CommonOptions,
    pub outputs: usize,
    pub spec: S,
}

impl<S: Spec> ModelConfig for Configured<S> {
    fn class_name(&self) -> &'static str {
        S::CLASS
    }
    fn common(&self) -> &CommonOptions {
        &self.common
    }
    fn options_json(&self) -> Value {
        let mut v = self.common.to_json();
        v.as_object_mut().expect("common options are an object").extend(self.spec.to_json());
        v
    }
    fn capabilities(&self) -> Capabilities {
        S::CAPABILITIES
    }
    fn recurrence(&self) -> Option<Recurrence> {
        self.spec.recurrence(&self.common)
    }
    fn footprint(&self) -> Footprint {
        let mut f = self.spec.footprint(&self.common, self.outputs);
        if self.common.scaler_type == "revin" {
            f.params += 2.0 * revin::Revin::features(&self.common) as f64;
        }
        f
    }
    fn prepare(&self) -> Result<()> {
        self.spec.prepare()
    }
    fn build(&self) -> Box<dyn Model> {
        let mut rng = Rng::seed(self.common.random_seed);
        let net = self.spec.build(&self.common, self.outputs, &mut rng);
        let model: Box<dyn Model> = Box::new(Built { config: self.clone(), net });
        if self.common.scaler_type == "revin" {
            Box::new(revin::Revin::wrap(model))
        } else {
            model
        }
    }
}

/// A network with the options it was built from.
struct Built<S: Spec> {
    config: Configured<S>,
    net: S::Net,
}

impl<S: Spec> Module for Built<S> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.net.visit(prefix, f)
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.net.visit_buffers(prefix, f)
    }
}

impl<S: Spec> Model for Built<S> {
    fn config(&self) -> &dyn ModelConfig {
        &self.config
    }
    fn class_name(&self) -> &'static str {
        S::CLASS
    }
    fn common(&self) -> &CommonOptions {
        &self.config.common
    }
    fn options_json(&self) -> Value {
        self.config.options_json()
    }
    fn capabilities(&self) -> Capabilities {
        S::CAPABILITIES
    }
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        match self.excluding_insample_y(batch) {
            Some(zeroed) => self.net.forward(&zeroed, ctx),
            None => self.net.forward(batch, ctx),
        }
    }
    fn rows_independent(&self) -> bool {
        self.net.rows_independent()
    }
    fn run(&self, batch: &Batch, state: Option<&RecurrentState>, ctx: &mut Ctx) -> Option<RecurrentRun> {
        // NeuralForecast zeroes the window it parses, not the forecasts fed back after it.
        match self.excluding_insample_y(batch).filter(|_| state.is_none()) {
            Some(zeroed) => self.net.run(&zeroed, state, ctx),
            None => self.net.run(batch, state, ctx),
        }
    }
}

impl<S: Spec> Built<S> {
    /// The batch with a zero history when `excludeInsampleY`: NeuralForecast multiplies the
    /// scaled window by 0 (`_parse_windows`), so the mask, and RevIN inside a model, see the
    /// same zeros.
    fn excluding_insample_y(&self, batch: &Batch) -> Option<Batch> {
        (self.config.common.exclude_insample_y == Some(true)).then(|| Batch {
            insample_y: batch.insample_y.mul_scalar(0.0),
            insample_mask: batch.insample_mask.clone(),
            futr_exog: batch.futr_exog.clone(),
            hist_exog: batch.hist_exog.clone(),
            stat_exog: batch.stat_exog.clone(),
        })
    }
}

type Configure = fn(&Value) -> Result<Box<dyn ModelConfig>>;

struct Entry {
    class: &'static str,
    configure: Configure,
}

const fn entry<S: Spec>() -> Entry {
    Entry { class: S::CLASS, configure: configure::<S> }
}

fn configure<S: Spec>(options: &Value) -> Result<Box<dyn ModelConfig>> {
    let mut r = OptionReader::new(S::CLASS, options)?;
    let mut common = CommonOptions::read(&mut r, S::DEFAULTS)?;
    if S::CAPABILITIES.multivariate {
        common.n_series = Some(multivariate::read_n_series(&mut r, S::CLASS)?);
    }
    let spec = S::read(&mut r, &common)?;
    r.finish()?;
    spec.check(&common)?;
    check_capabilities(S::CLASS, S::CAPABILITIES, &common)?;
    let outputs = common.loss().outputs();
    Ok(Box::new(Configured { common, outputs, spec }))
}

/// Refuses exogenous lists the model's capability flags exclude, once for every model, with
/// NeuralForecast's messages (`BaseModel.__init__`).
fn check_capabilities(class: &str, caps: Capabilities, c: &CommonOptions) -> Result<()> {
    if c.exclude_insample_y == Some(true) && !(caps.futr_exog || caps.hist_exog || caps.stat_exog) {
        return Err(Error::range(format!(
            "{class} option 'excludeInsampleY': {class} does not support excludeInsampleY: true (it takes no exogenous variables, so the window is its only input); set it to false"
        )));
    }
    for (supported, list, option, kind) in [
        (caps.futr_exog, &c.futr_exog_list, "futrExogList", "future"),
        (caps.hist_exog, &c.hist_exog_list, "histExogList", "historical"),
        (caps.stat_exog, &c.stat_exog_list, "statExogList", "static"),
    ] {
        if !supported && !list.is_empty() {
            return Err(Error::type_err(format!("{class} does not support {kind} exogenous variables (option '{option}' must be empty, got {list:?})")));
        }
    }
    Ok(())
}

/// The model classes this build implements, by NeuralForecast name.
pub fn classes() -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().map(|e| e.class)
}

/// Reads and checks a model's options from its class name and camelCase options, including that a
/// training step fits in the memory limit ([`memory`]); allocates no weights.
pub fn configure_class(class: &str, options: &Value) -> Result<Box<dyn ModelConfig>> {
    let entry = REGISTRY
        .iter()
        .find(|e| e.class == class)
        .ok_or_else(|| Error::type_err(format!("unknown model class '{class}'; this build implements {}", classes().collect::<Vec<_>>().join(", "))))?;
    if let Some(v) = options.get("loss").filter(|v| !v.is_null()) {
        Loss::from_json(v, "loss").map_err(|e| e.context(class))?;
    }
    let config = (entry.configure)(options)?;
    memory::check_options(config.as_ref(), &memory::limit()?)?;
    Ok(config)
}

/// Builds a model from its class name and camelCase options, validating every option (and
/// loading the files they name: not for the JS thread).
pub fn build(class: &str, options: &Value) -> Result<Box<dyn Model>> {
    let config = configure_class(class, options)?;
    config.prepare()?;
    Ok(config.build())
}

/// Validates options without building the model; returns them normalised (defaults filled in).
pub fn validate(class: &str, options: &Value) -> Result<Value> {
    configure_class(class, options).map(|c| c.options_json())
}

/// One batch of windows as tensors. Shapes use B = windows, L = input_size, h = horizon; for
/// multivariate models (N series per window) they are NeuralForecast's: `insample_y [B, L, N]`,
/// `hist_exog [B, X, L, N]`, `futr_exog [B, F, L + h, N]`, `stat_exog [N, S]` (see
/// `models::multivariate`).
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

/// What kinds of exogenous input a model accepts (NeuralForecast's capability flags); [`build`]
/// refuses options naming exogenous lists a model cannot use, so no model checks them itself.
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
    /// The options the model was built from.
    fn config(&self) -> &dyn ModelConfig;
    /// NeuralForecast's class name, e.g. `"NHITS"`.
    fn class_name(&self) -> &'static str;
    /// The options common to every model (h, input size, training settings, ...).
    fn common(&self) -> &CommonOptions;
    /// The model's full options as camelCase JSON (for save/load and for reporting).
    fn options_json(&self) -> serde_json::Value;
    fn capabilities(&self) -> Capabilities;
    /// Forecast `[B, h, outputs]` in scaled space.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor;
    /// NeuralForecast's recurrent mode, when the model's options ask for it.
    fn recurrence(&self) -> Option<Recurrence> {
        self.config().recurrence()
    }
    /// In recurrent mode, [`Network::run`]; `None` for a model that is not recurrent.
    fn run(&self, _batch: &Batch, _state: Option<&RecurrentState>, _ctx: &mut Ctx) -> Option<RecurrentRun> {
        None
    }
    /// [`Network::rows_independent`].
    fn rows_independent(&self) -> bool {
        false
    }

    /// The `[B, 1]` statistics that map this model's outputs back to the original scale, from
    /// each window's scaler shift and scale. RevIN moves them by its learnable parameters (see
    /// `revin`); other models keep them.
    fn output_stats(&self, shift: &Tensor, scale: &Tensor) -> (Tensor, Tensor) {
        (shift.clone(), scale.clone())
    }
}

#[cfg(test)]
pub(crate) mod tests;

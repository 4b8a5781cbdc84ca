//! One model on one dataset: the training task the trainer drives, and batched inference that
//! returns forecasts in the data's original scale.

use crate::data::{Dataset, Extras, MvBatch, MvSampler, TimeWindow, TrainSampler, Window, WindowBatch, WindowSpec};
use crate::error::Result;
use crate::loss::{Loss, LossContext};
use crate::models::{Batch, Model};
use crate::nn::{named_params, Ctx};
use crate::rng::Rng;
use crate::tensor::{no_grad, Tensor};
use crate::train::TrainTask;

/// The windows a model needs, cut from a dataset.
pub struct Inputs<'a> {
    pub data: &'a Dataset,
    pub spec: WindowSpec,
    pub statics: Option<&'a [Vec<f32>]>,
    pub future: Option<&'a [Vec<Vec<f32>>]>,
}

/// Windows to cut: one per series (univariate models), or one over all series at once
/// (multivariate models, whose forecasts come one row per (window, series)).
#[derive(Clone, Debug)]
pub enum Windows {
    Series(Vec<Window>),
    Time(Vec<TimeWindow>),
}

impl Windows {
    pub fn is_empty(&self) -> bool {
        match self {
            Windows::Series(w) => w.is_empty(),
            Windows::Time(w) => w.is_empty(),
        }
    }

    /// Consecutive parts of at most `size` windows.
    fn chunks(&self, size: usize) -> Vec<Windows> {
        let size = size.max(1);
        match self {
            Windows::Series(w) => w.chunks(size).map(|c| Windows::Series(c.to_vec())).collect(),
            Windows::Time(w) => w.chunks(size).map(|c| Windows::Time(c.to_vec())).collect(),
        }
    }

    fn len(&self) -> usize {
        match self {
            Windows::Series(w) => w.len(),
            Windows::Time(w) => w.len(),
        }
    }
}

/// Training windows per step: per-series windows, or time windows over all series.
pub enum Sampler {
    Series(TrainSampler),
    Time(MvSampler),
}

impl Sampler {
    fn sample(&mut self, rng: &mut Rng) -> Windows {
        match self {
            Sampler::Series(s) => Windows::Series(s.sample(rng)),
            Sampler::Time(s) => Windows::Time(s.sample(rng)),
        }
    }
}

impl Inputs<'_> {
    /// The model's batch, and the windows one row per forecast (per window, or per (window,
    /// series) for multivariate windows) for the loss and inverse scaling.
    fn batch(&self, windows: &Windows) -> (Batch, WindowBatch) {
        let extras = Extras { statics: self.statics, future: self.future };
        match windows {
            Windows::Series(w) => {
                let wb = self.spec.batch(self.data, w, extras);
                (to_tensors(&wb, &self.spec), wb)
            }
            Windows::Time(w) => {
                let mb = self.spec.mv_batch(self.data, w, extras);
                (mv_tensors(&mb, &self.spec), mb.rows)
            }
        }
    }

    /// A model's output as one row per forecast: multivariate `[B, h, N·m]` (series-major, as
    /// NeuralForecast's losses read it) becomes `[B·N, h, m]`.
    fn rows(&self, y_hat: Tensor, windows: &Windows) -> Tensor {
        match windows {
            Windows::Series(_) => y_hat,
            Windows::Time(w) => {
                let (b, h, n) = (w.len(), self.spec.h, self.data.series.len());
                let m = y_hat.dim(-1) / n;
                y_hat.reshape(&[b, h, n, m]).permute(&[0, 2, 1, 3]).reshape(&[b * n, h, m])
            }
        }
    }
}

/// A multivariate batch as the tensors a multivariate model reads (NeuralForecast's layout).
fn mv_tensors(mb: &MvBatch, spec: &WindowSpec) -> Batch {
    let (b, n, l, h) = (mb.n, mb.n_series, spec.input_size, spec.h);
    let (nx, nf) = (spec.hist_cols.len(), spec.futr_cols.len());
    let ns = if n > 0 { mb.stat_exog.len() / n } else { 0 };
    Batch {
        insample_y: Tensor::from_vec(mb.insample_y.clone(), &[b, l, n]),
        insample_mask: Tensor::from_vec(mb.insample_mask.clone(), &[b, l, n]),
        hist_exog: (nx > 0).then(|| Tensor::from_vec(mb.hist_exog.clone(), &[b, nx, l, n])),
        futr_exog: (nf > 0).then(|| Tensor::from_vec(mb.futr_exog.clone(), &[b, nf, l + h, n])),
        stat_exog: (ns > 0).then(|| Tensor::from_vec(mb.stat_exog.clone(), &[n, ns])),
    }
}

/// A window batch as the tensors a model reads.
fn to_tensors(wb: &WindowBatch, spec: &WindowSpec) -> Batch {
    let (n, l, h) = (wb.n, spec.input_size, spec.h);
    let (nx, nf) = (spec.hist_cols.len(), spec.futr_cols.len());
    let ns = if n > 0 { wb.stat_exog.len() / n } else { 0 };
    Batch {
        insample_y: Tensor::from_vec(wb.insample_y.clone(), &[n, l]),
        insample_mask: Tensor::from_vec(wb.insample_mask.clone(), &[n, l]),
        hist_exog: (nx > 0).then(|| Tensor::from_vec(wb.hist_exog.clone(), &[n, l, nx])),
        futr_exog: (nf > 0).then(|| Tensor::from_vec(wb.futr_exog.clone(), &[n, l + h, nf])),
        stat_exog: (ns > 0).then(|| Tensor::from_vec(wb.stat_exog.clone(), &[n, ns])),
    }
}

/// Training a model: sampled batches, NeuralForecast's loss in scaled space, validation loss
/// in the original scale.
pub struct FitTask<'a> {
    pub model: &'a dyn Model,
    pub inputs: Inputs<'a>,
    pub sampler: Sampler,
    pub loss: Loss,
    pub valid_loss: Loss,
    pub val_windows: Windows,
    /// Dropout's stream, apart from the sampler's.
    pub dropout_rng: Rng,
}

/// Targets and context for `loss` on a window batch: distribution losses compare with the
/// original-scale target and anchor on each window's statistics; the others work in scaled space.
fn loss_inputs(model: &dyn Model, loss: &Loss, wb: &WindowBatch, batch: &Batch, spec: &WindowSpec) -> (Tensor, LossContext) {
    let (n, h) = (wb.n, spec.h);
    let mut ctx = LossContext { insample_y: Some(batch.insample_y.clone()), ..Default::default() };
    if !loss.is_distribution() {
        return (model.target(&Tensor::from_vec(wb.outsample_y.clone(), &[n, h])), ctx);
    }
    let y: Vec<f32> = (0..n * h).map(|i| spec.scaler.invert(wb.outsample_y[i], wb.y_shift[i / h], wb.y_scale[i / h])).collect();
    ctx.loc = Some(Tensor::from_vec(wb.y_shift.clone(), &[n, 1]));
    ctx.scale = Some(Tensor::from_vec(wb.y_scale.clone(), &[n, 1]));
    (Tensor::from_vec(y, &[n, h]), ctx)
}

impl TrainTask for FitTask<'_> {
    fn params(&self) -> Vec<(String, Tensor)> {
        named_params(self.model)
    }

    fn train_loss(&mut self, _step: usize, rng: &mut Rng) -> Result<Tensor> {
        let windows = self.sampler.sample(rng);
        let (batch, wb) = self.inputs.batch(&windows);
        let y_hat = self.inputs.rows(self.model.forward(&batch, &mut Ctx::train(&mut self.dropout_rng)), &windows);
        let (y, ctx) = loss_inputs(self.model, &self.loss, &wb, &batch, &self.inputs.spec);
        let mask = Tensor::from_vec(wb.outsample_mask, &[wb.n, self.inputs.spec.h]);
        Ok(self.loss.compute(&y_hat, &y, &mask, &ctx))
    }

    fn valid_loss(&mut self) -> Result<Option<f64>> {
        if self.val_windows.is_empty() {
            return Ok(None);
        }
        let (h, scaler) = (self.inputs.spec.h, self.inputs.spec.scaler);
        let (batch, wb) = self.inputs.batch(&self.val_windows);
        let mut rng = Rng::seed(0);
        let raw = no_grad(|| self.model.untarget(&self.inputs.rows(self.model.forward(&batch, &mut Ctx::eval(&mut rng)), &self.val_windows)));
        let mask = Tensor::from_vec(wb.outsample_mask.clone(), &[wb.n, h]);
        let loss = no_grad(|| {
            if self.valid_loss.is_distribution() {
                let (y, ctx) = loss_inputs(self.model, &self.valid_loss, &wb, &batch, &self.inputs.spec);
                return self.valid_loss.compute(&raw, &y, &mask, &ctx).item();
            }
            // Point losses are compared in the original scale, as NeuralForecast validates.
            let k = self.valid_loss.outputs();
            let invert = |v: &[f32], per: usize| -> Vec<f32> { v.iter().enumerate().map(|(i, z)| scaler.invert(*z, wb.y_shift[i / per], wb.y_scale[i / per])).collect() };
            let l = self.inputs.spec.input_size;
            let y_hat = Tensor::from_vec(invert(&raw.data(), h * k), &[wb.n, h, k]);
            let y = Tensor::from_vec(invert(&wb.outsample_y, h), &[wb.n, h]);
            let ctx = LossContext { insample_y: Some(Tensor::from_vec(invert(&wb.insample_y, l), &[wb.n, l])), ..Default::default() };
            self.valid_loss.compute(&y_hat, &y, &mask, &ctx).item()
        });
        Ok(Some(loss as f64))
    }
}

/// Forecast columns for `windows` in the original scale, `[rows, h, loss.columns()]` row-major
/// (a row per window, or per (window, series) for time windows), computed in batches of `chunk`
/// windows (all at once when None).
pub fn forecast_columns(model: &dyn Model, inputs: &Inputs, windows: &Windows, chunk: Option<usize>) -> Vec<f32> {
    let h = inputs.spec.h;
    let loss = model.common().loss();
    let seed = model.common().random_seed;
    let mut out = Vec::with_capacity(windows.len() * h * loss.columns());
    let mut rng = Rng::seed(0);
    for (part_index, part) in windows.chunks(chunk.unwrap_or(windows.len())).iter().enumerate() {
        let (batch, wb) = inputs.batch(part);
        let y_hat = no_grad(|| model.untarget(&inputs.rows(model.forward(&batch, &mut Ctx::eval(&mut rng)), part)));
        out.extend(loss.finalize(&y_hat.data(), h, &wb.y_shift, &wb.y_scale, inputs.spec.scaler, seed.wrapping_add(part_index as u64)));
    }
    out
}

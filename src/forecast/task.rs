//! One model on one dataset: the training task the trainer drives, and batched inference that
//! returns forecasts in the data's original scale.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::data::{Dataset, Extras, MvBatch, MvSampler, TimeWindow, TrainSampler, Window, WindowBatch, WindowSpec};
use crate::error::{Error, Result};
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

    /// NeuralForecast's evaluation batches (see [`chunks`]); a multivariate batch holds every
    /// series, so time windows are only split by `inferenceWindowsBatchSize`.
    fn eval_chunks(&self, c: &crate::models::CommonOptions) -> Vec<Windows> {
        match self {
            Windows::Series(w) => chunks(w, c).into_iter().map(|p| Windows::Series(p.to_vec())).collect(),
            Windows::Time(w) => w.chunks(c.inference_windows_batch_size.unwrap_or(w.len()).max(1)).map(|p| Windows::Time(p.to_vec())).collect(),
        }
    }

    pub fn len(&self) -> usize {
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

/// Each window's statistics as the model maps its outputs back (`[B, 1]` shift and scale).
fn output_stats(model: &dyn Model, wb: &WindowBatch) -> (Tensor, Tensor) {
    model.output_stats(&Tensor::from_vec(wb.y_shift.clone(), &[wb.n, 1]), &Tensor::from_vec(wb.y_scale.clone(), &[wb.n, 1]))
}

/// Targets and context for `loss` on a window batch: distribution losses compare with the
/// original-scale target and anchor on the model's output statistics; the others work in
/// scaled space.
fn loss_inputs(model: &dyn Model, loss: &Loss, wb: &WindowBatch, batch: &Batch, spec: &WindowSpec) -> (Tensor, LossContext) {
    let (n, h) = (wb.n, spec.h);
    let mut ctx = LossContext { insample_y: Some(batch.insample_y.clone()), ..Default::default() };
    if !loss.is_distribution() {
        return (Tensor::from_vec(wb.outsample_y.clone(), &[n, h]), ctx);
    }
    let y: Vec<f32> = (0..n * h).map(|i| spec.scaler.invert(wb.outsample_y[i], wb.y_shift[i / h], wb.y_scale[i / h])).collect();
    let (loc, scale) = output_stats(model, wb);
    ctx.loc = Some(loc);
    ctx.scale = Some(scale);
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

    /// NeuralForecast's validation loss: each chunk's loss (a masked mean over its points),
    /// averaged over chunks weighted by their window counts.
    fn valid_loss(&mut self) -> Result<Option<f64>> {
        if self.val_windows.is_empty() {
            return Ok(None);
        }
        let (mut sum, mut count) = (0.0f64, 0usize);
        for part in self.val_windows.eval_chunks(self.model.common()) {
            let (loss, rows) = self.chunk_valid_loss(&part);
            sum += loss as f64 * rows as f64;
            count += rows;
        }
        Ok(Some(sum / count as f64))
    }
}

impl FitTask<'_> {
    /// The validation loss of one chunk of windows, in the original scale as NeuralForecast
    /// validates, and the number of forecast rows it averages.
    fn chunk_valid_loss(&self, windows: &Windows) -> (f32, usize) {
        let (h, l, scaler) = (self.inputs.spec.h, self.inputs.spec.input_size, self.inputs.spec.scaler);
        let (batch, wb) = self.inputs.batch(windows);
        let mut rng = Rng::seed(0);
        no_grad(|| {
            let raw = self.inputs.rows(self.model.forward(&batch, &mut Ctx::eval(&mut rng)), windows);
            let mask = Tensor::from_vec(wb.outsample_mask.clone(), &[wb.n, h]);
            if self.valid_loss.is_distribution() {
                // The training loss itself (`Loss::check_valid_loss`): its likelihood of the target.
                let (y, ctx) = loss_inputs(self.model, &self.valid_loss, &wb, &batch, &self.inputs.spec);
                return (self.valid_loss.compute(&raw, &y, &mask, &ctx).item(), wb.n);
            }
            let (shift, scale) = output_stats(self.model, &wb);
            let (shift, scale) = (shift.to_vec(), scale.to_vec());
            let invert = |v: &[f32], per: usize, shift: &[f32], scale: &[f32]| -> Vec<f32> {
                v.iter().enumerate().map(|(i, z)| scaler.invert(*z, shift[i / per], scale[i / per])).collect()
            };
            // Point and quantile losses score original-scale forecasts, as NeuralForecast validates:
            // a distribution model's mean or sampled quantiles (see `Loss::validation_forecast`).
            let k = self.valid_loss.outputs();
            let seed = self.model.common().random_seed;
            let forecast = self.loss.validation_forecast(&self.valid_loss, &raw.data(), h, &shift, &scale, scaler, seed);
            let y_hat = Tensor::from_vec(forecast, &[wb.n, h, k]);
            let y = Tensor::from_vec(invert(&wb.outsample_y, h, &wb.y_shift, &wb.y_scale), &[wb.n, h]);
            let ctx = LossContext { insample_y: Some(Tensor::from_vec(invert(&wb.insample_y, l, &shift, &scale), &[wb.n, l])), ..Default::default() };
            (self.valid_loss.compute(&y_hat, &y, &mask, &ctx).item(), wb.n)
        })
    }
}

/// NeuralForecast's evaluation batches: `validBatchSize` series at a time (default `batchSize`),
/// each batch's windows (series by series, as `windows` lists them) in chunks of
/// `inferenceWindowsBatchSize` (all of the batch when unset).
pub fn chunks<'w>(windows: &'w [Window], c: &crate::models::CommonOptions) -> Vec<&'w [Window]> {
    let series_per_batch = c.valid_batch_size.unwrap_or(c.batch_size).max(1);
    let mut out = Vec::new();
    let mut begin = 0;
    while begin < windows.len() {
        // The batch runs until its `series_per_batch + 1`-th distinct series.
        let mut end = begin;
        let mut seen = 0;
        while end < windows.len() {
            if end == begin || windows[end].series != windows[end - 1].series {
                if seen == series_per_batch {
                    break;
                }
                seen += 1;
            }
            end += 1;
        }
        let per_chunk = c.inference_windows_batch_size.unwrap_or(end - begin).max(1);
        out.extend(windows[begin..end].chunks(per_chunk));
        begin = end;
    }
    out
}

/// Forecast columns for `windows` in the original scale, `[rows, h, loss.columns()]` row-major
/// (a row per window, or per (window, series) for time windows), computed in NeuralForecast's
/// evaluation batches.
///
/// Stops with `ErrorKind::Aborted` between batches once `cancel` is set.
pub fn forecast_columns(model: &dyn Model, inputs: &Inputs, windows: &Windows, cancel: &AtomicBool) -> Result<Vec<f32>> {
    let h = inputs.spec.h;
    let loss = model.common().loss();
    let seed = model.common().random_seed;
    let mut out = Vec::with_capacity(windows.len() * h * loss.columns());
    let mut rng = Rng::seed(0);
    for (part_index, part) in windows.eval_chunks(model.common()).iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::aborted());
        }
        let (batch, wb) = inputs.batch(part);
        let (y_hat, shift, scale) = no_grad(|| {
            let (shift, scale) = output_stats(model, &wb);
            (inputs.rows(model.forward(&batch, &mut Ctx::eval(&mut rng)), part), shift.to_vec(), scale.to_vec())
        });
        out.extend(loss.finalize(&y_hat.data(), h, &shift, &scale, inputs.spec.scaler, seed.wrapping_add(part_index as u64)));
    }
    Ok(out)
}

//! One model on one dataset: the training task the trainer drives, and batched inference that
//! returns forecasts in the data's original scale.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::data::{Dataset, Extras, MvBatch, MvSampler, TimeWindow, TrainSampler, Window, WindowBatch, WindowSpec};
use crate::error::{Error, Result};
use super::explain::Explanation;
use crate::loss::{Loss, LossContext, Summary};
use crate::models::{Batch, Model};
use crate::nn::{named_buffers, named_params, Ctx};
use crate::rng::{Rng, RngState};
use crate::tensor::{no_grad, Tensor};
use crate::train::{TaskState, TrainTask};
use serde_json::{json, Value};

/// The windows a model needs, cut from a dataset.
pub struct Inputs<'a> {
    pub data: &'a Dataset,
    pub spec: WindowSpec,
    pub statics: Option<&'a [Vec<f32>]>,
    pub future: Option<&'a [Vec<Vec<f32>>]>,
    /// The model runs in NeuralForecast's recurrent mode: batches are sequences (see
    /// [`recurrent_batch`]) and forecasts go one step at a time ([`forecast_stepwise`]).
    pub recurrent: bool,
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

    /// Rank `rank`'s contiguous part of these windows in a world of `size` (data-parallel training).
    pub fn share(&self, rank: usize, size: usize) -> Windows {
        let part = crate::train::collective::share(self.len(), rank, size);
        match self {
            Windows::Series(w) => Windows::Series(w[part].to_vec()),
            Windows::Time(w) => Windows::Time(w[part].to_vec()),
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
                let batch = to_tensors(&wb, &self.spec);
                (if self.recurrent { recurrent_batch(batch, &wb, &self.spec) } else { batch }, wb)
            }
            Windows::Time(w) => {
                let mb = self.spec.mv_batch(self.data, w, extras);
                (mv_tensors(&mb, &self.spec), mb.rows)
            }
        }
    }

    /// The model's raw forecast `[rows, h, outputs]` (scaled space) of a batch whose windows
    /// have the scaler statistics `shift` and `scale` (the model's [`Model::output_stats`]).
    fn forecast(&self, model: &dyn Model, batch: &Batch, windows: &Windows, shift: &[f32], scale: &[f32], ctx: &mut Ctx) -> Tensor {
        if self.recurrent {
            return forecast_stepwise(model, batch, self.spec.input_size, self.spec.h, &model.common().loss(), shift, scale, ctx);
        }
        self.rows(model.forward(batch, ctx), windows)
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

/// NeuralForecast's recurrent-mode batch (`_parse_windows` with `RECURRENT`) from a window
/// batch of `L = spec.input_size` inputs (NeuralForecast's `input_size + 1`) and `h` targets: a
/// sequence of `T = L + h - 1` steps whose step `t` holds the point at `t` and the exogenous
/// values of `t + 1`, the point it forecasts. So `insample_y` is the history followed by the
/// targets but the last (teacher forcing), `hist_exog` (known only over the history, zero after)
/// and `futr_exog` are shifted by one, all `[B, T, ·]`.
pub(crate) fn recurrent_batch(batch: Batch, wb: &WindowBatch, spec: &WindowSpec) -> Batch {
    let (n, l, h) = (wb.n, spec.input_size, spec.h);
    let targets_but_last = |v: &[f32]| Tensor::from_vec(v.to_vec(), &[n, h]).narrow(1, 0, h - 1);
    let history = |t: Tensor, v: &[f32]| if h > 1 { Tensor::concat(&[t, targets_but_last(v)], 1) } else { t };
    let nx = spec.hist_cols.len();
    Batch {
        insample_y: history(batch.insample_y, &wb.outsample_y),
        insample_mask: history(batch.insample_mask, &wb.outsample_mask),
        hist_exog: batch.hist_exog.map(|x| Tensor::concat(&[x.narrow(1, 1, l - 1), Tensor::zeros(&[n, h, nx])], 1)),
        futr_exog: batch.futr_exog.map(|f| f.narrow(1, 1, l + h - 1)),
        stat_exog: batch.stat_exog,
    }
}

/// NeuralForecast's recurrent validation and predict (`_validate_step_recurrent_batch`,
/// `_predict_step_recurrent_batch`) on a [`recurrent_batch`]: one run over the `l` history steps,
/// whose last output forecasts the first horizon step, then `h - 1` one-step runs carrying the
/// state, each fed the previous step's forecast in scaled space ([`Loss::feedback`]) with the
/// exogenous values of the step it forecasts. Returns the raw outputs `[B, h, outputs]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn forecast_stepwise(model: &dyn Model, batch: &Batch, l: usize, h: usize, loss: &Loss, shift: &[f32], scale: &[f32], ctx: &mut Ctx) -> Tensor {
    let b = batch.insample_y.dim(0);
    let steps = |start: usize, len: usize, y: Tensor| Batch {
        insample_mask: Tensor::ones(y.shape()),
        insample_y: y,
        hist_exog: batch.hist_exog.as_ref().map(|x| x.narrow(1, start, len)),
        futr_exog: batch.futr_exog.as_ref().map(|f| f.narrow(1, start, len)),
        stat_exog: batch.stat_exog.clone(),
    };
    const RECURRENT: &str = "a model with a Recurrence runs sequences (Network::run)";
    let first = model.run(&steps(0, l, batch.insample_y.narrow(1, 0, l)), None, ctx).expect(RECURRENT);
    let mut out = vec![first.output.narrow(1, l - 1, 1)];
    let mut state = first.state;
    for tau in 1..h {
        let fed = loss.feedback(&out[tau - 1].data(), shift, scale);
        let next = model.run(&steps(l + tau - 1, 1, Tensor::from_vec(fed, &[b, 1])), Some(&state), ctx).expect(RECURRENT);
        out.push(next.output);
        state = next.state;
    }
    Tensor::concat(&out, 1)
}

/// Training a model: sampled batches, NeuralForecast's loss in scaled space, validation loss
/// in the original scale.
pub struct FitTask<'a> {
    pub model: &'a dyn Model,
    /// What training windows are cut with: `inputs` but for a recurrent model, whose training
    /// windows hold `hTrain` targets (NeuralForecast's `training_step` sets `h = h_train`).
    pub train_inputs: Inputs<'a>,
    /// What validation windows are cut with.
    pub inputs: Inputs<'a>,
    pub sampler: Sampler,
    pub loss: Loss,
    pub valid_loss: Loss,
    pub val_windows: Windows,
    /// Dropout's stream, apart from the sampler's.
    pub dropout_rng: Rng,
    /// Which part of each sampled batch and of the validation windows this process computes in
    /// data-parallel training, as (rank, size): every rank samples the same global batch and takes
    /// its share. (0, 1) takes them whole (one process, or ranks that sample their own series).
    pub share: (usize, usize),
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
        Ok(self.batch_loss(&windows).0)
    }

    /// The loss is a mean over the available points (`Loss::compute`), so times their count it is
    /// their sum. RMSE, the root of such a mean, does not split: refused before training.
    fn train_loss_sum(&mut self, _step: usize, rng: &mut Rng) -> Result<(Tensor, f64)> {
        let (rank, size) = self.share;
        let windows = self.sampler.sample(rng).share(rank, size);
        if windows.is_empty() {
            // A global batch smaller than the world: this rank adds nothing to the sums.
            return Ok((Tensor::scalar(0.0), 0.0));
        }
        let (loss, points) = self.batch_loss(&windows);
        Ok((loss.mul_scalar(points as f32), points))
    }

    fn valid_loss_sum(&mut self) -> Result<(f64, f64)> {
        let (rank, size) = self.share;
        Ok(self.valid_sum(rank, size))
    }

    /// NeuralForecast's validation loss: each chunk's loss (a masked mean over its points),
    /// averaged over chunks weighted by their window counts.
    fn valid_loss(&mut self) -> Result<Option<f64>> {
        if self.val_windows.is_empty() {
            return Ok(None);
        }
        let (sum, count) = self.valid_sum(0, 1);
        Ok(Some(sum / count))
    }

    /// The sampler's epoch, dropout's stream and the model's buffers (BatchNorm statistics).
    fn state(&self) -> TaskState {
        let sampler = match &self.sampler {
            Sampler::Series(s) => {
                let (order, cursor) = s.position();
                json!({"order": order, "cursor": cursor})
            }
            // Draws every step afresh: no position.
            Sampler::Time(_) => Value::Null,
        };
        TaskState {
            meta: json!({"dropout_rng": self.dropout_rng.state().to_text(), "sampler": sampler}),
            tensors: named_buffers(self.model).into_iter().map(|(n, t)| (n, t.to_vec())).collect(),
        }
    }

    fn restore(&mut self, state: TaskState) -> Result<()> {
        let bad = |what: &str| Error::format(format!("the training state's {what} does not fit this model and data"));
        let buffers = named_buffers(self.model);
        let fits = buffers.len() == state.tensors.len() && buffers.iter().zip(&state.tensors).all(|((n, t), (m, v))| n == m && t.numel() == v.len());
        if !fits {
            return Err(bad("buffers"));
        }
        let rng = state.meta["dropout_rng"].as_str().and_then(RngState::from_text).ok_or_else(|| bad("dropout stream"))?;
        if let Sampler::Series(s) = &mut self.sampler {
            let sampler = &state.meta["sampler"];
            let order = sampler["order"].as_array().and_then(|a| a.iter().map(|i| i.as_u64().map(|i| i as usize)).collect::<Option<Vec<_>>>());
            let (Some(order), Some(cursor)) = (order, sampler["cursor"].as_u64()) else { return Err(bad("sampler position")) };
            s.set_position(order, cursor as usize)?;
        }
        self.dropout_rng = Rng::from_state(&rng);
        for ((_, t), (_, v)) in buffers.iter().zip(state.tensors) {
            t.data_mut().copy_from_slice(&v);
        }
        Ok(())
    }
}

impl FitTask<'_> {
    /// The validation loss summed over the evaluation chunks of rank `rank` of `size` (whole
    /// chunks dealt out in turn, so the ranks' sums add up to the one-process sum), each chunk's
    /// mean times its rows, and the rows.
    fn valid_sum(&self, rank: usize, size: usize) -> (f64, f64) {
        let (mut sum, mut count) = (0.0f64, 0usize);
        for part in self.val_windows.eval_chunks(self.model.common()).iter().skip(rank).step_by(size) {
            let (loss, rows) = self.chunk_valid_loss(part);
            sum += loss as f64 * rows as f64;
            count += rows;
        }
        (sum, count as f64)
    }

    /// The training loss of `windows` (a graph) and the number of available points it averages.
    fn batch_loss(&mut self, windows: &Windows) -> (Tensor, f64) {
        let inputs = &self.train_inputs;
        let (batch, wb) = inputs.batch(windows);
        let y_hat = inputs.rows(self.model.forward(&batch, &mut Ctx::train(&mut self.dropout_rng)), windows);
        let (y, ctx) = loss_inputs(self.model, &self.loss, &wb, &batch, &inputs.spec);
        let points: f32 = wb.outsample_mask.iter().sum();
        let mask = Tensor::from_vec(wb.outsample_mask, &[wb.n, inputs.spec.h]);
        (self.loss.compute(&y_hat, &y, &mask, &ctx), points as f64)
    }

    /// The validation loss of one chunk of windows, in the original scale as NeuralForecast
    /// validates, and the number of forecast rows it averages.
    fn chunk_valid_loss(&self, windows: &Windows) -> (f32, usize) {
        let (h, l, scaler) = (self.inputs.spec.h, self.inputs.spec.input_size, self.inputs.spec.scaler);
        let (batch, wb) = self.inputs.batch(windows);
        let mut rng = Rng::seed(0);
        no_grad(|| {
            let (shift, scale) = output_stats(self.model, &wb);
            let (shift, scale) = (shift.to_vec(), scale.to_vec());
            let raw = self.inputs.forecast(self.model, &batch, windows, &shift, &scale, &mut Ctx::eval(&mut rng));
            let mask = Tensor::from_vec(wb.outsample_mask.clone(), &[wb.n, h]);
            if self.valid_loss.is_distribution() {
                // The training loss itself (`Loss::check_valid_loss`): its likelihood of the target.
                let (y, ctx) = loss_inputs(self.model, &self.valid_loss, &wb, &batch, &self.inputs.spec);
                return (self.valid_loss.compute(&raw, &y, &mask, &ctx).item(), wb.n);
            }
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

/// Rows an inference forward pass covers at least when the model allows it
/// ([`Model::rows_independent`]) and `inferenceWindowsBatchSize` does not ask for fewer: every
/// pass reads each weight once from memory, and NeuralForecast's evaluation batch (32 series by
/// default) multiplies a read weight by too few rows to keep up with it (NHITS' twelve 1 MB
/// weights ran at half the GEMM rate in batches of 32). Each batch is still finalized on its own.
pub const INFERENCE_ROWS: usize = 256;

/// Forecast columns for `windows` in the original scale, `[rows, h, loss.columns()]` row-major
/// (a row per window, or per (window, series) for time windows), computed in NeuralForecast's
/// evaluation batches.
///
/// `loss` is the model's own, or one asking for other quantiles ([`Loss::with_levels`]). Stops
/// with `ErrorKind::Aborted` between batches once `cancel` is set.
///
/// With `explain`, the tensors the network records (see [`Ctx::record`]) are summed into it.
pub fn forecast_columns(model: &dyn Model, loss: &Loss, inputs: &Inputs, windows: &Windows, cancel: &AtomicBool, explain: Option<&mut Explanation>) -> Result<Vec<f32>> {
    forecast_columns_merging(model, loss, inputs, windows, cancel, explain, INFERENCE_ROWS)
}

/// [`forecast_columns`], running consecutive evaluation batches of series windows in forward
/// passes of at least `rows` rows (see [`INFERENCE_ROWS`]) where the model allows it.
fn forecast_columns_merging(model: &dyn Model, loss: &Loss, inputs: &Inputs, windows: &Windows, cancel: &AtomicBool, mut explain: Option<&mut Explanation>, rows: usize) -> Result<Vec<f32>> {
    let h = inputs.spec.h;
    let seed = model.common().random_seed;
    let summary = model.recurrence().map_or(Summary::Direct, |r| Summary::Recurrent { samples: r.samples });
    let mut out = Vec::with_capacity(windows.len() * h * loss.columns());
    let mut rng = Rng::seed(0);
    let parts = windows.eval_chunks(model.common());
    let merge = model.rows_independent() && !inputs.recurrent && matches!(windows, Windows::Series(_));
    // Never more rows at once than the memory limit was checked for (`check_inference`).
    let rows = if merge { model.common().inference_windows_batch_size.map_or(rows, |b| b.min(rows)) } else { 1 };
    let mut first = 0;
    while first < parts.len() {
        if cancel.load(Ordering::Relaxed) {
            return Err(Error::aborted());
        }
        let mut end = first + 1;
        let mut count = parts[first].len();
        while end < parts.len() && count < rows && count + parts[end].len() <= rows.max(parts[first].len()) {
            count += parts[end].len();
            end += 1;
        }
        let group = &parts[first..end];
        let merged;
        let pass = match group {
            [one] => one,
            _ => {
                merged = Windows::Series(group.iter().flat_map(|p| match p {
                    Windows::Series(w) => w.iter().cloned(),
                    Windows::Time(_) => unreachable!("only series windows are merged"),
                }).collect());
                &merged
            }
        };
        let (batch, wb) = inputs.batch(pass);
        let (y_hat, shift, scale) = no_grad(|| {
            let (shift, scale) = output_stats(model, &wb);
            let (shift, scale) = (shift.to_vec(), scale.to_vec());
            let mut ctx = Ctx::eval(&mut rng);
            if explain.is_some() {
                ctx = ctx.recording();
            }
            let y_hat = inputs.forecast(model, &batch, pass, &shift, &scale, &mut ctx);
            if let (Some(e), Some(records)) = (explain.as_deref_mut(), ctx.records) {
                e.add(records);
            }
            (y_hat, shift, scale)
        });
        // Each evaluation batch is finalized as if it had run alone (its own sampling seed).
        let y_hat = y_hat.data();
        let per_row = y_hat.len() / shift.len().max(1);
        let mut row = 0;
        for (part_index, part) in (first..end).zip(group) {
            let n = if matches!(part, Windows::Series(_)) { part.len() } else { shift.len() };
            let (raw, stats) = (&y_hat[row * per_row..(row + n) * per_row], row..row + n);
            out.extend(loss.finalize_as(raw, h, &shift[stats.clone()], &scale[stats], inputs.spec.scaler, seed.wrapping_add(part_index as u64), summary));
            row += n;
        }
        first = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{ScalerType, Series, TrainSampler};
    use serde_json::json;

    /// One series `y = t` with a historic column `x = 10·t` and a future one `f = 100 + t`.
    fn data() -> Dataset {
        let n = 12;
        Dataset {
            series: vec![Series {
                id: "a".into(),
                ds: (0..n).map(|t| t as f64).collect(),
                y: (0..n).map(|t| t as f32).collect(),
                exog: vec![(0..n).map(|t| 10.0 * t as f32).collect(), (0..n).map(|t| 100.0 + t as f32).collect()],
            }],
            exog_names: vec!["x".into(), "f".into()],
        }
    }

    fn spec(l: usize, h: usize) -> WindowSpec {
        WindowSpec { input_size: l, h, step_size: 1, start_padding: false, pad_after_scaling: false, scaler: ScalerType::Identity, hist_cols: vec![0], futr_cols: vec![1] }
    }

    fn inputs(data: &Dataset, l: usize, h: usize) -> Inputs<'_> {
        Inputs { data, spec: spec(l, h), statics: None, future: None, recurrent: true }
    }

    /// A FitTask of an MLP over `data`, computing part `share` of each batch of 8 windows.
    fn mlp_task<'a>(data: &'a Dataset, model: &'a dyn Model, share: (usize, usize)) -> FitTask<'a> {
        let spec = WindowSpec { hist_cols: vec![], futr_cols: vec![], ..spec(4, 2) };
        let inputs = || Inputs { data, spec: spec.clone(), statics: None, future: None, recurrent: false };
        let sampler = Sampler::Series(TrainSampler::new(data, &spec, 0, 1, 8).unwrap());
        let val_windows = Windows::Series(crate::data::validation_windows(data, &spec, 4, 0));
        FitTask { model, train_inputs: inputs(), inputs: inputs(), sampler, loss: Loss::Mae, valid_loss: Loss::Mae, val_windows, dropout_rng: Rng::seed(1), share }
    }

    #[test]
    fn the_shares_of_a_batch_sum_to_the_whole_batch_loss_and_gradient() {
        let d = data();
        let model = crate::models::build("MLP", &json!({"h": 2, "inputSize": 4, "hiddenSize": 8, "numLayers": 1})).unwrap();
        let grad_of = |share: (usize, usize)| {
            let mut task = mlp_task(&d, model.as_ref(), share);
            let (sum, count) = crate::tensor::with_grad_mode(true, || task.train_loss_sum(0, &mut Rng::seed(7))).unwrap();
            let grads = sum.backward();
            let flat: Vec<f32> = task.params().iter().flat_map(|(_, p)| grads.get(p).cloned().unwrap_or(vec![0.0; p.numel()])).collect();
            (sum.item() as f64, count, flat, task.valid_loss_sum().unwrap())
        };
        let (whole, whole_count, whole_grad, whole_valid) = grad_of((0, 1));
        // 8 windows of 2 targets, some past the end of the series (masked out, not counted).
        assert!(whole_count > 8.0 && whole_count <= 16.0, "{whole_count} points");
        // The mean loss of one process, times the count, is the sum.
        let mut task = mlp_task(&d, model.as_ref(), (0, 1));
        let mean = crate::tensor::with_grad_mode(true, || task.train_loss(0, &mut Rng::seed(7))).unwrap().item() as f64;
        assert!((mean * whole_count - whole).abs() <= 1e-5 * whole.abs());
        for size in [2, 3, 9] {
            let parts: Vec<_> = (0..size).map(|r| grad_of((r, size))).collect();
            let sum: f64 = parts.iter().map(|p| p.0).sum();
            assert!((sum - whole).abs() <= 1e-5 * whole.abs(), "{size} shares: {sum} vs {whole}");
            assert_eq!(parts.iter().map(|p| p.1).sum::<f64>(), whole_count);
            for (i, g) in whole_grad.iter().enumerate() {
                let part: f32 = parts.iter().map(|p| p.2[i]).sum();
                assert!((part - g).abs() <= 1e-5 * (g.abs() + 1.0), "{size} shares, gradient {i}: {part} vs {g}");
            }
            let (vs, vc) = parts.iter().fold((0.0, 0.0), |(s, c), p| (s + p.3 .0, c + p.3 .1));
            assert!((vs - whole_valid.0).abs() <= 1e-9 * whole_valid.0.abs() && vc == whole_valid.1, "validation ({vs}, {vc}) vs {whole_valid:?}");
        }
    }

    #[test]
    fn recurrent_windows_are_teacher_forced_with_exogenous_values_shifted_by_one() {
        let d = data();
        // NeuralForecast's input_size + 1 = 3 inputs, h_train = 2: the window is points 2..=6.
        let windows = Windows::Series(vec![Window { series: 0, first: 2, visible: 12 }]);
        let (batch, wb) = inputs(&d, 3, 2).batch(&windows);
        assert_eq!(wb.outsample_y, [5.0, 6.0], "the targets stay the window's last h points");
        // Step t reads y at t and the exogenous values of t + 1, the point it forecasts.
        assert_eq!(batch.insample_y.shape(), &[1, 4]);
        assert_eq!(batch.insample_y.to_vec(), [2.0, 3.0, 4.0, 5.0]);
        assert_eq!(batch.insample_mask.to_vec(), [1.0; 4]);
        // Historic values are known over the inputs only: zero over the horizon.
        assert_eq!(batch.hist_exog.as_ref().unwrap().shape(), &[1, 4, 1]);
        assert_eq!(batch.hist_exog.unwrap().to_vec(), [30.0, 40.0, 0.0, 0.0]);
        assert_eq!(batch.futr_exog.unwrap().to_vec(), [103.0, 104.0, 105.0, 106.0]);
        // With one target nothing is appended: the inputs, exogenous values shifted.
        let (batch, _) = inputs(&d, 3, 1).batch(&windows);
        assert_eq!(batch.insample_y.to_vec(), [2.0, 3.0, 4.0]);
        assert_eq!(batch.hist_exog.unwrap().to_vec(), [30.0, 40.0, 0.0]);
        assert_eq!(batch.futr_exog.unwrap().to_vec(), [103.0, 104.0, 105.0]);
    }

    #[test]
    fn recurrent_forecasts_go_step_by_step_feeding_back_each_forecast_and_carrying_the_state() {
        let d = data();
        for class in ["RNN", "GRU", "LSTM"] {
            let options = json!({"h": 3, "inputSize": 4, "recurrent": true, "encoderHiddenSize": 6, "histExogList": ["x"], "futrExogList": ["f"]});
            let model = crate::models::build(class, &options).unwrap();
            let (l, h) = (5, 4);
            let windows = Windows::Series(vec![Window { series: 0, first: 1, visible: 6 }, Window { series: 0, first: 2, visible: 7 }]);
            let ins = inputs(&d, l, h);
            let (batch, _) = ins.batch(&windows);
            let loss = Loss::Mae;
            let (shift, scale) = ([0.0; 2], [1.0; 2]);
            let mut rng = Rng::seed(0);
            let stepwise = forecast_stepwise(model.as_ref(), &batch, l, h, &loss, &shift, &scale, &mut Ctx::eval(&mut rng));
            assert_eq!(stepwise.shape(), &[2, h, 1]);
            // The same as one run over the history followed by the forecasts fed back, from zero.
            let fed = stepwise.narrow(1, 0, h - 1).reshape(&[2, h - 1]);
            let whole = Batch {
                insample_y: Tensor::concat(&[batch.insample_y.narrow(1, 0, l), fed], 1),
                insample_mask: Tensor::ones(&[2, l + h - 1]),
                hist_exog: batch.hist_exog.clone(),
                futr_exog: batch.futr_exog.clone(),
                stat_exog: None,
            };
            let once = model.run(&whole, None, &mut Ctx::eval(&mut rng)).unwrap().output.narrow(1, l - 1, h);
            for (a, b) in stepwise.to_vec().iter().zip(once.to_vec()) {
                assert!((a - b).abs() < 1e-5, "{class}: stepwise {a} vs one run {b}");
            }
        }
    }

    #[test]
    fn merged_evaluation_batches_give_the_forecasts_of_batches_run_alone() {
        // 75 series of lengths 10-22 in evaluation batches of 8 series; one merged pass of 75 rows.
        let series: Vec<Series> = (0..75)
            .map(|s| {
                let n = 10 + (s * 7) % 13;
                Series { id: format!("s{s:02}"), ds: (0..n).map(|t| t as f64).collect(), y: (0..n).map(|t| (s as f32 + 1.0) * (1.0 + 0.3 * (t as f32 * 0.7).sin())).collect(), exog: vec![] }
            })
            .collect();
        let data = Dataset { series, exog_names: vec![] };
        let normal = json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80], "numSamples": 20});
        for (class, options) in [
            ("MLP", json!({"h": 3, "inputSize": 8, "hiddenSize": 96, "numLayers": 2, "batchSize": 8, "scalerType": "robust"})),
            ("NHITS", json!({"h": 3, "inputSize": 8, "mlpUnits": [[64, 64], [64, 64]], "batchSize": 8, "scalerType": "standard"})),
            ("MLP", json!({"h": 3, "inputSize": 8, "hiddenSize": 40, "batchSize": 8, "loss": normal})),
            ("NBEATS", json!({"h": 3, "inputSize": 8, "mlpUnits": [[32, 32], [32, 32]], "batchSize": 8, "stackTypes": ["identity", "trend", "seasonality"]})),
            ("NBEATSx", json!({"h": 3, "inputSize": 8, "mlpUnits": [[32, 32], [32, 32]], "batchSize": 8})),
            ("TiDE", json!({"h": 3, "inputSize": 8, "hiddenSize": 48, "decoderOutputDim": 8, "temporalDecoderDim": 16, "batchSize": 8, "layernorm": true})),
        ] {
            let model = crate::models::build(class, &options).unwrap();
            assert!(model.rows_independent());
            let c = model.common();
            let spec = WindowSpec { input_size: c.input_size, h: c.h, step_size: 1, start_padding: false, pad_after_scaling: false, scaler: c.scaler(), hist_cols: vec![], futr_cols: vec![] };
            let ins = Inputs { data: &data, spec, statics: None, future: None, recurrent: false };
            let windows = Windows::Series(crate::data::forecast_windows(&data, &ins.spec));
            let loss = c.loss();
            let run = |rows| forecast_columns_merging(model.as_ref(), &loss, &ins, &windows, &AtomicBool::new(false), None, rows).unwrap();
            let alone = run(1);
            assert_eq!(alone.len(), 75 * 3 * loss.columns());
            // The large products give the same bits whatever the rows; products small enough
            // for gemm's other kernels (or our plain loop) may not, in the last bits. Samples
            // of a distribution are drawn per evaluation batch, with its own seed, as before.
            for rows in [INFERENCE_ROWS, 20] {
                for (i, (a, b)) in run(rows).iter().zip(&alone).enumerate() {
                    assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{class}, passes of {rows} rows: value {i} is {a}, alone {b}");
                }
            }
        }
    }
}

//! One model on one dataset: the training task the trainer drives, and batched inference that
//! returns forecasts in the data's original scale.

use crate::data::{Dataset, Extras, TrainSampler, Window, WindowBatch, WindowSpec};
use crate::error::Result;
use crate::loss::Loss;
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

impl Inputs<'_> {
    fn batch(&self, windows: &[Window]) -> (Batch, WindowBatch) {
        let wb = self.spec.batch(self.data, windows, Extras { statics: self.statics, future: self.future });
        (to_tensors(&wb, &self.spec), wb)
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
    pub sampler: TrainSampler,
    pub loss: Loss,
    pub valid_loss: Loss,
    pub val_windows: Vec<Window>,
    /// Dropout's stream, apart from the sampler's.
    pub dropout_rng: Rng,
}

impl TrainTask for FitTask<'_> {
    fn params(&self) -> Vec<(String, Tensor)> {
        named_params(self.model)
    }

    fn train_loss(&mut self, _step: usize, rng: &mut Rng) -> Result<Tensor> {
        let windows = self.sampler.sample(rng);
        let (batch, wb) = self.inputs.batch(&windows);
        let y_hat = self.model.forward(&batch, &mut Ctx::train(&mut self.dropout_rng));
        let h = self.inputs.spec.h;
        let y = Tensor::from_vec(wb.outsample_y, &[wb.n, h]);
        let mask = Tensor::from_vec(wb.outsample_mask, &[wb.n, h]);
        Ok(self.loss.compute(&y_hat, &y, &mask))
    }

    fn valid_loss(&mut self) -> Result<Option<f64>> {
        if self.val_windows.is_empty() {
            return Ok(None);
        }
        let h = self.inputs.spec.h;
        let (forecasts, wb) = predict_windows(self.model, &self.inputs, &self.val_windows, self.valid_loss.outputs(), None);
        let scaler = self.inputs.spec.scaler;
        let y: Vec<f32> = (0..wb.n * h).map(|i| scaler.invert(wb.outsample_y[i], wb.y_shift[i / h], wb.y_scale[i / h])).collect();
        let loss = no_grad(|| {
            self.valid_loss
                .compute(
                    &Tensor::from_vec(forecasts, &[wb.n, h, self.valid_loss.outputs()]),
                    &Tensor::from_vec(y, &[wb.n, h]),
                    &Tensor::from_vec(wb.outsample_mask.clone(), &[wb.n, h]),
                )
                .item()
        });
        Ok(Some(loss as f64))
    }
}

/// Forecasts for `windows` in the original scale, `[B, h, outputs]` row-major, in batches of
/// `chunk` windows (all at once when None). Also returns the assembled window batch (targets,
/// masks and scaler statistics) for callers that compare with the truth.
pub fn predict_windows(model: &dyn Model, inputs: &Inputs, windows: &[Window], outputs: usize, chunk: Option<usize>) -> (Vec<f32>, WindowBatch) {
    let h = inputs.spec.h;
    let scaler = inputs.spec.scaler;
    let mut out = Vec::with_capacity(windows.len() * h * outputs);
    let mut all = WindowBatch::default();
    let mut rng = Rng::seed(0);
    for part in windows.chunks(chunk.unwrap_or(windows.len()).max(1)) {
        let (batch, wb) = inputs.batch(part);
        let y_hat = no_grad(|| model.forward(&batch, &mut Ctx::eval(&mut rng)));
        let values = y_hat.data();
        for (w, per_window) in values.chunks(h * outputs).enumerate() {
            out.extend(per_window.iter().map(|z| scaler.invert(*z, wb.y_shift[w], wb.y_scale[w])));
        }
        all.n += wb.n;
        all.outsample_y.extend(wb.outsample_y);
        all.outsample_mask.extend(wb.outsample_mask);
        all.y_shift.extend(wb.y_shift);
        all.y_scale.extend(wb.y_scale);
    }
    (out, all)
}

//! Autoformer as NeuralForecast 3.3 builds it (Wu et al., "Autoformer: Decomposition
//! Transformers with Auto-Correlation for Long-Term Series Forecasting"): VanillaTransformer's
//! encoder-decoder with a series decomposition after every sub-layer, so the layers work on the
//! seasonal part while the decoder accumulates the trend, and auto-correlation in place of
//! attention: the values rolled by the `⌊factor · ln L⌋` delays at which queries and keys
//! correlate most, weighted by a softmax over those correlations.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::vanillatransformer::EncoderDecoderOptions;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::autocorrelation::AutoCorrelation;
use crate::nn::decomp_transformer::DecompEncoderDecoder;
use crate::nn::transformer::InnerAttention;
use crate::nn::Ctx;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Autoformer's own options: VanillaTransformer's, the auto-correlation factor and the
/// decomposition's moving-average window.
#[derive(Clone, Debug)]
pub struct AutoformerOptions {
    base: EncoderDecoderOptions,
    factor: usize,
    moving_avg_window: usize,
}

pub type Autoformer = DecompEncoderDecoder<AutoCorrelation, AutoCorrelation, AutoCorrelation>;

impl AutoformerOptions {
    /// NeuralForecast fails in training where a correlation has no delay to aggregate
    /// (`torch.stack` of none) or fewer delays than `⌊factor · ln L⌋` (`topk`), for the encoder's
    /// `inputSize` steps and the decoder's `label_len + h`.
    fn check_delays(&self, c: &CommonOptions) -> Result<()> {
        for (what, l) in [("inputSize", c.input_size), ("the decoder's label_len + h", self.base.label_len(c) + c.h)] {
            let (k, delays) = (AutoCorrelation::top_k(self.factor, l), AutoCorrelation::delays(l));
            if k == 0 || k > delays {
                return Err(Error::range(format!(
                    "Autoformer option 'factor' ({}) aggregates floor(factor·ln L) = {k} delays over {what} = {l} steps, which have {delays}; it must be 1..{delays}",
                    self.factor
                )));
            }
        }
        Ok(())
    }
}

/// `movingAvgWindow` (NeuralForecast's `MovingAvg_window`, default 25) of the decomposition
/// transformers. NeuralForecast takes any window and fails in forward on an even one (the moving
/// average comes out one step short of the series): refused here.
pub(super) fn read_moving_avg_window(r: &mut OptionReader) -> Result<usize> {
    let k = r.usize("movingAvgWindow", 25)?;
    if k % 2 == 0 {
        return Err(r.range_error("movingAvgWindow", &format!("must be odd (so that the moving average is centred and keeps the length), got {k}")));
    }
    Ok(k)
}

impl Spec for AutoformerOptions {
    const CLASS: &'static str = "Autoformer";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = Autoformer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let base = EncoderDecoderOptions::read(r)?;
        let factor = r.usize("factor", 3)?;
        Ok(AutoformerOptions { base, factor, moving_avg_window: read_moving_avg_window(r)? })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        self.base.check(Self::CLASS, c)?;
        self.check_delays(c)
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = self.base.to_json();
        m.extend(entries([("factor", json!(self.factor)), ("movingAvgWindow", json!(self.moving_avg_window))]));
        m
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let s = self.base.sizes(c, outputs, false);
        let (df, cf) = (s.hidden as f64, s.conv_hidden as f64);
        // Per auto-correlation of n queries: projections, transposes, both spectra and their
        // product, the correlation, the rolled sum, the residual, dropout mask and
        // decomposition; per feed-forward its hidden layer thrice and its decomposition.
        let attn = |n: usize| 16.0 * n as f64 * df;
        let ffn = |n: usize| 3.0 * n as f64 * cf + 7.0 * n as f64 * df;
        let (l, t) = (c.input_size, s.label_len + c.h);
        let mut per_window = 4.0 * (l + t) as f64 * df + 4.0 * t as f64 * outputs as f64;
        per_window += s.encoder_layers as f64 * (attn(l) + ffn(l));
        // Per decoder layer also the trends, their sum, padding and projection.
        per_window += s.decoder_layers as f64 * (2.0 * attn(t) + ffn(t) + 6.0 * t as f64 * df);
        Footprint { params: Autoformer::params(&s), per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Autoformer {
        let factor = self.factor;
        let correlation = move || AutoCorrelation { factor };
        DecompEncoderDecoder::new(self.base.sizes(c, outputs, false), self.moving_avg_window, correlation, correlation, correlation, rng)
    }
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> Network for DecompEncoderDecoder<E, S, C> {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        DecompEncoderDecoder::forward(self, &batch.insample_y, batch.futr_exog.as_ref(), ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{base, error, forward};
    use super::*;
    use crate::nn::param_count;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn parameter_counts_match_neuralforecast() {
        // NeuralForecast 3.3 (`sum(p.numel() for p in Autoformer(...).parameters())`), h 12,
        // inputSize 24. Its MQLoss holds the 5 quantiles as a (frozen) parameter; ours does not.
        for (opts, want) in [
            (json!({}), 290_561),
            (json!({"encoderLayers": 3, "decoderLayers": 2, "convHiddenSize": 64}), 546_433),
            (json!({"hiddenSize": 8, "nHead": 2, "decoderLayers": 2, "futrExogList": ["a", "b", "c"], "loss": {"type": "MQLoss"}}), 4194 - 5),
            (json!({"hiddenSize": 10, "nHead": 3, "convHiddenSize": 6}), 2089),
        ] {
            let mut o = json!({"h": 12, "inputSize": 24});
            o.as_object_mut().unwrap().extend(opts.as_object().unwrap().clone());
            let m = super::super::build("Autoformer", &o).unwrap();
            assert_eq!(param_count(m.as_ref()), want, "{o}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"decoderInputSizeMultiplier": 1.0}), "decoderInputSizeMultiplier"),
            (json!({"decoderInputSizeMultiplier": 0.0}), "decoderInputSizeMultiplier"),
            (json!({"activation": "tanh"}), "activation"),
            (json!({"factor": 0}), "factor"),
            (json!({"movingAvgWindow": 24}), "movingAvgWindow"),
            (json!({"histExogList": ["a"]}), "histExogList"),
            (json!({"statExogList": ["a"]}), "statExogList"),
        ] {
            let e = error("Autoformer", base(opts)).to_string();
            assert!(e.contains(key), "{e}");
        }
        // Three encoder steps give ⌊3·ln 3⌋ = 3 delays of the 2 an odd length keeps.
        let e = error("Autoformer", json!({"h": 2, "inputSize": 3})).to_string();
        assert!(e.contains("'factor'") && e.contains("inputSize = 3"), "{e}");
    }

    #[test]
    fn grad_through_autoformer() {
        // Training mode (the batch's delays) with a future exogenous column, no dropout.
        let opts = json!({"h": 3, "inputSize": 8, "hiddenSize": 4, "nHead": 2, "convHiddenSize": 3, "factor": 1, "movingAvgWindow": 3, "futrExogList": ["f"], "dropout": 0.0});
        let m = super::super::build("Autoformer", &opts).unwrap();
        let mut rng = Rng::seed(8);
        let (y, f) = (Tensor::randn(&[2, 8], &mut rng), Tensor::randn(&[2, 11, 1], &mut rng));
        let batch = |t: &[Tensor]| Batch { insample_y: t[0].clone(), insample_mask: Tensor::ones(&[2, 8]), hist_exog: None, futr_exog: Some(t[1].clone()), stat_exog: None };
        check_gradients("Autoformer", |t| m.forward(&batch(t), &mut Ctx::train(&mut Rng::seed(0))), &[y, f]);
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/autoformer_reference.py: NeuralForecast's eval-mode (per-window delays) and
        // train-mode (the batch's delays, dropout 0) outputs of two small models on 3 windows.
        let cases: Vec<Value> = serde_json::from_str(include_str!("autoformer_reference.json")).unwrap();
        for r in &cases {
            let (m, batch) = super::super::tests::reference_case("Autoformer", r);
            let floats = |k: &str| super::super::tests::floats(r, k);
            super::super::tests::assert_close(&forward(m.as_ref(), &batch).to_vec(), &floats("out_eval"));
            let train = m.forward(&batch, &mut Ctx::train(&mut Rng::seed(0)));
            super::super::tests::assert_close(&train.to_vec(), &floats("out_train"));
        }
    }
}

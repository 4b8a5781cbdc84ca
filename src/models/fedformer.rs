//! FEDformer as NeuralForecast 3.3 builds it (Zhou et al., "FEDformer: Frequency Enhanced
//! Decomposed Transformer for Long-term Series Forecasting"), its Fourier version: Autoformer's
//! decomposition encoder-decoder with frequency-enhanced blocks in place of auto-correlation.
//! Each works on at most `modes` Fourier modes of its input (chosen at random, or the lowest),
//! mixing them across features with complex weights; the cross block relates the query modes to
//! the key modes through a complex tanh first.
//!
//! As NeuralForecast does, one block serves every encoder layer, one every decoder layer's
//! self-attention and one their cross-attention (the weights are shared); the random modes come
//! from NumPy's generator seeded with `randomSeed`, so they are NeuralForecast's own.

use std::cell::Cell;

use serde_json::{json, Map, Value};

use super::autoformer::read_moving_avg_window;
use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::vanillatransformer::EncoderDecoderOptions;
use super::{Capabilities, Footprint, Spec};
use crate::error::{Error, Result};
use crate::nn::decomp_transformer::DecompEncoderDecoder;
use crate::nn::fourier::{FourierBlock, FourierCrossAttention, NumpyLegacyRng};
use crate::rng::Rng;

/// FEDformer's own options: VanillaTransformer's (8 heads), the version, the modes and how they
/// are chosen, and the decomposition's moving-average window.
#[derive(Clone, Debug)]
pub struct FedformerOptions {
    base: EncoderDecoderOptions,
    version: String,
    modes: usize,
    mode_select: String,
    moving_avg_window: usize,
}

pub type Fedformer = DecompEncoderDecoder<FourierBlock, FourierBlock, FourierCrossAttention>;

impl FedformerOptions {
    /// The decoder's Fourier blocks take their modes from `inputSize / 2 + h` steps (as
    /// NeuralForecast builds them), not from the `label_len + h` they see.
    fn decoder_seq_len(c: &CommonOptions) -> usize {
        c.input_size / 2 + c.h
    }

    fn random(&self) -> bool {
        self.mode_select == "random"
    }

    /// Modes of the encoder block, the decoder block and the cross block's queries.
    fn mode_counts(&self, c: &CommonOptions) -> [usize; 3] {
        let dec = self.modes.min(Self::decoder_seq_len(c) / 2);
        [self.modes.min(c.input_size / 2), dec, dec]
    }
}

impl Spec for FedformerOptions {
    const CLASS: &'static str = "FEDformer";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), takes_exclude_insample_y: false, ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = Fedformer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(FedformerOptions {
            base: EncoderDecoderOptions::read_with_heads(r, 8)?,
            version: r.string("version", "Fourier")?,
            // NeuralForecast takes 0 (blocks that output zeros); refused as meaningless.
            modes: r.usize_min("modes", 64, 1)?,
            mode_select: r.string("modeSelect", "random")?,
            moving_avg_window: read_moving_avg_window(r)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        if self.base.n_head != 8 {
            return Err(Error::range(format!("FEDformer option 'nHead' must be 8 (its Fourier weights have 8 heads), got {}", self.base.n_head)));
        }
        if self.version != "Fourier" {
            return Err(Error::range(format!("FEDformer option 'version' must be 'Fourier' (the only version NeuralForecast supports), got '{}'", self.version)));
        }
        self.base.check(Self::CLASS, c)?;
        // NeuralForecast indexes the decoder's spectrum with modes of `inputSize / 2 + h` steps
        // and fails in forward when its `label_len + h` steps have fewer frequencies.
        let (seq, t) = (Self::decoder_seq_len(c), self.base.label_len(c) + c.h);
        if seq / 2 > t / 2 + 1 {
            return Err(Error::range(format!(
                "FEDformer option 'decoderInputSizeMultiplier' ({}) gives the decoder {t} steps, too few for the {} frequency modes it takes from inputSize / 2 + h = {seq}",
                self.base.decoder_input_size_multiplier,
                seq / 2
            )));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = self.base.to_json();
        m.extend(entries([
            ("version", json!(self.version)),
            ("modes", json!(self.modes)),
            ("modeSelect", json!(self.mode_select)),
            ("movingAvgWindow", json!(self.moving_avg_window)),
        ]));
        m
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let s = self.base.sizes(c, outputs, false);
        let (df, cf) = (s.hidden as f64, s.conv_hidden as f64);
        let e = (s.hidden / 8) as f64;
        let weights: f64 = self.mode_counts(c).iter().map(|&m| 8.0 * e * e * m as f64 * 2.0).sum();
        // Per Fourier block of n steps: projections, transposes, spectra, selected and mixed
        // modes (and the cross block's mode-by-mode scores), the inverse, residual, dropout and
        // decomposition; per feed-forward its hidden layer thrice and its decomposition.
        let modes = self.modes as f64;
        let block = |n: usize| 16.0 * n as f64 * df + 8.0 * modes * df + 4.0 * 8.0 * modes * modes;
        let ffn = |n: usize| 3.0 * n as f64 * cf + 7.0 * n as f64 * df;
        let (l, t) = (c.input_size, s.label_len + c.h);
        let mut per_window = 4.0 * (l + t) as f64 * df + 4.0 * t as f64 * outputs as f64;
        per_window += s.encoder_layers as f64 * (block(l) + ffn(l));
        per_window += s.decoder_layers as f64 * (2.0 * block(t) + ffn(t) + 6.0 * t as f64 * df);
        Footprint { params: Fedformer::params(&s) + weights, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Fedformer {
        let s = self.base.sizes(c, outputs, false);
        // `pl.seed_everything(random_seed)` seeds NumPy before the blocks draw their modes, in
        // this order: encoder, decoder self, decoder cross (queries, then keys).
        let mut numpy = NumpyLegacyRng::seed(c.random_seed as u32);
        let (random, dec_seq) = (self.random(), Self::decoder_seq_len(c));
        let encoder = FourierBlock::new(s.hidden, c.input_size, self.modes, random, &mut numpy, rng);
        let decoder = FourierBlock::new(s.hidden, dec_seq, self.modes, random, &mut numpy, rng);
        let cross = FourierCrossAttention::new(s.hidden, dec_seq, c.input_size, self.modes, random, &mut numpy, rng);
        // The first layer to take a shared block names its weights.
        let firsts = [Cell::new(true), Cell::new(true), Cell::new(true)];
        DecompEncoderDecoder::new(
            s,
            self.moving_avg_window,
            || FourierBlock { owner: firsts[0].replace(false), ..encoder.clone() },
            || FourierBlock { owner: firsts[1].replace(false), ..decoder.clone() },
            || FourierCrossAttention { owner: firsts[2].replace(false), ..cross.clone() },
            rng,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{base, error, forward};
    use super::super::Batch;
    use super::*;
    use crate::nn::fourier::frequency_modes;
    use crate::nn::{named_params, param_count, Ctx};
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn parameter_counts_match_neuralforecast() {
        // NeuralForecast 3.3 (`sum(p.numel() for p in FEDformer(...).parameters())`), h 12,
        // inputSize 24. NF counts each complex weight once, ours its two parts; its MQLoss
        // holds the 5 quantiles as a (frozen) parameter.
        for (opts, nf, complex) in [
            (json!({}), 364_289, 73_728),
            (json!({"inputSize": 200, "modes": 16, "encoderLayers": 3, "decoderLayers": 2, "windowsBatchSize": 32}), 603_777, 98_304),
            (json!({"hiddenSize": 16, "decoderLayers": 2, "futrExogList": ["a", "b"], "loss": {"type": "MQLoss"}}), 12_570 - 5, 1152),
        ] {
            let mut o = json!({"h": 12, "inputSize": 24});
            o.as_object_mut().unwrap().extend(opts.as_object().unwrap().clone());
            let m = super::super::build("FEDformer", &o).unwrap();
            assert_eq!(param_count(m.as_ref()), nf + complex, "{o}");
        }
        // Shared blocks are named once, under the first layer.
        let m = super::super::build("FEDformer", &json!({"h": 4, "inputSize": 8, "hiddenSize": 8, "encoderLayers": 3})).unwrap();
        let names: Vec<String> = named_params(m.as_ref()).into_iter().map(|(n, _)| n).filter(|n| n.ends_with("weights1")).collect();
        assert_eq!(
            names,
            [
                "encoder.attn_layers.0.attention.inner_correlation.weights1",
                "decoder.layers.0.self_attention.inner_correlation.weights1",
                "decoder.layers.0.cross_attention.inner_correlation.weights1"
            ]
        );
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"nHead": 4}), "nHead"),
            (json!({"version": "Wavelets"}), "version"),
            (json!({"decoderInputSizeMultiplier": 1.0}), "decoderInputSizeMultiplier"),
            (json!({"activation": "tanh"}), "activation"),
            (json!({"modes": 0}), "modes"),
            (json!({"movingAvgWindow": 4}), "movingAvgWindow"),
            (json!({"hiddenSize": 4}), "nHead"),
            (json!({"histExogList": ["a"]}), "histExogList"),
            (json!({"excludeInsampleY": true}), "excludeInsampleY"),
        ] {
            let e = error("FEDformer", base(opts)).to_string();
            assert!(e.contains(key), "{e}");
        }
        // inputSize 40, h 2: the decoder takes modes of 22 steps but has ceil(40·0.1) + 2 = 6.
        let e = error("FEDformer", json!({"h": 2, "inputSize": 40, "decoderInputSizeMultiplier": 0.1})).to_string();
        assert!(e.contains("'decoderInputSizeMultiplier'"), "{e}");
    }

    #[test]
    fn grad_through_fedformer() {
        let opts = json!({"h": 3, "inputSize": 8, "hiddenSize": 16, "convHiddenSize": 3, "movingAvgWindow": 3, "futrExogList": ["f"], "dropout": 0.0});
        let m = super::super::build("FEDformer", &opts).unwrap();
        let mut rng = Rng::seed(8);
        let (y, f) = (Tensor::randn(&[2, 8], &mut rng), Tensor::randn(&[2, 11, 1], &mut rng));
        let batch = |t: &[Tensor]| Batch { insample_y: t[0].clone(), insample_mask: Tensor::ones(&[2, 8]), hist_exog: None, futr_exog: Some(t[1].clone()), stat_exog: None };
        check_gradients("FEDformer", |t| m.forward(&batch(t), &mut Ctx::train(&mut Rng::seed(0))), &[y, f]);
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/fedformer_reference.py: NeuralForecast's outputs (eval mode) of small models
        // with NF's own random modes, its weights loaded here.
        let cases: Vec<Value> = serde_json::from_str(include_str!("fedformer_reference.json")).unwrap();
        for r in &cases {
            // NeuralForecast's modes, drawn in its order from NumPy seeded with randomSeed.
            let opts = &r["options"];
            let (l, h) = (opts["inputSize"].as_u64().unwrap() as usize, opts["h"].as_u64().unwrap() as usize);
            let (modes, random) = (opts["modes"].as_u64().unwrap() as usize, opts.get("modeSelect").is_none());
            let mut numpy = NumpyLegacyRng::seed(opts.get("randomSeed").map_or(1, |s| s.as_u64().unwrap() as u32));
            let drawn: Vec<Vec<usize>> = [l, l / 2 + h, l / 2 + h, l].iter().map(|&n| frequency_modes(n, modes, random, &mut numpy)).collect();
            let want: Vec<Vec<usize>> = serde_json::from_value(r["modes"].clone()).unwrap();
            assert_eq!(drawn, want);
            let (m, batch) = super::super::tests::reference_case("FEDformer", r);
            let floats = |k: &str| super::super::tests::floats(r, k);
            // To f32 rounding of the largest output: two layers of large random complex weights
            // make outputs of a few hundred, whose small ones differ in the 5th digit.
            let (ours, theirs) = (forward(m.as_ref(), &batch).to_vec(), floats("out"));
            let scale = theirs.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
            assert_eq!(ours.len(), theirs.len());
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert!((a - b).abs() <= 1e-5 + 1e-6 * scale, "output {i}: ours {a}, NeuralForecast {b} (largest {scale})");
            }
        }
    }
}

//! Model tests: shapes, NeuralForecast's parameter counts, gradients, option errors, determinism.

use serde_json::json;

use super::*;
use crate::nn::{named_params, param_count};
use crate::rng::Rng;
use crate::tensor::gradcheck::check_gradients;
use crate::tensor::interpolation_matrix;

fn batch(b: usize, l: usize, h: usize, nx: usize, nf: usize, ns: usize, seed: u64) -> Batch {
    let mut rng = Rng::seed(seed);
    Batch {
        insample_y: Tensor::randn(&[b, l], &mut rng),
        insample_mask: Tensor::ones(&[b, l]),
        hist_exog: (nx > 0).then(|| Tensor::randn(&[b, l, nx], &mut rng)),
        futr_exog: (nf > 0).then(|| Tensor::randn(&[b, l + h, nf], &mut rng)),
        stat_exog: (ns > 0).then(|| Tensor::randn(&[b, ns], &mut rng)),
    }
}

/// A multivariate batch in NeuralForecast's layout (N series per window).
#[allow(clippy::too_many_arguments)]
pub(super) fn mv_batch(b: usize, l: usize, h: usize, n: usize, nx: usize, nf: usize, ns: usize, seed: u64) -> Batch {
    let mut rng = Rng::seed(seed);
    Batch {
        insample_y: Tensor::randn(&[b, l, n], &mut rng),
        insample_mask: Tensor::ones(&[b, l, n]),
        hist_exog: (nx > 0).then(|| Tensor::randn(&[b, nx, l, n], &mut rng)),
        futr_exog: (nf > 0).then(|| Tensor::randn(&[b, nf, l + h, n], &mut rng)),
        stat_exog: (ns > 0).then(|| Tensor::randn(&[n, ns], &mut rng)),
    }
}

pub(super) fn forward(m: &dyn Model, b: &Batch) -> Tensor {
    let mut rng = Rng::seed(0);
    m.forward(b, &mut Ctx::eval(&mut rng))
}

/// Sets a model's parameters from NeuralForecast's, checking that the names line up.
pub(super) fn load(m: &dyn Model, names: &[&str], values: &[f32]) {
    let params = named_params(m);
    assert_eq!(params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), names);
    let mut at = 0;
    for (_, p) in params {
        let n = p.numel();
        p.data_mut().copy_from_slice(&values[at..at + n]);
        at += n;
    }
    assert_eq!(at, values.len());
}

/// The floats under `key` of a reference JSON object.
pub(super) fn floats(r: &serde_json::Value, key: &str) -> Vec<f32> {
    r[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

/// One case of a `scripts/*_reference.py` JSON file (`options`, `names`, `values`, windows `y`
/// `[B, L]`, future column `f` `[B, L + h]` or empty): the model with NeuralForecast's weights
/// and the batch.
pub(super) fn reference_case(class: &str, r: &serde_json::Value) -> (Box<dyn Model>, Batch) {
    let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let opts = &r["options"];
    let m = super::build(class, opts).unwrap();
    load(m.as_ref(), &names, &floats(r, "values"));
    let (l, h) = (opts["inputSize"].as_u64().unwrap() as usize, opts["h"].as_u64().unwrap() as usize);
    let (y, f) = (floats(r, "y"), floats(r, "f"));
    let b = y.len() / l;
    let batch = Batch {
        insample_y: Tensor::from_vec(y, &[b, l]),
        insample_mask: Tensor::ones(&[b, l]),
        hist_exog: None,
        futr_exog: (!f.is_empty()).then(|| Tensor::from_vec(f, &[b, l + h, 1])),
        stat_exog: None,
    };
    (m, batch)
}

/// `m` on `batch` against a reference from `scripts/nf_reference.py` with gradients: its eval-mode
/// output, its train-mode output (dropout 0), and the gradients of an MAE through the latter.
pub(super) fn assert_matches_reference(m: &dyn Model, batch: &Batch, r: &serde_json::Value) {
    assert_close(&forward(m, batch).to_vec(), &floats(r, "out_eval"));
    let train = m.forward(batch, &mut crate::nn::Ctx::train(&mut Rng::seed(0)));
    assert_close(&train.to_vec(), &floats(r, "out_train"));
    assert_grads_close(m, &train, r);
}

/// The gradients of the mean absolute error of `out` (a train-mode forward of `m`) against the
/// reference's `target`, against NeuralForecast's (`grads`, in parameter order).
pub(super) fn assert_grads_close(m: &dyn Model, out: &Tensor, r: &serde_json::Value) {
    let target = Tensor::from_vec(floats(r, "target"), out.shape());
    let grads = out.sub(&target).abs().mean_all().backward();
    let ours: Vec<f32> = named_params(m).iter().flat_map(|(n, p)| grads.get(p).unwrap_or_else(|| panic!("no gradient for {n}")).clone()).collect();
    assert_close(&ours, &floats(r, "grads"));
}

/// The error `build` gives for options it must refuse.
pub(super) fn error(class: &str, opts: serde_json::Value) -> crate::Error {
    super::build(class, &opts).err().unwrap_or_else(|| panic!("{class} {opts} should be refused"))
}

/// h 4, inputSize 8, plus `extra`: the smallest options a constructor-error test varies.
pub(super) fn base(extra: serde_json::Value) -> serde_json::Value {
    let mut o = serde_json::json!({"h": 4, "inputSize": 8});
    o.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    o
}

/// Our forward output against NeuralForecast's, to f32 rounding.
pub(super) fn assert_close(ours: &[f32], theirs: &[f32]) {
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "output {i}: ours {a}, NeuralForecast {b}");
    }
}

#[test]
fn parameter_counts_match_neuralforecast() {
    // From ../shared/reference: AirPassengers (h 12, input 24), sunspots (h 24, input 120), M3 (h 18, input 36).
    for (class, h, l, want) in [
        ("MLP", 12, 24, 1_087_500),
        ("NHITS", 12, 24, 2_437_725),
        ("MLP", 24, 120, 1_198_104),
        ("NHITS", 24, 120, 2_694_546),
        ("MLP", 18, 36, 1_105_938),
        ("NHITS", 18, 36, 2_473_611),
        ("LSTM", 12, 24, 215_809),
        ("LSTM", 18, 36, 215_809),
        // NeuralForecast counts each encoder layer's fixed attention scale 1/√d_k as a
        // (non-trainable) parameter; ours is a constant: 3 layers → 3 fewer.
        ("PatchTST", 12, 24, 404_623 - 3),
        ("PatchTST", 18, 36, 409_365 - 3),
        ("RNN", 12, 24, 66_433),
        ("GRU", 12, 24, 388_857),
        ("TCN", 12, 24, 148_909),
        ("BiTCN", 12, 24, 6013),
        ("TimesNet", 12, 24, 4_688_645),
        ("TimesNet", 18, 36, 4_689_743),
    ] {
        let m = build(class, &json!({"h": h, "inputSize": l})).unwrap();
        assert_eq!(param_count(m.as_ref()), want, "{class} h={h} L={l}");
    }
}

/// Options that exercise each class's branches; every registered class must appear here.
pub(crate) fn sample_options() -> Vec<(&'static str, serde_json::Value)> {
    let exog = json!({"histExogList": ["a", "b"], "futrExogList": ["c"], "statExogList": ["s"]});
    let with = |base: serde_json::Value, extra: &serde_json::Value| {
        let mut v = base;
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    vec![
        ("MLP", json!({"h": 5, "inputSize": 8, "hiddenSize": 16, "numLayers": 3})),
        ("MLP", with(json!({"h": 5, "inputSize": 8, "hiddenSize": 16, "scalerType": "revin", "loss": {"type": "MQLoss"}}), &exog)),
        ("NHITS", json!({"h": 12, "inputSize": 24})),
        ("NHITS", with(json!({"h": 5, "inputSize": 9, "mlpUnits": [[8, 6], [6, 4], [4, 4]], "dropoutProbTheta": 0.1, "activation": "PReLU"}), &exog)),
        ("LSTM", json!({"h": 12})),
        ("LSTM", with(json!({"h": 9, "inputSize": 6, "encoderHiddenSize": 8, "encoderNLayers": 3, "encoderBias": false, "decoderLayers": 3, "decoderActivation": "PReLU", "decoderHiddenSize": 5, "loss": {"type": "DistributionLoss", "distribution": "StudentT"}}), &exog)),
        ("LSTM", json!({"h": 2, "inputSize": 6, "encoderHiddenSize": 8, "decoderLayers": 1})),
        ("RNN", json!({"h": 12})),
        ("RNN", with(json!({"h": 9, "inputSize": 6, "encoderHiddenSize": 8, "encoderNLayers": 3, "encoderActivation": "relu", "encoderBias": false, "decoderLayers": 3, "decoderHiddenSize": 5, "contextSize": 10}), &exog)),
        ("GRU", json!({"h": 12})),
        ("GRU", with(json!({"h": 2, "inputSize": 6, "encoderHiddenSize": 8, "decoderLayers": 1, "encoderActivation": "tanh", "loss": {"type": "MQLoss"}}), &exog)),
        ("PatchTST", json!({"h": 12, "inputSize": 24})),
        ("NBEATS", json!({"h": 12, "inputSize": 24})),
        ("NBEATS", json!({"h": 5, "inputSize": 9, "mlpUnits": [[8, 6], [6, 4]], "activation": "PReLU", "basis": "spline", "nBasis": 4, "nBlocks": [2, 1, 2], "sharedWeights": true, "loss": {"type": "MQLoss"}})),
        ("NBEATSx", with(json!({"h": 5, "inputSize": 9, "mlpUnits": [[8, 6], [6, 4]], "dropoutProbTheta": 0.1, "activation": "PReLU", "stackTypes": ["identity", "exogenous", "seasonality"]}), &exog)),
        ("PatchTST", json!({"h": 3, "inputSize": 13, "hiddenSize": 8, "nHeads": 2, "linearHiddenSize": 6, "patchLen": 4, "stride": 3, "revinAffine": true, "learnPosEmbed": false})),
        ("PatchTST", json!({"h": 3, "inputSize": 13, "hiddenSize": 8, "nHeads": 2, "linearHiddenSize": 6, "patchLen": 4, "stride": 3, "resAttention": false, "attnDropout": 0.2})),
        ("MLPMultivariate", json!({"h": 12, "inputSize": 24, "nSeries": 1})),
        ("MLPMultivariate", with(json!({"h": 5, "inputSize": 8, "nSeries": 3, "hiddenSize": 16, "loss": {"type": "MQLoss"}}), &exog)),
        ("TSMixer", json!({"h": 12, "inputSize": 24, "nSeries": 2})),
        ("TSMixer", json!({"h": 5, "inputSize": 8, "nSeries": 3, "nBlock": 3, "ffDim": 4, "revin": false, "loss": {"type": "MQLoss"}})),
        ("TSMixerx", json!({"h": 12, "inputSize": 24, "nSeries": 1})),
        ("TSMixerx", with(json!({"h": 5, "inputSize": 8, "nSeries": 3, "ffDim": 4, "loss": {"type": "MQLoss"}}), &exog)),
        ("TSMixerx", json!({"h": 5, "inputSize": 8, "nSeries": 2, "ffDim": 6, "futrExogList": ["c"], "revin": false})),
        ("TiDE", json!({"h": 12, "inputSize": 24})),
        ("TiDE", with(json!({"h": 5, "inputSize": 8, "hiddenSize": 16, "decoderOutputDim": 4, "temporalDecoderDim": 6, "numEncoderLayers": 2, "numDecoderLayers": 3, "loss": {"type": "MQLoss"}}), &exog)),
        ("TiDE", json!({"h": 5, "inputSize": 8, "hiddenSize": 8, "layernorm": false, "dropout": 0.0, "futrExogList": ["c"], "scalerType": "revin"})),
        ("DeepNPTS", json!({"h": 12, "inputSize": 24})),
        ("DeepNPTS", with(json!({"h": 5, "inputSize": 8, "hiddenSize": 16, "nLayers": 3, "loss": {"type": "MSE"}}), &exog)),
        ("DeepNPTS", json!({"h": 5, "inputSize": 8, "batchNorm": false, "dropout": 0.0, "histExogList": ["a"]})),

        ("DLinear", json!({"h": 12, "inputSize": 24})),
        ("DLinear", json!({"h": 5, "inputSize": 8, "movingAvgWindow": 11, "scalerType": "revin", "loss": {"type": "MQLoss"}})),
        ("NLinear", json!({"h": 12, "inputSize": 24})),
        ("NLinear", json!({"h": 5, "inputSize": 8, "loss": {"type": "DistributionLoss", "distribution": "StudentT"}})),
        ("TimesNet", json!({"h": 4, "inputSize": 8, "hiddenSize": 8, "convHiddenSize": 6, "topK": 2, "numKernels": 2})),
        ("TimesNet", json!({"h": 3, "inputSize": 9, "hiddenSize": 6, "convHiddenSize": 4, "topK": 3, "numKernels": 3, "encoderLayers": 1, "futrExogList": ["c"], "scalerType": "revin", "loss": {"type": "MQLoss"}})),
        ("VanillaTransformer", json!({"h": 12, "inputSize": 24})),
        ("VanillaTransformer", json!({"h": 5, "inputSize": 9, "hiddenSize": 10, "nHead": 3, "convHiddenSize": 6, "encoderLayers": 3, "decoderLayers": 2, "activation": "relu", "decoderInputSizeMultiplier": 0.3, "futrExogList": ["c"], "loss": {"type": "MQLoss"}})),
        ("TCN", json!({"h": 12})),
        ("TCN", with(json!({"h": 30, "inputSize": 6, "kernelSize": 3, "dilations": [1, 4, 2], "encoderHiddenSize": 8, "encoderActivation": "PReLU", "decoderLayers": 1, "loss": {"type": "MQLoss"}}), &exog)),
        ("BiTCN", json!({"h": 12, "inputSize": 24})),
        ("BiTCN", with(json!({"h": 5, "inputSize": 9, "hiddenSize": 4, "dropout": 0.1, "loss": {"type": "MQLoss"}}), &exog)),
        ("BiTCN", json!({"h": 3, "inputSize": 2, "futrExogList": ["c"]})),
        ("Informer", json!({"h": 12, "inputSize": 24})),
        ("Informer", json!({"h": 5, "inputSize": 9, "hiddenSize": 10, "nHead": 3, "convHiddenSize": 6, "factor": 2, "encoderLayers": 3, "decoderLayers": 2, "activation": "relu", "decoderInputSizeMultiplier": 0.3, "futrExogList": ["c"], "loss": {"type": "MQLoss"}})),
        ("Informer", json!({"h": 3, "inputSize": 2, "encoderLayers": 3, "distil": false, "hiddenSize": 8, "nHead": 2})),
        ("Autoformer", json!({"h": 12, "inputSize": 24})),
        ("Autoformer", json!({"h": 5, "inputSize": 9, "hiddenSize": 10, "nHead": 3, "convHiddenSize": 6, "factor": 2, "encoderLayers": 3, "decoderLayers": 2, "activation": "relu", "decoderInputSizeMultiplier": 0.3, "movingAvgWindow": 5, "futrExogList": ["c"], "loss": {"type": "MQLoss"}})),
        ("Autoformer", json!({"h": 3, "inputSize": 4, "hiddenSize": 8, "nHead": 2, "factor": 1, "dropout": 0.0})),
        ("FEDformer", json!({"h": 12, "inputSize": 24})),
        ("FEDformer", json!({"h": 5, "inputSize": 40, "hiddenSize": 16, "convHiddenSize": 6, "modes": 8, "encoderLayers": 3, "decoderLayers": 2, "activation": "relu", "decoderInputSizeMultiplier": 0.6, "movingAvgWindow": 5, "futrExogList": ["c"], "loss": {"type": "MQLoss"}})),
        ("FEDformer", json!({"h": 3, "inputSize": 4, "hiddenSize": 8, "modeSelect": "low", "dropout": 0.0})),
        ("iTransformer", json!({"h": 12, "inputSize": 24, "nSeries": 2})),
        ("iTransformer", json!({"h": 5, "inputSize": 8, "nSeries": 3, "hiddenSize": 8, "nHeads": 3, "eLayers": 1, "dFf": 6, "useNorm": false, "futrExogList": ["c"], "loss": {"type": "MQLoss"}})),
        ("DeepAR", json!({"h": 12})),
        ("DeepAR", json!({"h": 3, "inputSize": 5, "lstmHiddenSize": 6, "lstmNLayers": 1, "trajectorySamples": 7})),
        ("DeepAR", with(json!({"h": 4, "inputSize": 6, "hTrain": 3, "lstmHiddenSize": 8, "lstmNLayers": 3, "decoderHiddenLayers": 2, "decoderHiddenSize": 5, "decoderActivation": "PReLU", "loss": {"type": "MQLoss"}, "validLoss": {"type": "MQLoss"}}), &exog)),
        ("StemGNN", json!({"h": 12, "inputSize": 24, "nSeries": 2})),
        ("StemGNN", json!({"h": 5, "inputSize": 8, "nSeries": 3, "multiLayer": 2, "dropoutRate": 0.1, "leakyRate": 0.1, "loss": {"type": "MQLoss"}})),
        ("StemGNN", json!({"h": 2, "inputSize": 3, "nSeries": 1, "multiLayer": 1})),
        ("TFT", json!({"h": 12, "inputSize": 24})),
        ("TimeLLM", json!({"h": 4, "inputSize": 20, "llm": super::timellm::TINY, "dLlm": 32, "dFf": 8, "dModel": 8, "nHeads": 2})),
        ("TimeLLM", json!({"h": 4, "inputSize": 20, "llm": concat!(env!("CARGO_MANIFEST_DIR"), "/src/llm/tiny_llama_hf"), "dLlm": 24, "dFf": 8, "dModel": 8, "nHeads": 2})),
        ("TimeLLM", json!({"h": 4, "inputSize": 20, "llm": super::timellm::TINY_GPT2, "dLlm": 24, "dFf": 8, "dModel": 8, "nHeads": 2})),
        ("TimeLLM", json!({"h": 3, "inputSize": 9, "llm": super::timellm::TINY, "dLlm": 32, "dFf": 4, "patchLen": 4, "stride": 2, "topK": 3, "promptPrefix": "Sales.", "loss": {"type": "MSE"}, "scalerType": "revin"})),
        ("TFT", with(json!({"h": 4, "inputSize": 6, "hiddenSize": 8, "nHead": 2, "nRnnLayers": 2, "loss": {"type": "MQLoss"}}), &exog)),
        ("TFT", with(json!({"h": 3, "inputSize": 5, "hiddenSize": 6, "nHead": 3, "rnnType": "gru", "oneRnnInitialState": true, "nRnnLayers": 2, "grnActivation": "SELU", "attnDropout": 0.2}), &json!({"statExogList": ["s", "t"]}))),
    ]
}

#[test]
fn footprint_counts_every_weight() {
    let samples = sample_options();
    for class in classes() {
        assert!(samples.iter().any(|(c, _)| *c == class), "add {class} to sample_options");
    }
    for (class, opts) in samples {
        let config = configure_class(class, &opts).unwrap();
        config.prepare().unwrap();
        let m = config.build();
        let buffers: usize = crate::nn::named_buffers(m.as_ref()).iter().map(|(_, t)| t.numel()).sum();
        assert_eq!(config.footprint().params, (param_count(m.as_ref()) + buffers) as f64, "{class} {opts}");
        assert!(config.footprint().per_window > 0.0);
        assert_eq!(m.options_json(), config.options_json());
        assert_eq!(m.class_name(), class);
        let c = config.common();
        let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
        let (y, per_step) = match c.n_series {
            Some(n) => (forward(m.as_ref(), &mv_batch(2, c.input_size, c.h, n, nx, nf, ns, 1)), n * c.loss().outputs()),
            None => (forward(m.as_ref(), &batch(2, c.input_size, c.h, nx, nf, ns, 1)), c.loss().outputs()),
        };
        // A recurrent model's forward is a training step's: the last hTrain one-step forecasts.
        let steps = m.recurrence().map_or(c.h, |r| r.h_train);
        assert_eq!(y.shape(), &[2, steps, per_step], "{class} {opts}");
    }
}

#[test]
fn forward_shapes_with_exogenous_and_quantiles() {
    let opts = json!({
        "h": 5, "inputSize": 8, "hiddenSize": 16, "mlpUnits": [[8, 8], [8, 8], [8, 8]],
        "histExogList": ["a", "b"], "futrExogList": ["c"], "statExogList": ["s"],
        "loss": {"type": "MQLoss", "level": [80, 90]}
    });
    for class in ["MLP", "NHITS", "LSTM"] {
        let mut o = opts.clone();
        let obj = o.as_object_mut().unwrap();
        match class {
            "MLP" => {
                obj.remove("mlpUnits");
            }
            "NHITS" => {
                obj.remove("hiddenSize");
            }
            _ => {
                obj.remove("mlpUnits");
                obj.remove("hiddenSize");
                obj.insert("encoderHiddenSize".into(), json!(8));
            }
        }
        let m = build(class, &o).unwrap();
        let y = forward(m.as_ref(), &batch(3, 8, 5, 2, 1, 1, 1));
        assert_eq!(y.shape(), &[3, 5, 5], "{class}");
    }
}

#[test]
fn interpolation_matches_pytorch() {
    // F.interpolate(torch.tensor([[[1., 2., 4.]]]), size=6, mode='linear')
    let m = Tensor::from_vec(interpolation_matrix(3, 6, true), &[3, 6]);
    let y = Tensor::from_vec(vec![1.0, 2.0, 4.0], &[1, 3]).matmul(&m).to_vec();
    assert_eq!(y, vec![1.0, 1.25, 1.75, 2.5, 3.5, 4.0]);
    // mode='nearest'
    let m = Tensor::from_vec(interpolation_matrix(3, 6, false), &[3, 6]);
    assert_eq!(Tensor::from_vec(vec![1.0, 2.0, 4.0], &[1, 3]).matmul(&m).to_vec(), vec![1.0, 1.0, 2.0, 2.0, 4.0, 4.0]);
}

#[test]
fn grad_through_tiny_models() {
    for (class, opts) in [
        ("MLP", json!({"h": 3, "inputSize": 6, "hiddenSize": 4, "histExogList": ["x"], "futrExogList": ["f"]})),
        ("NHITS", json!({"h": 3, "inputSize": 6, "mlpUnits": [[4, 4], [4, 4], [4, 4]], "histExogList": ["x"], "futrExogList": ["f"], "activation": "Tanh"})),
        ("LSTM", json!({"h": 3, "inputSize": 6, "encoderHiddenSize": 4, "decoderHiddenSize": 4, "histExogList": ["x"], "futrExogList": ["f"]})),
        ("LSTM", json!({"h": 8, "inputSize": 6, "encoderHiddenSize": 4, "decoderHiddenSize": 4, "histExogList": ["x"], "futrExogList": ["f"]})),
        ("TCN", json!({"h": 3, "inputSize": 6, "kernelSize": 3, "dilations": [1, 2], "encoderHiddenSize": 4, "decoderHiddenSize": 4, "encoderActivation": "Tanh", "histExogList": ["x"], "futrExogList": ["f"]})),
        ("BiTCN", json!({"h": 3, "inputSize": 6, "hiddenSize": 3, "histExogList": ["x"], "futrExogList": ["f"]})),
    ] {
        let h = opts["h"].as_u64().unwrap() as usize;
        let b = batch(2, 6, h, 1, 1, 0, 2);
        let m = build(class, &opts).unwrap();
        let (hist, futr) = (b.hist_exog.clone().unwrap(), b.futr_exog.clone().unwrap());
        check_gradients(
            class,
            |x| {
                let bb = Batch {
                    insample_y: x[0].clone(),
                    insample_mask: b.insample_mask.clone(),
                    hist_exog: Some(x[1].clone()),
                    futr_exog: Some(x[2].clone()),
                    stat_exog: None,
                };
                forward(m.as_ref(), &bb)
            },
            &[b.insample_y.clone(), hist, futr],
        );
    }
}

#[test]
fn same_seed_same_initial_weights() {
    let w = |seed: u64| {
        let m = build("NHITS", &json!({"h": 4, "inputSize": 8, "randomSeed": seed, "mlpUnits": [[8, 8], [8, 8], [8, 8]]})).unwrap();
        crate::nn::named_params(m.as_ref()).into_iter().flat_map(|(_, t)| t.to_vec()).collect::<Vec<f32>>()
    };
    assert_eq!(w(3), w(3));
    assert_ne!(w(3), w(4));
}

#[test]
fn option_errors_name_the_option() {
    let e = build("NHITS", &json!({"h": 12, "inputSize": 24, "inputSzie": 3})).err().unwrap();
    assert_eq!(e.kind, crate::ErrorKind::Type);
    assert!(e.message.contains("'inputSzie'") && e.message.contains("did you mean 'inputSize'"), "{e}");
    let e = build("MLP", &json!({"h": 12, "inputSize": "24"})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Type && e.message.contains("'inputSize'"), "{e}");
    let e = build("MLP", &json!({"h": 0, "inputSize": 24})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("'h'"), "{e}");
    let e = build("MLP", &json!({"inputSize": 24})).err().unwrap();
    assert!(e.message.contains("'h'"), "{e}");
    // A typo of a required option names the typo, not only the missing option.
    let e = build("NHITS", &json!({"h": 12, "imputSize": 24})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Type && e.message.contains("unknown option 'imputSize' (did you mean 'inputSize'?)"), "{e}");
    let e = build("MLP", &json!({"h": 1, "inputSize": 2, "learningRate": -1})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("learningRate"), "{e}");
    let e = build("MLP", &json!({"h": 1, "inputSize": 2, "scalerType": "zscore"})).err().unwrap();
    assert!(e.message.contains("scalerType"), "{e}");
    let e = build("NHITS", &json!({"h": 1, "inputSize": 2, "nPoolKernelSize": [2, 2]})).err().unwrap();
    assert!(e.message.contains("nPoolKernelSize"), "{e}");
    let e = build("AutoTheta", &json!({"h": 1, "inputSize": 2})).err().unwrap();
    assert!(e.message.contains("NHITS"), "{e}");
}

#[test]
fn capability_flags_refuse_exogenous_lists_for_every_model() {
    // PatchTST, as in NeuralForecast, takes no exogenous input of any kind.
    for (option, kind) in [("futrExogList", "future"), ("histExogList", "historical"), ("statExogList", "static")] {
        let e = build("PatchTST", &json!({"h": 4, "inputSize": 16, option: ["x"]})).err().unwrap();
        assert_eq!(e.kind, crate::ErrorKind::Type);
        assert!(e.message.contains(&format!("PatchTST does not support {kind} exogenous variables")) && e.message.contains(option), "{e}");
        // RevIN wraps the model after the check: same refusal.
        assert!(build("PatchTST", &json!({"h": 4, "inputSize": 16, "scalerType": "revin", option: ["x"]})).is_err());
        // Models whose flags are set accept the list.
        for class in ["MLP", "NHITS", "LSTM"] {
            let m = build(class, &json!({"h": 4, "inputSize": 8, option: ["x"]})).unwrap();
            let caps = m.capabilities();
            assert!(caps.futr_exog && caps.hist_exog && caps.stat_exog, "{class}");
        }
    }
    assert!(build("PatchTST", &json!({"h": 4, "inputSize": 16, "futrExogList": []})).is_ok());
}

#[test]
fn nhits_mlp_units_must_chain() {
    let e = build("NHITS", &json!({"h": 4, "inputSize": 8, "mlpUnits": [[8, 16], [8, 8]]})).err().unwrap();
    assert_eq!(e.kind, crate::ErrorKind::Range);
    assert!(e.message.contains("'mlpUnits': layer 1 takes 8 inputs but layer 0 gives 16 outputs"), "{e}");
    // Chained sizes of any widths build and run.
    let m = build("NHITS", &json!({"h": 4, "inputSize": 8, "mlpUnits": [[8, 16], [16, 4]]})).unwrap();
    assert_eq!(forward(m.as_ref(), &batch(2, 8, 4, 0, 0, 0, 1)).shape(), &[2, 4, 1]);
}

#[test]
fn valid_loss_pairs_are_checked_at_construction() {
    let mq = json!({"type": "MQLoss", "level": [80]});
    let normal = json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80]});
    let e = build("MLP", &json!({"h": 2, "inputSize": 4, "loss": mq, "validLoss": {"type": "MAE"}})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Type && e.message.contains("validLoss"), "{e}");
    let e = build("MLP", &json!({"h": 2, "inputSize": 4, "validLoss": normal})).err().unwrap();
    assert!(e.message.contains("not possible when using loss=MAE"), "{e}");
    assert!(build("MLP", &json!({"h": 2, "inputSize": 4, "loss": normal, "validLoss": {"type": "MAE"}})).is_ok());
    assert!(build("MLP", &json!({"h": 2, "inputSize": 4, "loss": normal, "validLoss": mq})).is_ok());
}

#[test]
fn validate_fills_in_defaults() {
    let v = validate("NHITS", &json!({"h": 12, "inputSize": 24})).unwrap();
    assert_eq!(v["numLrDecays"], json!(3));
    assert_eq!(v["nFreqDownsample"], json!([4, 2, 1]));
    assert_eq!(v["loss"], json!({"type": "MAE"}));
}

#[test]
fn grad_through_patchtst() {
    // Evaluation mode (BatchNorm on running statistics) so the function of the input is fixed;
    // RevIN off, because it detaches its statistics (as NeuralForecast does), which a
    // finite-difference check would rightly flag.
    // Both attention paths: residual (scores carried between layers) and the fused op.
    let b = batch(3, 12, 4, 0, 0, 0, 5);
    for res in [false, true] {
        let m = build("PatchTST", &json!({"h": 4, "inputSize": 12, "hiddenSize": 8, "nHeads": 2, "linearHiddenSize": 8, "patchLen": 4, "stride": 2, "encoderLayers": 2, "revin": false, "resAttention": res})).unwrap();
        check_gradients(
            "PatchTST",
            |x| forward(m.as_ref(), &Batch { insample_y: x[0].clone(), insample_mask: b.insample_mask.clone(), hist_exog: None, futr_exog: None, stat_exog: None }),
            &[b.insample_y.clone()],
        );
    }
    let m = build("PatchTST", &json!({"h": 4, "inputSize": 12, "hiddenSize": 8, "nHeads": 2, "linearHiddenSize": 8, "patchLen": 4, "stride": 2, "encoderLayers": 2, "revin": false})).unwrap();
    // Training mode runs with batch statistics and updates the running ones.
    let mut rng = Rng::seed(1);
    let y = m.forward(&b, &mut Ctx::train(&mut rng));
    assert_eq!(y.shape(), &[3, 4, 1]);
    assert!(!crate::nn::named_buffers(m.as_ref()).is_empty());
}

#[test]
fn sizes_beyond_the_memory_limit_are_refused_before_allocating() {
    // Each would need terabytes; a failed allocation would abort the process.
    for (key, value) in [("hiddenSize", 200_000u64), ("h", 1_000_000_000), ("windowsBatchSize", 1_000_000_000)] {
        let mut opts = json!({"h": 12, "inputSize": 24});
        opts[key] = json!(value);
        let t = std::time::Instant::now();
        let e = build("MLP", &opts).err().unwrap();
        assert!(t.elapsed() < std::time::Duration::from_millis(100), "{key}: {:?}", t.elapsed());
        assert_eq!(e.kind, crate::ErrorKind::Range, "{e}");
        assert!(e.message.contains(&format!("{key}={value}")) && e.message.contains("over the limit") && e.message.contains("GB"), "{e}");
    }
    let e = build("MLP", &json!({"h": 12, "inputSize": 24, "hiddenSize": 1e20})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("hiddenSize"), "{e}");
    let e = build("NHITS", &json!({"h": 12, "inputSize": 24, "mlpUnits": [[9007199254740993u64, 2], [2, 2], [2, 2]]})).err().unwrap();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("mlpUnits"), "{e}");
}

#[test]
fn validation_allocates_no_weights() {
    // ~50M parameters (200 MB): building them takes a while, validating them must not.
    let opts = json!({"h": 12, "inputSize": 24, "hiddenSize": 7000});
    let t = std::time::Instant::now();
    for _ in 0..100 {
        validate("MLP", &opts).unwrap();
    }
    assert!(t.elapsed() < std::time::Duration::from_millis(200), "{:?} for 100 validations", t.elapsed());
    assert!(configure_class("MLP", &opts).unwrap().footprint().params > 4.9e7);
}

#[test]
fn memory_limit_counts_params_batches_and_data_dependent_windows() {
    let config = configure_class("MLP", &json!({"h": 12, "inputSize": 24, "hiddenSize": 256, "windowsBatchSize": 64})).unwrap();
    let (params, batch) = memory::training_bytes(config.as_ref());
    // Weights, gradients and Adam's two moments, as f32.
    assert_eq!(params, config.footprint().params * 16.0);
    let enough = memory::Limit { bytes: params + batch, source: "test".into() };
    memory::check_options(config.as_ref(), &enough).unwrap();
    let short = memory::Limit { bytes: params + batch - 1.0, source: "test".into() };
    let e = memory::check_options(config.as_ref(), &short).unwrap_err();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("hiddenSize=256") && e.message.contains("windowsBatchSize=64"), "{e}");
    memory::check_batch(config.as_ref(), "validation", 10, false, &enough).unwrap();
    // Inference counts the weights twice (their transposed copies for products of many rows).
    let weights_only = memory::Limit { bytes: config.footprint().params * 8.0 - 1.0, source: "test".into() };
    let e = memory::check_batch(config.as_ref(), "predict", 1, false, &weights_only).unwrap_err();
    assert!(e.message.contains("predict"), "{e}");
    let e = memory::check_batch(config.as_ref(), "validation", 1_000_000, false, &enough).unwrap_err();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("validation") && e.message.contains("1000000 windows"), "{e}");
}

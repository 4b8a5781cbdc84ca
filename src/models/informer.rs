//! Informer as NeuralForecast 3.3 builds it (Zhou et al., "Informer: Beyond Efficient Transformer
//! for Long Sequence Time-Series Forecasting"): VanillaTransformer's encoder-decoder with
//! ProbSparse attention, and self-attention distilling between the encoder layers (a circular
//! convolution, BatchNorm, ELU and a stride-2 max-pool halve the sequence each layer passes on).
//!
//! ProbSparse attention computes full attention for the `u = factor·⌈ln L_Q⌉` queries whose sampled
//! scores are the most peaked (max minus mean over `factor·⌈ln L_K⌉` random keys per query); the
//! other queries keep a lazy context, the mean of the values, or their running sum when masked.

use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::vanillatransformer::EncoderDecoderOptions;
use super::{Capabilities, Footprint, Spec};
use crate::error::Result;
use crate::nn::transformer::{ConvLayer, EncoderDecoder, InnerAttention};
use crate::nn::Ctx;
use crate::rng::Rng;
use crate::tensor::{no_grad, Tensor};

/// Informer's own options: VanillaTransformer's, the ProbSparse factor and distilling.
#[derive(Clone, Debug)]
pub struct InformerOptions {
    base: EncoderDecoderOptions,
    factor: usize,
    distil: bool,
}

/// `factor·⌈ln n⌉`, at most `n`: the sampled keys per query (n = L_K) or the queries attended
/// in full (n = L_Q).
fn sample_count(factor: usize, n: usize) -> usize {
    (factor * (n as f64).ln().ceil() as usize).min(n)
}

/// `ProbAttention`. NeuralForecast builds it with `attention_dropout` but never applies it.
pub struct ProbAttention {
    /// The decoder's self-attention: each query sees keys up to its own position, and the lazy
    /// context is the running sum of the values.
    pub masked: bool,
    pub factor: usize,
}

impl ProbAttention {
    /// Each (batch, head)'s `u` queries with the largest sparsity measurement
    /// `M = max_j(q·k_j) − Σ_j(q·k_j) / L_K` over the sampled keys `keys[i·U..(i+1)·U]` of query i
    /// (shared by every batch item and head, as NeuralForecast's one `torch.randint`). The
    /// choice is a constant of the graph: no gradient flows through it.
    fn top_queries(q: &Tensor, k: &Tensor, keys: &[usize], u: usize) -> Vec<usize> {
        let (lq, e, lk) = (q.dim(2), q.dim(3), k.dim(2));
        let sampled = keys.len() / lq;
        let (qd, kd) = (q.data(), k.data());
        let mut top = vec![0usize; qd.len() / (lq * e) * u];
        top.par_chunks_mut(u.max(1)).enumerate().with_min_len(crate::kernels::inline::min_len()).for_each(|(g, picked)| {
            let (qg, kg) = (&qd[g * lq * e..(g + 1) * lq * e], &kd[g * lk * e..(g + 1) * lk * e]);
            let m: Vec<f32> = (0..lq)
                .map(|i| {
                    let qi = &qg[i * e..(i + 1) * e];
                    let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
                    for &j in &keys[i * sampled..(i + 1) * sampled] {
                        let s: f32 = qi.iter().zip(&kg[j * e..(j + 1) * e]).map(|(a, b)| a * b).sum();
                        max = max.max(s);
                        sum += s;
                    }
                    max - sum / lk as f32
                })
                .collect();
            let mut order: Vec<usize> = (0..lq).collect();
            order.sort_by(|&a, &b| m[b].total_cmp(&m[a]).then(a.cmp(&b)));
            picked.copy_from_slice(&order[..u]);
        });
        top
    }
}

impl InnerAttention for ProbAttention {
    /// NeuralForecast's `AttentionLayer` views the `[B, H, L, E]` context as `[B, L, H·E]`
    /// without moving the heads back behind the positions (full attention returns `[B, L, H, E]`),
    /// so each output position reads a slice of one head's rows. Kept, to forecast as NF does.
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (b, heads, lq, e) = (q.dim(0), q.dim(1), q.dim(2), q.dim(3));
        self.context(q, k, v, ctx).reshape(&[b, lq, heads, e]).permute(&[0, 2, 1, 3])
    }
}

impl ProbAttention {
    /// The paper's ProbSparse context `[B, H, L_Q, E]`.
    pub fn context(&self, q: &Tensor, k: &Tensor, v: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (b, heads, lq, e) = (q.dim(0), q.dim(1), q.dim(2), q.dim(3));
        let lk = k.dim(2);
        let (sampled, u) = (sample_count(self.factor, lk), sample_count(self.factor, lq));
        // Drawn in evaluation too, as NeuralForecast does; prediction runs from a fixed seed.
        let keys: Vec<usize> = (0..lq * sampled).map(|_| ctx.rng.below(lk)).collect();
        let top = no_grad(|| Self::top_queries(q, k, &keys, u));

        let scale = 1.0 / (e as f32).sqrt();
        let mut scores = q.gather_rows(&top).matmul(&k.transpose(-1, -2)).mul_scalar(scale);
        let context = if self.masked {
            // ProbMask: a selected query at position i sees keys 0..=i.
            let mut mask = vec![0.0f32; b * heads * u * lk];
            for (row, &i) in mask.chunks_mut(lk).zip(&top) {
                row[i + 1..].fill(f32::NEG_INFINITY);
            }
            scores = scores.add(&Tensor::from_vec(mask, &[b, heads, u, lk]));
            v.cumsum(2)
        } else {
            v.mean_axis(2, true).broadcast_to(&[b, heads, lq, e])
        };
        context.scatter_rows(&top, &scores.softmax().matmul(v))
    }
}

pub type Informer = EncoderDecoder<ProbAttention, ProbAttention, ProbAttention>;

impl Spec for InformerOptions {
    const CLASS: &'static str = "Informer";
    const DEFAULTS: Defaults = Defaults { max_steps: 5000, learning_rate: 1e-4, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = Informer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(InformerOptions {
            base: EncoderDecoderOptions::read(r)?,
            // NeuralForecast fails in forward with factor 0 (no key sampled).
            factor: r.usize_min("factor", 3, 1)?,
            distil: r.bool("distil", true)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        self.base.check(Self::CLASS, c)
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = self.base.to_json();
        m.extend(entries([("factor", json!(self.factor)), ("distil", json!(self.distil))]));
        m
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let s = self.base.sizes(c, outputs, self.distil);
        let (df, hf, cf) = (s.hidden as f64, s.heads as f64, s.conv_hidden as f64);
        // Per attention: projections, both contexts, the residual, norm and dropout masks, and
        // scores, mask and softmax of the u selected queries; per feed-forward its hidden layer
        // thrice; per distilling layer its pads, convolution, norm, ELU and pool.
        let attn = |lq: usize, lk: usize| 10.0 * lq as f64 * df + 3.0 * hf * sample_count(self.factor, lq) as f64 * lk as f64;
        let ffn = |n: usize| 3.0 * n as f64 * (cf + df);
        let (mut l, t) = (c.input_size, s.label_len + c.h);
        let mut per_window = 4.0 * (l + t) as f64 * df + t as f64 * outputs as f64;
        for i in 0..s.encoder_layers {
            per_window += attn(l, l) + ffn(l);
            if s.distil && i + 1 < s.encoder_layers {
                per_window += 8.0 * (l + 4) as f64 * df;
                l = ConvLayer::out_len(l);
            }
        }
        per_window += s.decoder_layers as f64 * (attn(t, t) + attn(t, l) + ffn(t));
        Footprint { params: s.params(), per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Informer {
        let factor = self.factor;
        let prob = |masked| move || ProbAttention { masked, factor };
        EncoderDecoder::new(self.base.sizes(c, outputs, self.distil), prob(false), prob(true), prob(false), rng)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{base, error, forward};
    use super::*;
    use crate::nn::{named_buffers, param_count};
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn parameter_counts_match_neuralforecast() {
        // NeuralForecast 3.3 (`sum(p.numel() for p in Informer(...).parameters())`), h 12,
        // inputSize 24. Its MQLoss holds the 5 quantiles as a (frozen) parameter; ours does not.
        for (opts, want) in [
            (json!({}), 341_985),
            (json!({"encoderLayers": 3, "distil": false}), 367_361),
            (json!({"hiddenSize": 8, "nHead": 2, "decoderLayers": 2, "futrExogList": ["a", "b", "c"], "loss": {"type": "MQLoss"}}), 4490 - 5),
            (json!({"hiddenSize": 10, "nHead": 3, "convHiddenSize": 6}), 2577),
        ] {
            let mut o = json!({"h": 12, "inputSize": 24});
            o.as_object_mut().unwrap().extend(opts.as_object().unwrap().clone());
            let m = super::super::build("Informer", &o).unwrap();
            assert_eq!(param_count(m.as_ref()), want, "{o}");
        }
        // The distilling layer's running statistics are saved with the weights, under NF's names.
        let m = super::super::build("Informer", &json!({"h": 12, "inputSize": 24})).unwrap();
        let names: Vec<String> = named_buffers(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["encoder.conv_layers.0.norm.running_mean", "encoder.conv_layers.0.norm.running_var"]);
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"decoderInputSizeMultiplier": 1.0}), "decoderInputSizeMultiplier"),
            (json!({"decoderInputSizeMultiplier": 0.95}), "decoderInputSizeMultiplier"),
            (json!({"decoderInputSizeMultiplier": 0.0}), "decoderInputSizeMultiplier"),
            (json!({"activation": "tanh"}), "activation"),
            (json!({"factor": 0}), "factor"),
            (json!({"nHead": 9, "hiddenSize": 8}), "nHead"),
            (json!({"histExogList": ["a"]}), "histExogList"),
            (json!({"statExogList": ["a"]}), "statExogList"),
        ] {
            let e = error("Informer", base(opts)).to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    /// Attention over per-head `[2, 2, L, 3]` inputs with NeuralForecast's shapes.
    fn qkv(lq: usize, lk: usize, seed: u64) -> Vec<Tensor> {
        let mut rng = Rng::seed(seed);
        vec![Tensor::randn(&[2, 2, lq, 3], &mut rng), Tensor::randn(&[2, 2, lk, 3], &mut rng), Tensor::randn(&[2, 2, lk, 3], &mut rng)]
    }

    #[test]
    fn prob_attention_is_full_attention_on_its_top_queries() {
        // factor 3, L 9: u = 9 (every query) and U = 9 keys sampled per query: masked, it is
        // causal softmax attention; unmasked, plain softmax attention.
        let t = qkv(9, 9, 3);
        for masked in [false, true] {
            let ours = ProbAttention { masked, factor: 3 }.context(&t[0], &t[1], &t[2], &mut Ctx::eval(&mut Rng::seed(0)));
            let mut s = t[0].matmul(&t[1].transpose(-1, -2)).mul_scalar(1.0 / 3f32.sqrt());
            if masked {
                let m: Vec<f32> = (0..81).map(|n| if n % 9 > n / 9 { f32::NEG_INFINITY } else { 0.0 }).collect();
                s = s.add(&Tensor::from_vec(m, &[1, 1, 9, 9]));
            }
            let full = s.softmax().matmul(&t[2]);
            for (a, b) in ours.to_vec().iter().zip(full.to_vec()) {
                assert!((a - b).abs() < 1e-5, "masked {masked}: {a} vs {b}");
            }
        }
        // factor 1, L_Q 12: u = 3 queries in full; the others are the mean of the values
        // (cross-attention to 5 keys) or their running sum (masked self-attention).
        let t = qkv(12, 5, 4);
        let out = ProbAttention { masked: false, factor: 1 }.context(&t[0], &t[1], &t[2], &mut Ctx::eval(&mut Rng::seed(0))).to_vec();
        let mean = t[2].mean_axis(2, true).to_vec();
        let lazy = (0..12).filter(|i| (0..3).all(|c| (out[i * 3 + c] - mean[c]).abs() < 1e-6)).count();
        assert_eq!(lazy, 12 - 3);
        let t = qkv(12, 12, 5);
        let out = ProbAttention { masked: true, factor: 1 }.context(&t[0], &t[1], &t[2], &mut Ctx::eval(&mut Rng::seed(0))).to_vec();
        let sums = t[2].cumsum(2).to_vec();
        let lazy = (0..12).filter(|i| (0..3).all(|c| (out[i * 3 + c] - sums[i * 3 + c]).abs() < 1e-5)).count();
        assert!(lazy >= 12 - 3, "{lazy}");
    }

    #[test]
    fn grad_prob_attention() {
        for (masked, lq, lk) in [(false, 12, 7), (true, 10, 10)] {
            check_gradients(
                "ProbAttention",
                |t| ProbAttention { masked, factor: 1 }.attend(&t[0], &t[1], &t[2], &mut Ctx::eval(&mut Rng::seed(1))),
                &qkv(lq, lk, 6),
            );
        }
    }

    #[test]
    fn grad_through_informer() {
        // Two distilled encoder layers, the masked decoder and a future exogenous column.
        let opts = json!({"h": 3, "inputSize": 10, "hiddenSize": 4, "nHead": 2, "convHiddenSize": 3, "factor": 1, "futrExogList": ["f"], "dropout": 0.0});
        let m = super::super::build("Informer", &opts).unwrap();
        let mut rng = Rng::seed(8);
        let (y, f) = (Tensor::randn(&[2, 10], &mut rng), Tensor::randn(&[2, 13, 1], &mut rng));
        let batch = |t: &[Tensor]| super::super::Batch { insample_y: t[0].clone(), insample_mask: Tensor::ones(&[2, 10]), hist_exog: None, futr_exog: Some(t[1].clone()), stat_exog: None };
        check_gradients("Informer", |t| forward(m.as_ref(), &batch(t)), &[y, f]);
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/informer_reference.py: two encoder layers with distilling, a future exogenous
        // column, factor 5 (every query attended in full, so the sampled keys cannot differ).
        let r: Value = serde_json::from_str(include_str!("informer_reference.json")).unwrap();
        let floats = |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<f32>>();
        let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let opts = json!({"h": 3, "inputSize": 8, "hiddenSize": 4, "nHead": 2, "convHiddenSize": 3, "factor": 5, "futrExogList": ["f"]});
        let m = super::super::build("Informer", &opts).unwrap();
        super::super::tests::load(m.as_ref(), &names, &floats("values"));
        let batch = super::super::Batch {
            insample_y: Tensor::from_vec(floats("y"), &[2, 8]),
            insample_mask: Tensor::ones(&[2, 8]),
            hist_exog: None,
            futr_exog: Some(Tensor::from_vec(floats("f"), &[2, 11, 1])),
            stat_exog: None,
        };
        super::super::tests::assert_close(&forward(m.as_ref(), &batch).to_vec(), &floats("out"));
    }

    #[test]
    fn distilling_halves_the_encoder_sequence() {
        let mut rng = Rng::seed(2);
        let conv = ConvLayer::new(4, &mut rng);
        for l in [2, 3, 9, 24] {
            let x = Tensor::randn(&[2, l, 4], &mut rng);
            assert_eq!(conv.forward(&x, &mut Ctx::train(&mut rng)).shape(), &[2, ConvLayer::out_len(l), 4], "L {l}");
        }
        // PyTorch: Conv1d(padding 2) then MaxPool1d(3, 2, 1) on 24, 9, 3 and 2 steps.
        assert_eq!([24, 9, 3, 2].map(ConvLayer::out_len), [13, 6, 3, 2]);
        let x = Tensor::randn(&[2, 7, 4], &mut rng);
        for train in [true, false] {
            check_gradients("ConvLayer", |t| conv.forward(&t[0], &mut Ctx::new(train, &mut Rng::seed(0))), &[x.clone()]);
        }
    }
}

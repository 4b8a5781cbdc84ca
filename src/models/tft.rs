//! TFT, the Temporal Fusion Transformer (Lim et al., "Temporal Fusion Transformers for
//! interpretable multi-horizon time series forecasting", 2021), as NeuralForecast 3.3 builds it.
//!
//! Every scalar input gets its own learned embedding (`value·vector + bias`). Static variables go
//! through a variable selection network (VSN) and four context GRNs: the VSN context `cs`, the
//! enrichment context `ce` and the recurrent encoder's initial state (`ch`, and `cc` for an LSTM);
//! without statics these are zeros. The history VSN selects among `[hist, futr[:L], target]` per
//! step, an LSTM (or GRU) encodes it from the static state, the future VSN feeds a second one that
//! starts from the encoder's final state; then a gated skip over the embeddings, static
//! enrichment, causal interpretable attention over all L + h steps, and on the last h steps a
//! gated skip, the position-wise GRN, a gated skip from the encoder and `Linear(hidden → outputs)`.
//!
//! Quirks kept from NeuralForecast:
//! - with no future exogenous variable, the last insample value repeated over L + h steps is the
//!   future input (a VSN over one variable);
//! - the static context GRNs always use ELU, whatever `grnActivation` says;
//! - the joint GRN of every VSN is built with a context projection even where no context is
//!   passed (the static VSN), and without dropout.
//!
//! Interpretability as NeuralForecast's: the forward records the variable selection weights
//! (static, past, future) and the attention probabilities, which a predict averages over its
//! windows (`forecast::explain`) for `featureImportances()` and `attentionWeights()` in JS.
//! Deviations: `grnActivation` must be one of NeuralForecast's names (NF silently falls back to
//! ELU for unknown ones) and 'GLU' is refused (NF fails on the first batch: it halves the width).

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::init;
use crate::nn::tft::{tft_layer_norm, ActivationFn, Glu, Grn, InterpretableAttention, VariableSelection};
use crate::nn::{join, Cell, Ctx, LayerNorm, Linear, Module, Recurrent, RecurrentState};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast's `get_activation_fn` names (`torch.nn.functional` with its defaults).
const GRN_ACTIVATIONS: [&str; 8] = ["ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "Sigmoid", "ELU", "GELU"];

fn activation_fn(name: &str) -> ActivationFn {
    match name {
        "ReLU" => |x| x.relu(),
        "Softplus" => |x| x.softplus(),
        "Tanh" => |x| x.tanh(),
        "SELU" => |x| x.elu(1.673_263_2).mul_scalar(1.050_701),
        "LeakyReLU" => |x| x.leaky_relu(0.01),
        "Sigmoid" => |x| x.sigmoid(),
        "GELU" => |x| x.gelu(),
        _ => elu,
    }
}

fn elu(x: &Tensor) -> Tensor {
    x.elu(1.0)
}

/// TFT's own options.
#[derive(Clone, Debug)]
pub struct TftOptions {
    hidden_size: usize,
    n_head: usize,
    attn_dropout: f64,
    dropout: f64,
    grn_activation: String,
    n_rnn_layers: usize,
    /// `"lstm"` or `"gru"` (NeuralForecast lowercases the option).
    rnn_type: String,
    one_rnn_initial_state: bool,
}

impl TftOptions {
    fn cell(&self) -> Cell {
        if self.rnn_type == "gru" {
            Cell::Gru
        } else {
            Cell::Lstm
        }
    }

    /// Static context GRNs: `cs`, `ce`, then the initial hidden states (one, or one per layer),
    /// and for an LSTM as many cell states.
    fn n_states(&self) -> usize {
        if self.one_rnn_initial_state {
            1
        } else {
            self.n_rnn_layers
        }
    }

    fn n_contexts(&self) -> usize {
        2 + self.n_states() * if self.cell() == Cell::Lstm { 2 } else { 1 }
    }
}

/// Input variables: statics, future (at least the dummy one), historic, and the past VSN's count.
fn variables(c: &CommonOptions) -> (usize, usize, usize, usize) {
    let (s, f, x) = (c.stat_exog_list.len(), c.futr_exog_list.len().max(1), c.hist_exog_list.len());
    (s, f, x, f + x + 1)
}

impl Spec for TftOptions {
    const CLASS: &'static str = "TFT";
    const DEFAULTS: Defaults = Defaults { scaler_type: "robust", inference_windows_batch_size: Some(1024), takes_exclude_insample_y: false, ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Tft;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let grn_activation = r.string("grnActivation", "ELU")?;
        if grn_activation == "GLU" {
            return Err(Error::range("TFT option 'grnActivation': 'GLU' is not supported: it halves the features it gets, so the next layer's input width no longer matches (NeuralForecast fails on the first batch)"));
        }
        if !GRN_ACTIVATIONS.contains(&grn_activation.as_str()) {
            return Err(Error::range(format!("TFT option 'grnActivation' must be one of {}, got '{grn_activation}'", GRN_ACTIVATIONS.join(", "))));
        }
        let rnn_type = r.string("rnnType", "lstm")?.to_lowercase();
        if rnn_type != "lstm" && rnn_type != "gru" {
            return Err(Error::range(format!("TFT option 'rnnType' must be 'lstm' or 'gru', got '{rnn_type}'")));
        }
        Ok(TftOptions {
            hidden_size: r.usize_min("hiddenSize", 128, 1)?,
            n_head: r.usize_min("nHead", 4, 1)?,
            attn_dropout: r.f64_in("attnDropout", 0.0, 0.0, 1.0, false)?,
            dropout: r.f64_in("dropout", 0.1, 0.0, 1.0, false)?,
            grn_activation,
            n_rnn_layers: r.usize_min("nRnnLayers", 1, 1)?,
            rnn_type,
            one_rnn_initial_state: r.bool("oneRnnInitialState", false)?,
        })
    }

    fn check(&self, _: &CommonOptions) -> Result<()> {
        if self.hidden_size % self.n_head != 0 {
            return Err(Error::range(format!("TFT option 'hiddenSize' ({}) must be divisible by 'nHead' ({})", self.hidden_size, self.n_head)));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hiddenSize", json!(self.hidden_size)),
            ("nHead", json!(self.n_head)),
            ("attnDropout", json!(self.attn_dropout)),
            ("dropout", json!(self.dropout)),
            ("grnActivation", json!(self.grn_activation)),
            ("nRnnLayers", json!(self.n_rnn_layers)),
            ("rnnType", json!(self.rnn_type)),
            ("oneRnnInitialState", json!(self.one_rnn_initial_state)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (s, f, x, past) = variables(c);
        let (hd, sf, ff, xf, pf) = (self.hidden_size as f64, s as f64, f as f64, x as f64, past as f64);
        let (l, h, layers) = (c.input_size as f64, c.h as f64, self.n_rnn_layers as f64);
        let grn = |ctx| Grn::params(hd, hd, None, ctx);
        let gate_norm = Glu::params(hd, hd) + 2.0 * hd;
        let rnn_gates = self.cell().gates() as f64 * hd;
        let rnn = layers * rnn_gates * (2.0 * hd + 2.0);
        let mut params = 2.0 * hd * (sf + ff + xf + 1.0);
        if s > 0 {
            params += VariableSelection::params(hd, sf) + self.n_contexts() as f64 * grn(false);
        }
        params += VariableSelection::params(hd, pf) + VariableSelection::params(hd, ff) + 2.0 * rnn + gate_norm;
        params += grn(true) + InterpretableAttention::params(hd, self.n_head as f64) + gate_norm + grn(false) + gate_norm;
        params += (hd + 1.0) * outputs as f64;
        // Per step: the embeddings and each variable's GRN (about 8 hidden-wide values each), the
        // joint GRN, the recurrent gates, the gated skips, enrichment and attention scores.
        let t = l + h;
        let per_window = l * pf * 10.0 * hd + t * ff * 10.0 * hd + layers * t * (rnn_gates + 3.0 * hd) + t * 40.0 * hd + 3.0 * self.n_head as f64 * t * t;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Tft {
        let (s, f, x, past) = variables(c);
        let hd = self.hidden_size;
        let (dropout, act) = (self.dropout as f32, activation_fn(&self.grn_activation));
        // NeuralForecast's construction order.
        let embedding = |n: usize, rng: &mut Rng| (n > 0).then(|| (init::xavier_normal(&[n, hd], hd, n, 1.0, rng), init::zeros(&[n, hd])));
        let stat_embedding = embedding(s, rng);
        let futr_embedding = embedding(f, rng).unwrap();
        let hist_embedding = embedding(x, rng);
        let tgt_embedding = embedding(1, rng).unwrap();
        let static_encoder = (s > 0).then(|| StaticEncoder {
            vsn: VariableSelection::new(hd, s, dropout, act, rng),
            // NeuralForecast builds these with the GRN's default activation, ELU.
            context_grns: (0..self.n_contexts()).map(|_| Grn::new(hd, hd, None, false, dropout, elu, rng)).collect(),
        });
        let cell = self.cell();
        let history_vsn = VariableSelection::new(hd, past, dropout, act, rng);
        let history_encoder = Recurrent::new(cell, hd, hd, self.n_rnn_layers, false, true, 0.0, rng);
        let future_encoder = Recurrent::new(cell, hd, hd, self.n_rnn_layers, false, true, 0.0, rng);
        let future_vsn = VariableSelection::new(hd, f, dropout, act, rng);
        let input_gate = Glu::new(hd, hd, rng);
        let enrichment_grn = Grn::new(hd, hd, None, true, dropout, act, rng);
        let attention = InterpretableAttention::new(hd, self.n_head, self.attn_dropout as f32, dropout, rng);
        let attention_gate = Glu::new(hd, hd, rng);
        let positionwise_grn = Grn::new(hd, hd, None, false, dropout, act, rng);
        let decoder_gate = Glu::new(hd, hd, rng);
        let output_adapter = Linear::new(hd, outputs, true, rng);
        Tft {
            input_size: c.input_size,
            h: c.h,
            hidden: hd,
            n_states: self.n_states(),
            stat_embedding,
            futr_embedding,
            hist_embedding,
            tgt_embedding,
            static_encoder,
            history_vsn,
            history_encoder,
            future_encoder,
            future_vsn,
            input_gate,
            input_gate_ln: tft_layer_norm(hd),
            enrichment_grn,
            attention,
            attention_gate,
            attention_ln: tft_layer_norm(hd),
            positionwise_grn,
            decoder_gate,
            decoder_ln: tft_layer_norm(hd),
            output_adapter,
        }
    }
}

/// `StaticCovariateEncoder`: the static VSN and the context GRNs.
pub struct StaticEncoder {
    vsn: VariableSelection,
    context_grns: Vec<Grn>,
}

impl Module for StaticEncoder {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.vsn.visit(&join(prefix, "vsn"), f);
        self.context_grns.visit(&join(prefix, "context_grns"), f);
    }
}

/// A variable's embedding vectors and biases, `[n, hidden]` each.
type Embedding = (Tensor, Tensor);

/// The TFT network.
pub struct Tft {
    input_size: usize,
    h: usize,
    hidden: usize,
    n_states: usize,
    stat_embedding: Option<Embedding>,
    futr_embedding: Embedding,
    hist_embedding: Option<Embedding>,
    tgt_embedding: Embedding,
    static_encoder: Option<StaticEncoder>,
    history_vsn: VariableSelection,
    history_encoder: Recurrent,
    future_encoder: Recurrent,
    future_vsn: VariableSelection,
    input_gate: Glu,
    input_gate_ln: LayerNorm,
    enrichment_grn: Grn,
    attention: InterpretableAttention,
    attention_gate: Glu,
    attention_ln: LayerNorm,
    positionwise_grn: Grn,
    decoder_gate: Glu,
    decoder_ln: LayerNorm,
    output_adapter: Linear,
}

/// `[.., n]` values → `[.., n, hidden]` embeddings.
fn embed(x: &Tensor, (vectors, bias): &Embedding) -> Tensor {
    x.unsqueeze(x.rank()).mul(vectors).add(bias)
}

impl Tft {
    /// The static contexts `cs`, `ce` `[B, hidden]` and the encoder's initial state, or `None`
    /// for all without statics (NeuralForecast's zeros: a zero context adds nothing).
    fn static_contexts(&self, stat: &Tensor, ctx: &mut Ctx) -> (Tensor, Tensor, RecurrentState) {
        let enc = self.static_encoder.as_ref().unwrap();
        let (selected, weights) = enc.vsn.forward(&embed(stat, self.stat_embedding.as_ref().unwrap()), None, ctx);
        ctx.record("static_vsn", &weights);
        let contexts: Vec<Tensor> = enc.context_grns.iter().map(|g| g.forward(&selected, None, ctx)).collect();
        let layers = self.history_encoder.layers;
        let n = self.n_states;
        // One state for every layer, or the same one repeated over the layers.
        let states = |from: usize| -> Vec<Tensor> { (0..layers).map(|i| contexts[from + if n == 1 { 0 } else { i }].clone()).collect() };
        let h = states(2);
        let c = if self.history_encoder.cell == Cell::Lstm { states(2 + n) } else { Vec::new() };
        (contexts[0].clone(), contexts[1].clone(), RecurrentState { h, c })
    }
}

impl Module for Tft {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        let e = join(prefix, "embedding");
        for (name, emb) in [("stat_exog", self.stat_embedding.as_ref()), ("futr_exog", Some(&self.futr_embedding)), ("hist_exog", self.hist_embedding.as_ref()), ("tgt", Some(&self.tgt_embedding))] {
            if let Some((v, b)) = emb {
                f(join(&e, &format!("{name}_embedding_vectors")), v);
                f(join(&e, &format!("{name}_embedding_bias")), b);
            }
        }
        self.static_encoder.visit(&join(prefix, "static_encoder"), f);
        let t = join(prefix, "temporal_encoder");
        self.history_vsn.visit(&join(&t, "history_vsn"), f);
        self.history_encoder.visit(&join(&t, "history_encoder"), f);
        self.future_encoder.visit(&join(&t, "future_encoder"), f);
        self.future_vsn.visit(&join(&t, "future_vsn"), f);
        self.input_gate.visit(&join(&t, "input_gate"), f);
        self.input_gate_ln.visit(&join(&t, "input_gate_ln"), f);
        let d = join(prefix, "temporal_fusion_decoder");
        self.enrichment_grn.visit(&join(&d, "enrichment_grn"), f);
        self.attention.visit(&join(&d, "attention"), f);
        self.attention_gate.visit(&join(&d, "attention_gate"), f);
        self.attention_ln.visit(&join(&d, "attention_ln"), f);
        self.positionwise_grn.visit(&join(&d, "positionwise_grn"), f);
        self.decoder_gate.visit(&join(&d, "decoder_gate"), f);
        self.decoder_ln.visit(&join(&d, "decoder_ln"), f);
        self.output_adapter.visit(&join(prefix, "output_adapter"), f);
    }
}

impl Network for Tft {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let y = &batch.insample_y;
        let (b, l, h) = (y.dim(0), self.input_size, self.h);
        let y = y.unsqueeze(2);
        // No future exogenous variable: the last insample value over all L + h steps.
        let futr = match &batch.futr_exog {
            Some(f) => f.clone(),
            None => y.narrow(1, l - 1, 1).broadcast_to(&[b, l + h, 1]),
        };
        let k_inp = embed(&futr, &self.futr_embedding);
        let target = embed(&y, &self.tgt_embedding);

        let (cs, ce, state) = match &batch.stat_exog {
            Some(stat) if self.static_encoder.is_some() => {
                let (cs, ce, state) = self.static_contexts(stat, ctx);
                (Some(cs), Some(ce), state)
            }
            _ => (None, None, self.history_encoder.zero_state(b)),
        };

        // Past inputs `[hist, futr[:L], target]`, future inputs `futr[L:]`.
        let mut past = Vec::new();
        if let (Some(x), Some(emb)) = (&batch.hist_exog, &self.hist_embedding) {
            past.push(embed(x, emb));
        }
        past.push(k_inp.narrow(1, 0, l));
        past.push(target);
        let past = Tensor::concat(&past, 2);
        let (past_features, past_weights) = self.history_vsn.forward(&past, cs.as_ref(), ctx);
        ctx.record("history_vsn", &past_weights);
        let history = self.history_encoder.forward_from(&past_features, Some(&state), ctx);
        let (future_features, future_weights) = self.future_vsn.forward(&k_inp.narrow(1, l, h), cs.as_ref(), ctx);
        if batch.futr_exog.is_some() {
            ctx.record("future_vsn", &future_weights);
        }
        let future = self.future_encoder.forward_from(&future_features, Some(&history.state), ctx);
        let input_embedding = Tensor::concat(&[past_features, future_features], 1);
        let temporal = Tensor::concat(&[history.output, future.output], 1);
        let temporal = self.input_gate.add_norm(&self.input_gate_ln, &temporal, &input_embedding);

        // Static enrichment, causal attention over all steps, then the horizon only.
        let enriched = self.enrichment_grn.forward(&temporal, ce.as_ref(), ctx);
        let (attended, attention) = self.attention.forward(&enriched, ctx);
        ctx.record("attention", &attention);
        let horizon = |t: &Tensor| t.narrow(1, l, h);
        let x = self.attention_gate.add_norm(&self.attention_ln, &horizon(&attended), &horizon(&enriched));
        let x = self.positionwise_grn.forward(&x, None, ctx);
        let x = self.decoder_gate.add_norm(&self.decoder_ln, &x, &horizon(&temporal));
        debug_assert_eq!(x.dim(2), self.hidden);
        self.output_adapter.forward(&x)
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
        // NeuralForecast 3.3 (`sum(p.numel() for p in TFT(...).parameters())`), h 12, inputSize 24.
        // Its MQLoss holds the 5 quantiles as a (frozen) parameter; ours does not.
        for (opts, want) in [
            (json!({}), 870_158),
            (json!({"hiddenSize": 16, "nHead": 2, "rnnType": "gru", "nRnnLayers": 2, "futrExogList": ["a", "b"], "histExogList": ["c"], "statExogList": ["s", "t"]}), 29_529),
            (json!({"hiddenSize": 8, "nHead": 2, "nRnnLayers": 3, "oneRnnInitialState": true, "statExogList": ["s"], "loss": {"type": "MQLoss"}}), 8146 - 5),
            (json!({"hiddenSize": 8, "nHead": 2, "nRnnLayers": 2, "statExogList": ["s", "t", "u"], "histExogList": ["c", "d"]}), 9343),
        ] {
            let mut o = json!({"h": 12, "inputSize": 24});
            o.as_object_mut().unwrap().extend(opts.as_object().unwrap().clone());
            let m = super::super::build("TFT", &o).unwrap();
            assert_eq!(param_count(m.as_ref()), want, "{o}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"hiddenSize": 10, "nHead": 4}), "hiddenSize"),
            (json!({"hiddenSize": 10, "nHead": 4}), "nHead"),
            (json!({"rnnType": "rnn"}), "rnnType"),
            (json!({"grnActivation": "GLU"}), "grnActivation"),
            (json!({"grnActivation": "relu"}), "grnActivation"),
            (json!({"dropout": 1.5}), "dropout"),
            (json!({"nRnnLayers": 0}), "nRnnLayers"),
        ] {
            let e = error("TFT", base(opts)).to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/tft_reference.py: h 3, inputSize 5, hiddenSize 4, nHead 2, dropout 0.3 (off in
        // evaluation), three variants.
        let all: Value = serde_json::from_str(include_str!("tft_reference.json")).unwrap();
        for (case, extra) in [
            ("lstm", json!({"nRnnLayers": 2, "futrExogList": ["a", "b"], "histExogList": ["c"], "statExogList": ["s", "t"]})),
            ("gru", json!({"rnnType": "gru", "nRnnLayers": 2, "oneRnnInitialState": true, "histExogList": ["c"], "statExogList": ["s", "t"], "grnActivation": "GELU"})),
            ("plain", json!({})),
        ] {
            let r = &all[case];
            let floats = |k: &str| r[k].as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<f32>>());
            let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            let mut opts = json!({"h": 3, "inputSize": 5, "hiddenSize": 4, "nHead": 2, "dropout": 0.3});
            opts.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let m = super::super::build("TFT", &opts).unwrap();
            super::super::tests::load(m.as_ref(), &names, &floats("values").unwrap());
            let count = |k: &str| extra[k].as_array().map_or(0, |a| a.len());
            let batch = super::super::Batch {
                insample_y: Tensor::from_vec(floats("y").unwrap(), &[2, 5]),
                insample_mask: Tensor::ones(&[2, 5]),
                futr_exog: floats("f").map(|v| Tensor::from_vec(v, &[2, 8, count("futrExogList")])),
                hist_exog: floats("x").map(|v| Tensor::from_vec(v, &[2, 5, count("histExogList")])),
                stat_exog: floats("s").map(|v| Tensor::from_vec(v, &[2, count("statExogList")])),
            };
            let mut rng = Rng::seed(0);
            let mut ctx = Ctx::eval(&mut rng).recording();
            super::super::tests::assert_close(&m.forward(&batch, &mut ctx).to_vec(), &floats("out").unwrap());
            // The weights the forward records are NeuralForecast's `interpretability_params`.
            let records = ctx.records.unwrap();
            let nf = &r["interpretability"];
            let theirs = |k: &str| nf[k].as_array().map(|a| a.iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<f32>>());
            for (ours, name) in [("history_vsn", "history_vsn_wgts"), ("future_vsn", "future_vsn_wgts"), ("static_vsn", "static_encoder_sparse_weights"), ("attention", "attn_wts")] {
                let recorded = records.iter().find(|(n, _)| *n == ours).map(|(_, t)| t.to_vec());
                // NeuralForecast computes the future weights even without future variables (over
                // the repeated value), but reports them only with some; we record only then.
                let expected = theirs(name).filter(|_| ours != "future_vsn" || count("futrExogList") > 0);
                match (recorded, expected) {
                    (Some(a), Some(b)) => super::super::tests::assert_close(&a, &b),
                    (None, None) => {}
                    (a, b) => panic!("{case} {ours}: recorded {:?}, NeuralForecast {:?}", a.map(|v| v.len()), b.map(|v| v.len())),
                }
            }
        }
    }

    #[test]
    fn grad_through_tft() {
        for (rnn, exog) in [("lstm", true), ("gru", true), ("lstm", false)] {
            let mut opts = json!({"h": 3, "inputSize": 5, "hiddenSize": 4, "nHead": 2, "dropout": 0.0, "rnnType": rnn, "nRnnLayers": 2});
            if exog {
                opts.as_object_mut().unwrap().extend(json!({"futrExogList": ["f"], "histExogList": ["x"], "statExogList": ["s", "t"]}).as_object().unwrap().clone());
            }
            let m = super::super::build("TFT", &opts).unwrap();
            let mut rng = Rng::seed(8);
            let mut inputs = vec![Tensor::randn(&[2, 5], &mut rng)];
            if exog {
                inputs.extend([Tensor::randn(&[2, 8, 1], &mut rng), Tensor::randn(&[2, 5, 1], &mut rng), Tensor::randn(&[2, 2], &mut rng)]);
            }
            let batch = |t: &[Tensor]| super::super::Batch {
                insample_y: t[0].clone(),
                insample_mask: Tensor::ones(&[2, 5]),
                futr_exog: t.get(1).cloned(),
                hist_exog: t.get(2).cloned(),
                stat_exog: t.get(3).cloned(),
            };
            check_gradients("TFT", |t| forward(m.as_ref(), &batch(t)), &inputs);
        }
    }
}

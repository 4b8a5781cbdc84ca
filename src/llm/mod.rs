//! Frozen language-model backbones for TimeLLM, read from local files (never downloaded): a GGUF
//! file holding a Llama-type model and its byte-level BPE tokenizer, or a Hugging Face directory
//! (`hf`) of a Llama-type model or of GPT-2 (`gpt2`, NeuralForecast's default backbone). The two
//! decoders ([`Decoder`]) share everything around them: the tokenizer, the file checks and the
//! checksum, the memory estimate's shape.
//!
//! Naming a file ([`LlmFile::open`], when a model's options are read, on the JS thread) reads and
//! checks its header only: sizes, tokenizer kind, tensor shapes. The weights, the tokenizer and the
//! file's SHA-256 (seconds for a real model) are loaded by [`LlmFile::load`], which the pipeline
//! calls in its worker tasks before a model is built. A backbone is loaded once per file and shared
//! (every model naming the file, and every copy of their options, hold the same `Arc`); its
//! weights are constants.

pub mod bpe;
pub mod gguf;
pub mod gpt2;
pub mod hf;
pub mod llama;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::nn::Ctx;
use crate::tensor::Tensor;
use bpe::{PreTokenizer, Tokenizer};
use gguf::Gguf;
use gpt2::{Gpt2, Gpt2Config};
use llama::{Block, Llama, LlamaConfig};

/// The language model itself.
pub enum Decoder {
    Llama(Llama),
    Gpt2(Gpt2),
}

impl Decoder {
    /// The token embeddings `[vocab, hidden]`.
    pub fn embed(&self) -> &Tensor {
        match self {
            Decoder::Llama(m) => &m.embed,
            Decoder::Gpt2(m) => &m.wte,
        }
    }

    /// `last_hidden_state [B, L, hidden]` for input embeddings `[B, L, hidden]`; `ctx.train`
    /// turns on the model's own dropouts (GPT-2's; Llama has none).
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        match self {
            Decoder::Llama(m) => m.forward(x),
            Decoder::Gpt2(m) => m.forward(x, ctx),
        }
    }

    /// Frozen values held in memory.
    pub fn values(&self) -> usize {
        match self {
            Decoder::Llama(m) => m.embed.numel() + m.norm.numel() + m.blocks.iter().map(|b| [&b.attn_norm, &b.wq, &b.wk, &b.wv, &b.wo, &b.ffn_norm, &b.w_gate, &b.w_up, &b.w_down].iter().map(|t| t.numel()).sum::<usize>()).sum::<usize>(),
            Decoder::Gpt2(m) => m.values(),
        }
    }
}

pub struct Backbone {
    pub decoder: Decoder,
    pub tokenizer: Tokenizer,
    /// SHA-256 of the file, hex: saved with a model, checked when it is loaded.
    pub sha256: String,
}

impl Backbone {
    /// Frozen values held in memory.
    pub fn values(&self) -> usize {
        self.decoder.values()
    }
}

/// A decoder's sizes and options, as its file's header gives them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Config {
    Llama(LlamaConfig),
    Gpt2(Gpt2Config),
}

impl Config {
    pub fn hidden(&self) -> usize {
        match self {
            Config::Llama(c) => c.hidden,
            Config::Gpt2(c) => c.hidden,
        }
    }

    pub fn layers(&self) -> usize {
        match self {
            Config::Llama(c) => c.layers,
            Config::Gpt2(c) => c.layers,
        }
    }

    /// The longest input the model takes (GPT-2's learned positions); None for rotary positions.
    pub fn positions(&self) -> Option<usize> {
        match self {
            Config::Llama(_) => None,
            Config::Gpt2(c) => Some(c.positions),
        }
    }

    /// Values kept alive per token through a training step's forward.
    pub fn activations_per_token(&self) -> f64 {
        match self {
            Config::Llama(c) => c.activations_per_token(),
            Config::Gpt2(c) => c.activations_per_token(),
        }
    }
}

/// What checking a model's options needs to know of a backbone, read from its file's header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Header {
    pub config: Config,
    pub vocab: usize,
}

/// The files of a backbone, each by canonical path, size and modification time (a changed file
/// is read again).
type Key = Vec<(PathBuf, u64, Option<SystemTime>)>;
/// Backbones in use, by files.
static LOADED: Mutex<Vec<(Key, Weak<Backbone>)>> = Mutex::new(Vec::new());

/// The files of the backbone at `path` (a GGUF file, or a directory's files) and their key.
fn key_of(path: &str) -> Result<(Vec<PathBuf>, Key)> {
    let p = Path::new(path);
    let io = |e: std::io::Error| Error::io(format!("cannot read the language model '{path}': {e}"));
    let files = if std::fs::metadata(p).map_err(io)?.is_dir() { hf::files(p)? } else { vec![p.to_path_buf()] };
    let key = files
        .iter()
        .map(|f| {
            let meta = std::fs::metadata(f).map_err(io)?;
            Ok((std::fs::canonicalize(f).map_err(io)?, meta.len(), meta.modified().ok()))
        })
        .collect::<Result<Key>>()?;
    Ok((files, key))
}

/// A backbone file named by an option: its header, checked; the backbone itself once loaded.
pub struct LlmFile {
    pub path: String,
    pub header: Header,
    /// A Hugging Face directory (else a GGUF file).
    is_dir: bool,
    /// The file itself, or the directory's files.
    files: Vec<PathBuf>,
    /// The files as their headers were read: different ones at load time are refused.
    key: Key,
    backbone: OnceLock<Arc<Backbone>>,
}

impl LlmFile {
    /// Reads and checks the header of the GGUF file or model directory at `path` (a few MB at
    /// most, whatever the size of the weights).
    pub fn open(path: &str) -> Result<LlmFile> {
        let (files, key) = key_of(path)?;
        let is_dir = Path::new(path).is_dir();
        let header = if is_dir { hf::describe(Path::new(path), &files) } else { describe(&Gguf::open_header(Path::new(path))?) };
        let header = header.map_err(|e| e.context(format!("language model '{path}'")))?;
        Ok(LlmFile { path: path.to_string(), header, is_dir, files, key, backbone: OnceLock::new() })
    }

    /// Reads the whole backbone, checking its header again (a file may change in place).
    fn read(&self) -> Result<Backbone> {
        let path = Path::new(&self.path);
        if self.is_dir {
            if hf::describe(path, &self.files).ok() != Some(self.header) {
                return Err(self.changed());
            }
            return hf::load(path, &self.files, &self.header);
        }
        let g = Gguf::open(path)?;
        if describe(&g).ok() != Some(self.header) {
            return Err(self.changed());
        }
        from_gguf(&g)
    }

    fn changed(&self) -> Error {
        Error::value(format!("the language model '{}' changed after the model was configured (its size, modification time or header differ); construct the model again", self.path))
    }

    /// The backbone: loaded from the file on the first call (slow: for worker threads), shared
    /// with every other model using the same unchanged file. A file that changed since its header
    /// was read is refused.
    pub fn load(&self) -> Result<&Arc<Backbone>> {
        if let Some(b) = self.backbone.get() {
            return Ok(b);
        }
        if key_of(&self.path)?.1 != self.key {
            return Err(self.changed());
        }
        // Held while a file is read, so two models naming it read it once.
        let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
        loaded.retain(|(_, w)| w.strong_count() > 0);
        let backbone = match loaded.iter().find(|(k, _)| *k == self.key).and_then(|(_, w)| w.upgrade()) {
            Some(b) => b,
            None => {
                let b = Arc::new(self.read().map_err(|e| e.context(format!("language model '{}'", self.path)))?);
                loaded.push((self.key.clone(), Arc::downgrade(&b)));
                b
            }
        };
        Ok(self.backbone.get_or_init(|| backbone))
    }

    /// The backbone if [`LlmFile::load`] has loaded it.
    pub fn loaded(&self) -> Option<&Arc<Backbone>> {
        self.backbone.get()
    }
}

/// Undoes llama.cpp's row permutation of the query/key weights (its converter interleaves each
/// head's two rotary halves so that ggml can rotate adjacent pairs): GGUF row `2i + j` of a head
/// is HF row `j·head_dim/2 + i`.
fn unpermute(w: Vec<f32>, heads: usize, cols: usize) -> Vec<f32> {
    let rows = w.len() / cols;
    let hd = rows / heads;
    let half = hd / 2;
    let mut out = vec![0.0f32; w.len()];
    for h in 0..heads {
        for j in 0..2 {
            for i in 0..half {
                let (dst, src) = (h * hd + j * half + i, h * hd + 2 * i + j);
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&w[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// The tokenizer's options (after `describe` checked them): pre-tokenizer, end and start tokens.
fn tokenizer_options(g: &Gguf) -> Result<(PreTokenizer, u32, Option<u32>)> {
    let model = g.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(Error::value(format!("GGUF tokenizer '{model}' is not supported (the byte-level BPE 'gpt2' is)")));
    }
    let pre = match g.metadata.get("tokenizer.ggml.pre").and_then(|v| v.as_str()).unwrap_or("default") {
        "smollm" => PreTokenizer::SmolLm,
        "gpt2" | "default" => PreTokenizer::Gpt2,
        other => return Err(Error::value(format!("GGUF pre-tokenizer '{other}' is not supported (smollm and gpt2 are)"))),
    };
    let id = |k: &str| g.metadata.get(k).and_then(|v| v.as_u64()).map(|v| v.min(u32::MAX as u64) as u32);
    let eos = id("tokenizer.ggml.eos_token_id").ok_or_else(|| Error::value("the GGUF tokenizer has no end-of-sequence token (TimeLLM pads prompts with it)"))?;
    let add_bos = matches!(g.metadata.get("tokenizer.ggml.add_bos_token"), Some(gguf::Value::Bool(true)));
    let bos = if add_bos { id("tokenizer.ggml.bos_token_id") } else { None };
    Ok((pre, eos, bos))
}

/// Checks the header of a Llama-type GGUF file (architecture, sizes, every tensor's shape, the
/// tokenizer's kind and size) without reading any tensor data.
pub fn describe(g: &Gguf) -> Result<Header> {
    describe_llama(g).map(|(config, vocab)| Header { config: Config::Llama(config), vocab })
}

fn describe_llama(g: &Gguf) -> Result<(LlamaConfig, usize)> {
    let arch = g.get_str("general.architecture")?;
    if arch != "llama" {
        return Err(Error::value(format!("GGUF architecture '{arch}' is not supported (llama is)")));
    }
    let n = |k: &str| -> Result<usize> {
        let v = g.get_u64(&format!("llama.{k}"))?;
        usize::try_from(v).ok().filter(|&v| v > 0 && v <= 1 << 20).ok_or_else(|| Error::range(format!("GGUF 'llama.{k}' is {v}, outside 1..=2^20")))
    };
    let (layers, hidden, ffn, heads) = (n("block_count")?, n("embedding_length")?, n("feed_forward_length")?, n("attention.head_count")?);
    let kv_heads = match g.metadata.get("llama.attention.head_count_kv") {
        Some(_) => n("attention.head_count_kv")?,
        None => heads,
    };
    if hidden % heads != 0 || heads % kv_heads != 0 || (hidden / heads) % 2 != 0 {
        return Err(Error::format(format!("GGUF sizes are inconsistent: hidden {hidden}, {heads} heads, {kv_heads} key/value heads")));
    }
    let eps = g.get_f64("llama.attention.layer_norm_rms_epsilon")? as f32;
    let rope_base = g.metadata.get("llama.rope.freq_base").and_then(|v| v.as_f64()).unwrap_or(10000.0) as f32;
    if g.metadata.get("llama.rope.scaling.type").and_then(|v| v.as_str()).is_some_and(|t| t != "none") {
        return Err(Error::value("GGUF rope scaling is not supported"));
    }
    let config = LlamaConfig { layers, hidden, heads, kv_heads, ffn, eps, rope_base };
    let vocab = g.shape("token_embd.weight")?.first().copied().filter(|&v| v > 0).ok_or_else(|| Error::format("GGUF token_embd.weight has no rows"))?;
    for (name, _, shape) in tensor_names(&config, vocab) {
        let s = g.shape(&name)?;
        if s != shape {
            return Err(Error::format(format!("GGUF tensor '{name}' has shape {s:?}, expected {shape:?}")));
        }
    }
    tokenizer_options(g)?;
    let tokens = g.get("tokenizer.ggml.tokens")?.array_len().unwrap_or(0);
    if tokens != vocab {
        return Err(Error::format(format!("GGUF tokenizer has {tokens} tokens, the embedding {vocab} rows")));
    }
    Ok((config, vocab))
}

/// Every tensor of a Llama-type model: its GGUF name, its Hugging Face name (without `model.`)
/// and its PyTorch-order shape; the embedding and the final norm first, then each block's in the
/// order of [`Block`]'s fields.
pub(crate) fn tensor_names(c: &LlamaConfig, vocab: usize) -> Vec<(String, String, Vec<usize>)> {
    let (d, q, kv) = (c.hidden, c.heads * c.head_dim(), c.kv_heads * c.head_dim());
    let mut out = vec![("token_embd.weight".into(), "embed_tokens.weight".into(), vec![vocab, d]), ("output_norm.weight".into(), "norm.weight".into(), vec![d])];
    for i in 0..c.layers {
        for (g, h, shape) in [
            ("attn_norm", "input_layernorm", vec![d]),
            ("attn_q", "self_attn.q_proj", vec![q, d]),
            ("attn_k", "self_attn.k_proj", vec![kv, d]),
            ("attn_v", "self_attn.v_proj", vec![kv, d]),
            ("attn_output", "self_attn.o_proj", vec![d, q]),
            ("ffn_norm", "post_attention_layernorm", vec![d]),
            ("ffn_gate", "mlp.gate_proj", vec![c.ffn, d]),
            ("ffn_up", "mlp.up_proj", vec![c.ffn, d]),
            ("ffn_down", "mlp.down_proj", vec![d, c.ffn]),
        ] {
            out.push((format!("blk.{i}.{g}.weight"), format!("layers.{i}.{h}.weight"), shape));
        }
    }
    out
}

/// The model from its tensors, `get(gguf_name, hf_name)` giving each (shapes already checked).
pub(crate) fn assemble(config: &LlamaConfig, vocab: usize, mut get: impl FnMut(&str, &str) -> Result<Tensor>) -> Result<Llama> {
    let mut all = tensor_names(config, vocab).into_iter().map(|(g, h, _)| get(&g, &h)).collect::<Result<Vec<_>>>()?.into_iter();
    let mut next = || all.next().expect("tensor_names lists every tensor");
    let (embed, norm) = (next(), next());
    let blocks = (0..config.layers)
        .map(|_| Block { attn_norm: next(), wq: next(), wk: next(), wv: next(), wo: next(), ffn_norm: next(), w_gate: next(), w_up: next(), w_down: next() })
        .collect();
    Ok(Llama { config: *config, embed, blocks, norm })
}

/// The backbone in a whole GGUF file.
pub fn from_gguf(g: &Gguf) -> Result<Backbone> {
    let (config, vocab) = describe_llama(g)?;
    let (hidden, heads, kv_heads) = (config.hidden, config.heads, config.kv_heads);
    let llama = assemble(&config, vocab, |name, _| {
        let (d, s) = g.tensor(name)?;
        // The query and key rows in Hugging Face's order.
        let d = if name.ends_with("attn_q.weight") {
            unpermute(d, heads, hidden)
        } else if name.ends_with("attn_k.weight") {
            unpermute(d, kv_heads, hidden)
        } else {
            d
        };
        Ok(Tensor::from_vec(d, &s))
    })?;

    let (pre, eos, bos) = tokenizer_options(g)?;
    let tokens = g.strings("tokenizer.ggml.tokens")?;
    let merges = g.strings("tokenizer.ggml.merges")?;
    // Control and user-defined tokens (types 3, 4) are HF's added tokens, matched verbatim.
    let specials = match g.metadata.get("tokenizer.ggml.token_type").and_then(|v| v.as_array()) {
        Some(types) => types.iter().enumerate().filter(|(_, t)| matches!(t.as_u64(), Some(3) | Some(4))).map(|(i, _)| i as u32).collect(),
        None => Vec::new(),
    };
    debug_assert_eq!(tokens.len(), vocab);
    let tokenizer = Tokenizer::new(tokens, &merges, specials, pre, eos, bos)?;
    let sha256 = Sha256::digest(g.bytes()).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Backbone { decoder: Decoder::Llama(llama), tokenizer, sha256 })
}

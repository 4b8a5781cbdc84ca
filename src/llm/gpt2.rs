//! GPT-2 as Hugging Face's `GPT2Model` runs it (what `AutoModel` returns for
//! `openai-community/gpt2`, NeuralForecast's default backbone): token embeddings `wte` plus
//! learned positions `wpe`, blocks of pre-LayerNorm causal self-attention (`c_attn` giving
//! q|k|v, `c_proj`) and a pre-LayerNorm MLP (`c_fc`, `gelu_new`, `c_proj`), then `ln_f`; the output
//! is `last_hidden_state`. The weights are constants: the forward records gradients for its input
//! only.
//!
//! HF's `Conv1D` stores its weights `[in, out]`; they are transposed once when the model is
//! assembled, so every step runs the `[out, in]` linear the other layers use.
//!
//! Dropout: NeuralForecast freezes GPT-2's parameters but leaves the module in train mode
//! (Lightning's `train()` reaches it), so during a fit `embd_pdrop`, `attn_pdrop` and
//! `resid_pdrop` (0.1 each in GPT-2's config) are active, and off in predict. We do the same,
//! drawing the masks from the model's seeded stream.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::nn::Ctx;
use crate::tensor::{AttentionSpec, Tensor};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// HF's `gelu_new`: the tanh approximation, GPT-2's.
    GeluNew,
    /// The exact (erf) GELU.
    Gelu,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gpt2Config {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    /// The MLP's width (`n_inner`, 4·hidden when null).
    pub inner: usize,
    /// `n_positions`: the longest input (`wpe`'s rows).
    pub positions: usize,
    pub eps: f32,
    pub activation: Activation,
    /// `scale_attn_weights`: scores divided by √head_dim.
    pub scale_attn: bool,
    pub embd_pdrop: f32,
    pub attn_pdrop: f32,
    pub resid_pdrop: f32,
}

impl Gpt2Config {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Values kept alive per token through a training step's forward (as
    /// `LlamaConfig::activations_per_token`).
    pub fn activations_per_token(&self) -> f64 {
        let (d, f) = (self.hidden as f64, self.inner as f64);
        // Per block: two layer norms, q|k|v and the heads cut from it, attention output and
        // projection, dropouts and residuals; the MLP's input, the composed gelu_new's steps
        // and its output. Then the position sum, its dropout and ln_f.
        self.layers as f64 * (16.0 * d + 12.0 * f) + 5.0 * d
    }

    /// `config.json` of a `gpt2` model, refusing the options this forward does not run.
    pub fn from_json(cfg: &Value) -> Result<Gpt2Config> {
        let n = |k: &str| -> Result<usize> {
            let v = cfg[k].as_u64().ok_or_else(|| Error::format(format!("config.json '{k}' is missing or not a whole number")))?;
            usize::try_from(v).ok().filter(|&v| v > 0 && v <= 1 << 20).ok_or_else(|| Error::range(format!("config.json '{k}' is {v}, outside 1..=2^20")))
        };
        let (layers, hidden, heads, positions) = (n("n_layer")?, n("n_embd")?, n("n_head")?, n("n_positions")?);
        let inner = if cfg["n_inner"].is_null() { 4 * hidden } else { n("n_inner")? };
        if hidden % heads != 0 {
            return Err(Error::format(format!("config.json sizes are not supported: n_embd {hidden} is not a multiple of n_head {heads}")));
        }
        let activation = match cfg["activation_function"].as_str().unwrap_or("gelu_new") {
            "gelu_new" => Activation::GeluNew,
            "gelu" => Activation::Gelu,
            other => return Err(Error::value(format!("config.json 'activation_function' is '{other}', only gelu_new and gelu are supported"))),
        };
        for k in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "add_cross_attention"] {
            if cfg[k].as_bool() == Some(true) {
                return Err(Error::value(format!("config.json '{k}' is true, which is not supported")));
            }
        }
        let eps = cfg["layer_norm_epsilon"].as_f64().ok_or_else(|| Error::format("config.json 'layer_norm_epsilon' is missing"))? as f32;
        let p = |k: &str| -> Result<f32> {
            match &cfg[k] {
                Value::Null => Ok(0.1),
                v => v.as_f64().filter(|p| (0.0..1.0).contains(p)).map(|p| p as f32).ok_or_else(|| Error::range(format!("config.json '{k}' is {v}, outside [0, 1)"))),
            }
        };
        let scale_attn = cfg["scale_attn_weights"].as_bool().unwrap_or(true);
        Ok(Gpt2Config { layers, hidden, heads, inner, positions, eps, activation, scale_attn, embd_pdrop: p("embd_pdrop")?, attn_pdrop: p("attn_pdrop")?, resid_pdrop: p("resid_pdrop")? })
    }

    /// Every tensor, by HF name (without `transformer.`) and stored shape (Conv1D's `[in, out]`):
    /// the embeddings, each block's in the order of [`Block`]'s fields, then `ln_f`.
    pub fn tensor_names(&self, vocab: usize) -> Vec<(String, Vec<usize>)> {
        let (d, f) = (self.hidden, self.inner);
        let mut out = vec![("wte.weight".to_string(), vec![vocab, d]), ("wpe.weight".to_string(), vec![self.positions, d])];
        for i in 0..self.layers {
            for (name, shape) in [
                ("ln_1.weight", vec![d]),
                ("ln_1.bias", vec![d]),
                ("attn.c_attn.weight", vec![d, 3 * d]),
                ("attn.c_attn.bias", vec![3 * d]),
                ("attn.c_proj.weight", vec![d, d]),
                ("attn.c_proj.bias", vec![d]),
                ("ln_2.weight", vec![d]),
                ("ln_2.bias", vec![d]),
                ("mlp.c_fc.weight", vec![d, f]),
                ("mlp.c_fc.bias", vec![f]),
                ("mlp.c_proj.weight", vec![f, d]),
                ("mlp.c_proj.bias", vec![d]),
            ] {
                out.push((format!("h.{i}.{name}"), shape));
            }
        }
        out.push(("ln_f.weight".into(), vec![d]));
        out.push(("ln_f.bias".into(), vec![d]));
        out
    }
}

/// A layer norm's weight and bias.
pub struct Norm {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Norm {
    fn forward(&self, x: &Tensor, eps: f32) -> Tensor {
        x.layer_norm(Some(&self.weight), Some(&self.bias), eps)
    }
}

/// A linear layer, weight `[out, in]` (HF's Conv1D weight transposed).
pub struct Dense {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

pub struct Block {
    pub ln_1: Norm,
    pub c_attn: Dense,
    pub attn_proj: Dense,
    pub ln_2: Norm,
    pub c_fc: Dense,
    pub mlp_proj: Dense,
}

pub struct Gpt2 {
    pub config: Gpt2Config,
    /// `[vocab, hidden]`
    pub wte: Tensor,
    /// `[positions, hidden]`
    pub wpe: Tensor,
    pub blocks: Vec<Block>,
    pub ln_f: Norm,
}

/// HF's `NewGELUActivation`: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
pub fn gelu_new(x: &Tensor) -> Tensor {
    let c = (2.0 / std::f32::consts::PI).sqrt();
    let inner = x.add(&x.mul(&x.square()).mul_scalar(0.044715)).mul_scalar(c);
    x.mul(&inner.tanh().add_scalar(1.0)).mul_scalar(0.5)
}

impl Block {
    /// One `GPT2Block` on `x [B, L, hidden]`.
    pub fn forward(&self, x: &Tensor, c: &Gpt2Config, ctx: &mut Ctx) -> Tensor {
        let (b, l, d) = (x.dim(0), x.dim(1), c.hidden);
        let hd = c.head_dim();
        let qkv = self.c_attn.forward(&self.ln_1.forward(x, c.eps));
        let heads = |i: usize| qkv.narrow(-1, i * d, d).reshape(&[b, l, c.heads, hd]).permute(&[0, 2, 1, 3]);
        let dropout = if ctx.train { c.attn_pdrop } else { 0.0 };
        let seed = if dropout > 0.0 { ctx.rng.next_u64() } else { 0 };
        let scale = if c.scale_attn { 1.0 / (hd as f32).sqrt() } else { 1.0 };
        let spec = AttentionSpec { scale, causal: true, dropout, seed, ..Default::default() };
        let attended = heads(0).attention(&heads(1), &heads(2), spec).permute(&[0, 2, 1, 3]).reshape(&[b, l, d]);
        let x = x.add(&self.attn_proj.forward(&attended).dropout(c.resid_pdrop, ctx.train, ctx.rng));
        let h = self.c_fc.forward(&self.ln_2.forward(&x, c.eps));
        let h = match c.activation {
            Activation::GeluNew => gelu_new(&h),
            Activation::Gelu => h.gelu(),
        };
        x.add(&self.mlp_proj.forward(&h).dropout(c.resid_pdrop, ctx.train, ctx.rng))
    }
}

impl Gpt2 {
    /// The model from its tensors in [`Gpt2Config::tensor_names`]' order and shapes; the Conv1D
    /// weights are transposed here, once.
    pub fn assemble(config: Gpt2Config, tensors: Vec<Tensor>) -> Gpt2 {
        let mut all = tensors.into_iter();
        let mut next = || all.next().expect("tensor_names lists every tensor");
        let (wte, wpe) = (next(), next());
        let norm = |next: &mut dyn FnMut() -> Tensor| Norm { weight: next(), bias: next() };
        // A new constant (not a transposing op's output, which would keep the stored one alive).
        let dense = |next: &mut dyn FnMut() -> Tensor| {
            let w = next();
            let (rows, cols) = (w.dim(0), w.dim(1));
            Dense { weight: Tensor::from_vec(w.transpose(0, 1).to_vec(), &[cols, rows]), bias: next() }
        };
        let blocks = (0..config.layers)
            .map(|_| Block { ln_1: norm(&mut next), c_attn: dense(&mut next), attn_proj: dense(&mut next), ln_2: norm(&mut next), c_fc: dense(&mut next), mlp_proj: dense(&mut next) })
            .collect();
        let ln_f = norm(&mut next);
        Gpt2 { config, wte, wpe, blocks, ln_f }
    }

    /// `last_hidden_state [B, L, hidden]` for input embeddings `[B, L, hidden]` at positions
    /// 0..L (L ≤ `n_positions`, which TimeLLM checks when its options are read).
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let c = &self.config;
        let mut h = x.add(&self.wpe.narrow(0, 0, x.dim(1))).dropout(c.embd_pdrop, ctx.train, ctx.rng);
        for block in &self.blocks {
            h = block.forward(&h, c, ctx);
        }
        self.ln_f.forward(&h, c.eps)
    }

    /// Frozen values held in memory.
    pub fn values(&self) -> usize {
        let dense = |d: &Dense| d.weight.numel() + d.bias.numel();
        let norm = |n: &Norm| n.weight.numel() + n.bias.numel();
        self.wte.numel() + self.wpe.numel() + norm(&self.ln_f) + self.blocks.iter().map(|b| norm(&b.ln_1) + norm(&b.ln_2) + dense(&b.c_attn) + dense(&b.attn_proj) + dense(&b.c_fc) + dense(&b.mlp_proj)).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    fn config(activation: Activation) -> Gpt2Config {
        Gpt2Config { layers: 1, hidden: 8, heads: 2, inner: 12, positions: 16, eps: 1e-5, activation, scale_attn: true, embd_pdrop: 0.1, attn_pdrop: 0.1, resid_pdrop: 0.1 }
    }

    #[test]
    fn grad_gpt2_block() {
        let mut rng = Rng::seed(5);
        // Input, then per layer: norm (weight, bias), c_attn, c_proj, norm, c_fc, c_proj.
        let mut inputs = vec![Tensor::randn(&[2, 5, 8], &mut rng)];
        for (out, inp) in [(0, 8), (24, 8), (8, 8), (0, 8), (12, 8), (8, 12)] {
            if out == 0 {
                inputs.push(Tensor::rand_uniform(&[inp], 0.5, 1.5, &mut rng));
                inputs.push(Tensor::randn(&[inp], &mut rng).mul_scalar(0.2));
            } else {
                inputs.push(Tensor::randn(&[out, inp], &mut rng).mul_scalar(0.4));
                inputs.push(Tensor::randn(&[out], &mut rng).mul_scalar(0.2));
            }
        }
        for activation in [Activation::GeluNew, Activation::Gelu] {
            let c = config(activation);
            // The block with the probe tensors as its weights, so its wiring is what is checked
            // (eval mode: dropout off).
            check_gradients(
                "GPT-2 block",
                |t| {
                    let dense = |i: usize| Dense { weight: t[i].clone(), bias: t[i + 1].clone() };
                    let norm = |i: usize| Norm { weight: t[i].clone(), bias: t[i + 1].clone() };
                    let block = Block { ln_1: norm(1), c_attn: dense(3), attn_proj: dense(5), ln_2: norm(7), c_fc: dense(9), mlp_proj: dense(11) };
                    let mut rng = Rng::seed(0);
                    block.forward(&t[0], &c, &mut Ctx::eval(&mut rng))
                },
                &inputs,
            );
        }
    }

    #[test]
    fn gelu_new_is_the_tanh_approximation() {
        let x = Tensor::from_vec(vec![-3.0, -0.5, 0.0, 0.7, 2.5], &[5]);
        // transformers.activations.NewGELUActivation in float64.
        let want = [-0.0036374, -0.154286, 0.0, 0.5305701, 2.4849157];
        for (a, w) in gelu_new(&x).to_vec().iter().zip(want) {
            assert!((a - w).abs() < 1e-6, "{a} vs {w}");
        }
        check_gradients("gelu_new", |t| gelu_new(&t[0]), &[Tensor::randn(&[2, 7], &mut Rng::seed(6))]);
    }

    /// Training mode draws GPT-2's dropouts from the model's stream: the same seed repeats,
    /// eval mode is the plain forward.
    #[test]
    fn dropout_is_active_in_training_only_and_seeded() {
        let c = Gpt2Config { layers: 2, ..config(Activation::GeluNew) };
        let mut rng = Rng::seed(7);
        let mut t = |shape: &[usize]| Tensor::randn(shape, &mut rng).mul_scalar(0.3);
        let tensors = c.tensor_names(10).iter().map(|(_, s)| t(s)).collect();
        let m = Gpt2::assemble(c, tensors);
        let x = Tensor::randn(&[2, 6, 8], &mut Rng::seed(8));
        let run = |train: bool, seed: u64| m.forward(&x, &mut Ctx::new(train, &mut Rng::seed(seed))).to_vec();
        assert_eq!(run(false, 1), run(false, 2));
        assert_eq!(run(true, 1), run(true, 1));
        assert_ne!(run(true, 1), run(true, 2));
        assert_ne!(run(true, 1), run(false, 1));
    }
}

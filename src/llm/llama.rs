//! A Llama-type decoder as Hugging Face's `LlamaModel` runs it (what `AutoModel` returns for
//! SmolLM2): token embeddings, blocks of pre-RMSNorm grouped-query self-attention with rotary
//! positions and a causal mask, pre-RMSNorm SwiGLU feed-forward, and a final RMSNorm; the output
//! is `last_hidden_state`. The weights are constants: the forward records gradients for its input
//! only, so a backward pass reaches the layers that produced the input embeddings.

use crate::tensor::{AttentionSpec, Tensor};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LlamaConfig {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    pub eps: f32,
    pub rope_base: f32,
}

impl LlamaConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Values kept alive per token through a training step (forward activations; the backward
    /// roughly doubles them, which the memory check counts separately).
    pub fn activations_per_token(&self) -> f64 {
        let (d, f, kv) = (self.hidden as f64, self.ffn as f64, (self.kv_heads * self.head_dim()) as f64);
        // Per block: two norms (square, mean, sqrt, div, mul), q/k/v and their rotations, the
        // repeated keys and values, attention output and projection, residuals; the gate, up,
        // SiLU and product.
        self.layers as f64 * (16.0 * d + 6.0 * kv + 4.0 * d + 4.0 * f) + 5.0 * d
    }
}

pub struct Block {
    pub attn_norm: Tensor,
    /// `[heads·head_dim, hidden]`, rows in HF's order (rotary halves, not llama.cpp's interleave).
    pub wq: Tensor,
    pub wk: Tensor,
    pub wv: Tensor,
    pub wo: Tensor,
    pub ffn_norm: Tensor,
    pub w_gate: Tensor,
    pub w_up: Tensor,
    pub w_down: Tensor,
}

pub struct Llama {
    pub config: LlamaConfig,
    /// `[vocab, hidden]`
    pub embed: Tensor,
    pub blocks: Vec<Block>,
    pub norm: Tensor,
}

/// `LlamaRMSNorm`: `w · x / √(mean(x²) + eps)` over the last axis.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Tensor {
    x.div(&x.square().mean_axis(-1, true).add_scalar(eps).sqrt()).mul(weight)
}

/// HF's rotary tables `cos, sin [len, head_dim]`, computed in f32 as `LlamaRotaryEmbedding` does
/// (`inv_freq = 1 / base^(2i/d)`, angle `p · inv_freq`, both halves the same).
pub fn rope_tables(len: usize, head_dim: usize, base: f32) -> (Tensor, Tensor) {
    let half = head_dim / 2;
    let inv: Vec<f32> = (0..half).map(|i| 1.0 / base.powf((2 * i) as f32 / head_dim as f32)).collect();
    let (mut cos, mut sin) = (Vec::with_capacity(len * head_dim), Vec::with_capacity(len * head_dim));
    for p in 0..len {
        for _half in 0..2 {
            for f in &inv {
                let angle = p as f32 * f;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
    }
    (Tensor::from_vec(cos, &[len, head_dim]), Tensor::from_vec(sin, &[len, head_dim]))
}

/// `x·cos + rotate_half(x)·sin` on `[B, H, L, head_dim]`, `rotate_half(x) = [−x₂, x₁]`.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let half = x.dim(-1) / 2;
    let rotated = Tensor::concat(&[x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
    x.mul(cos).add(&rotated.mul(sin))
}

impl Block {
    /// One decoder layer on `x [B, L, hidden]`.
    pub fn forward(&self, x: &Tensor, c: &LlamaConfig, cos: &Tensor, sin: &Tensor) -> Tensor {
        let (b, l) = (x.dim(0), x.dim(1));
        let hd = c.head_dim();
        let h = rms_norm(x, &self.attn_norm, c.eps);
        let heads = |w: &Tensor, n: usize| h.linear(w, None).reshape(&[b, l, n, hd]).permute(&[0, 2, 1, 3]);
        let q = rope(&heads(&self.wq, c.heads), cos, sin);
        let k = rope(&heads(&self.wk, c.kv_heads), cos, sin);
        let v = heads(&self.wv, c.kv_heads);
        // Grouped-query attention: query head i reads key/value head i / (heads / kv_heads)
        // (HF's `repeat_kv`).
        let (k, v) = if c.kv_heads == c.heads {
            (k, v)
        } else {
            let group: Vec<usize> = (0..c.heads).map(|i| i / (c.heads / c.kv_heads)).collect();
            (k.index_select(1, &group), v.index_select(1, &group))
        };
        let spec = AttentionSpec { scale: 1.0 / (hd as f32).sqrt(), causal: true, ..Default::default() };
        let attended = q.attention(&k, &v, spec).permute(&[0, 2, 1, 3]).reshape(&[b, l, c.heads * hd]);
        let x = x.add(&attended.linear(&self.wo, None));
        let h = rms_norm(&x, &self.ffn_norm, c.eps);
        let gated = h.linear(&self.w_gate, None).silu().mul(&h.linear(&self.w_up, None));
        x.add(&gated.linear(&self.w_down, None))
    }
}

impl Llama {
    /// `last_hidden_state [B, L, hidden]` for input embeddings `[B, L, hidden]` (positions 0..L,
    /// no padding mask: NeuralForecast passes none).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (cos, sin) = rope_tables(x.dim(1), self.config.head_dim(), self.config.rope_base);
        let mut x = x.clone();
        for block in &self.blocks {
            x = block.forward(&x, &self.config, &cos, &sin);
        }
        rms_norm(&x, &self.norm, self.config.eps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn grad_llama_block() {
        let mut rng = Rng::seed(3);
        let c = LlamaConfig { layers: 1, hidden: 8, heads: 4, kv_heads: 2, ffn: 6, eps: 1e-5, rope_base: 100.0 };
        let w = |r: usize, k: usize, rng: &mut Rng| Tensor::randn(&[r, k], rng).mul_scalar(0.4);
        let inputs = vec![
            Tensor::randn(&[2, 5, 8], &mut rng),
            Tensor::rand_uniform(&[8], 0.5, 1.5, &mut rng),
            w(8, 8, &mut rng),
            w(4, 8, &mut rng),
            w(4, 8, &mut rng),
            w(8, 8, &mut rng),
            Tensor::rand_uniform(&[8], 0.5, 1.5, &mut rng),
            w(6, 8, &mut rng),
            w(6, 8, &mut rng),
            w(8, 6, &mut rng),
        ];
        let (cos, sin) = rope_tables(5, 2, 100.0);
        // The block with the probe tensors as its weights, so its wiring is what is checked.
        check_gradients(
            "Llama block",
            |t| {
                let block = Block {
                    attn_norm: t[1].clone(),
                    wq: t[2].clone(),
                    wk: t[3].clone(),
                    wv: t[4].clone(),
                    wo: t[5].clone(),
                    ffn_norm: t[6].clone(),
                    w_gate: t[7].clone(),
                    w_up: t[8].clone(),
                    w_down: t[9].clone(),
                };
                block.forward(&t[0], &c, &cos, &sin)
            },
            &inputs,
        );
    }

    #[test]
    fn grad_rms_norm_and_rope() {
        let mut rng = Rng::seed(4);
        let (cos, sin) = rope_tables(3, 4, 10.0);
        check_gradients("rms_norm", |t| rms_norm(&t[0], &t[1], 1e-5), &[Tensor::randn(&[2, 3, 4], &mut rng), Tensor::randn(&[4], &mut rng)]);
        check_gradients("rope", |t| rope(&t[0], &cos, &sin), &[Tensor::randn(&[2, 2, 3, 4], &mut rng)]);
    }

    #[test]
    fn rope_at_position_zero_is_identity_and_rotates_pairs() {
        let (cos, sin) = rope_tables(2, 4, 10.0);
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0], &[1, 1, 2, 4]);
        let y = rope(&x, &cos, &sin).to_vec();
        assert_eq!(&y[..4], &[1.0, 2.0, 3.0, 4.0]);
        // Position 1, pair (x₀, x₂) turned by angle 1 (inv_freq 1).
        assert!((y[4] - (1f32.cos() - 3.0 * 1f32.sin())).abs() < 1e-6);
        assert!((y[6] - (3.0 * 1f32.cos() + 1f32.sin())).abs() < 1e-6);
    }
}

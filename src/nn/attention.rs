//! Multi-head attention with PyTorch's layout (`in_proj_weight` `[3E, E]`, `in_proj_bias`,
//! `out_proj`): `softmax(Q·Kᵀ/√d + mask)·V` per head, heads concatenated and projected.

use super::init;
use super::linear::Linear;
use super::module::{join, Ctx, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub struct MultiHeadAttention {
    pub in_proj_weight: Tensor,
    pub in_proj_bias: Tensor,
    pub out_proj: Linear,
    pub heads: usize,
    /// Dropout on the attention weights (training only).
    pub dropout: f32,
}

/// Which keys each query may attend to.
#[derive(Clone, Default)]
pub struct AttentionMask<'a> {
    /// Queries see only keys at or before their own position.
    pub causal: bool,
    /// `[B, Lk]`, true where a key is padding and must be ignored.
    pub key_padding: Option<&'a [bool]>,
}

impl MultiHeadAttention {
    /// PyTorch's init: Xavier-uniform input projection, zero biases, Linear default for the output.
    pub fn new(embed: usize, heads: usize, dropout: f32, rng: &mut Rng) -> Self {
        assert!(heads > 0 && embed % heads == 0, "embedding size {embed} must divide into {heads} heads");
        let in_proj_weight = init::xavier_uniform(&[3 * embed, embed], embed, 3 * embed, 1.0, rng);
        let mut out_proj = Linear::new(embed, embed, true, rng);
        out_proj.bias = Some(init::zeros(&[embed]));
        MultiHeadAttention { in_proj_weight, in_proj_bias: init::zeros(&[3 * embed]), out_proj, heads, dropout }
    }

    fn project(&self, x: &Tensor, k: usize) -> Tensor {
        let e = self.out_proj.in_features();
        let w = self.in_proj_weight.narrow(0, k * e, e);
        let b = self.in_proj_bias.narrow(0, k * e, e);
        let (batch, len) = (x.dim(0), x.dim(1));
        // [B, L, E] → [B, heads, L, d]
        x.linear(&w, Some(&b)).reshape(&[batch, len, self.heads, e / self.heads]).permute(&[0, 2, 1, 3])
    }

    /// Attends from `query` `[B, Lq, E]` to `key`/`value` `[B, Lk, E]`; returns `[B, Lq, E]` and
    /// the attention weights `[B, heads, Lq, Lk]`.
    pub fn forward(&self, query: &Tensor, key: &Tensor, value: &Tensor, mask: &AttentionMask, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let (b, lq, lk) = (query.dim(0), query.dim(1), key.dim(1));
        let e = self.out_proj.in_features();
        let d = e / self.heads;
        let q = self.project(query, 0);
        let k = self.project(key, 1);
        let v = self.project(value, 2);
        let mut scores = q.matmul(&k.transpose(-1, -2)).mul_scalar(1.0 / (d as f32).sqrt());
        if mask.causal || mask.key_padding.is_some() {
            let mut m = vec![0.0f32; b * lq * lk];
            for bi in 0..b {
                for i in 0..lq {
                    for j in 0..lk {
                        let hidden = (mask.causal && j > i) || mask.key_padding.is_some_and(|p| p[bi * lk + j]);
                        if hidden {
                            m[(bi * lq + i) * lk + j] = f32::NEG_INFINITY;
                        }
                    }
                }
            }
            scores = scores.add(&Tensor::from_vec(m, &[b, 1, lq, lk]));
        }
        let weights = scores.softmax();
        let context = weights.dropout(self.dropout, ctx.train, ctx.rng).matmul(&v);
        let merged = context.permute(&[0, 2, 1, 3]).reshape(&[b, lq, e]);
        (self.out_proj.forward(&merged), weights)
    }
}

impl Module for MultiHeadAttention {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "in_proj_weight"), &self.in_proj_weight);
        f(join(prefix, "in_proj_bias"), &self.in_proj_bias);
        self.out_proj.visit(&join(prefix, "out_proj"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    fn with_weights(t: &[Tensor]) -> MultiHeadAttention {
        let mut m = MultiHeadAttention::new(4, 2, 0.0, &mut Rng::seed(1));
        m.in_proj_weight = t[1].clone();
        m.in_proj_bias = t[2].clone();
        m.out_proj.weight = t[3].clone();
        m
    }

    #[test]
    fn grad_self_attention_with_causal_mask() {
        let mut rng = Rng::seed(2);
        let base = MultiHeadAttention::new(4, 2, 0.0, &mut rng);
        let inputs = vec![
            Tensor::randn(&[2, 3, 4], &mut rng),
            base.in_proj_weight.detach(),
            Tensor::randn(&[12], &mut rng),
            base.out_proj.weight.detach(),
        ];
        check_gradients(
            "MultiHeadAttention",
            |t| {
                let m = with_weights(t);
                let mut r = Rng::seed(0);
                m.forward(&t[0], &t[0], &t[0], &AttentionMask { causal: true, key_padding: None }, &mut Ctx::eval(&mut r)).0
            },
            &inputs,
        );
    }

    #[test]
    fn masks_hide_future_and_padded_keys() {
        let mut rng = Rng::seed(3);
        let m = MultiHeadAttention::new(4, 2, 0.0, &mut rng);
        let x = Tensor::randn(&[1, 3, 4], &mut rng);
        let (_, w) = m.forward(&x, &x, &x, &AttentionMask { causal: true, key_padding: None }, &mut Ctx::eval(&mut rng));
        let w = w.to_vec();
        assert_eq!(w[1], 0.0);
        assert_eq!(w[2], 0.0);
        assert!((w[0] - 1.0).abs() < 1e-6);
        let pad = [false, false, true];
        let (_, w) = m.forward(&x, &x, &x, &AttentionMask { causal: false, key_padding: Some(&pad) }, &mut Ctx::eval(&mut rng));
        assert!(w.to_vec().iter().skip(2).step_by(3).all(|v| *v == 0.0));
    }
}

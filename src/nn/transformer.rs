//! The Informer-family transformer blocks of NeuralForecast's `common/_modules.py`, shared by
//! VanillaTransformer, iTransformer, Informer, Autoformer and FEDformer: `DataEmbedding`
//! (circular conv token embedding + sinusoidal positions + linear calendar/exogenous embedding),
//! `AttentionLayer` around a pluggable inner attention, post-LN encoder and decoder layers whose
//! feed-forward is two kernel-1 convolutions, and the stacks with their final LayerNorm.

use super::embedding::sinusoidal_positions;
use super::init;
use super::linear::Linear;
use super::module::{join, Ctx, Module};
use super::norm::LayerNorm;
use crate::rng::Rng;
use crate::tensor::{AttentionSpec, PadMode, Tensor};

/// `TokenEmbedding`: Conv1d(c_in → hidden, k 3, circular padding 1, no bias), Kaiming-normal
/// (fan_in, leaky_relu with slope 0, i.e. std √(2/fan_in)).
pub struct TokenEmbedding {
    /// `[hidden, c_in, 3]`
    pub weight: Tensor,
}

impl TokenEmbedding {
    pub fn new(c_in: usize, hidden: usize, rng: &mut Rng) -> Self {
        TokenEmbedding { weight: init::kaiming_normal(&[hidden, c_in, 3], c_in * 3, rng) }
    }

    /// `[B, L, c_in]` → `[B, L, hidden]`
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let x = x.transpose(1, 2).pad(2, 1, 1, PadMode::Circular);
        x.conv1d(&self.weight, None, 1, (0, 0), 1, 1).transpose(1, 2)
    }
}

impl Module for TokenEmbedding {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "tokenConv.weight"), &self.weight);
    }
}

/// `DataEmbedding`: token embedding + sinusoidal position + `Linear(F → hidden, no bias)` of the
/// exogenous marks when the model has any, then dropout.
pub struct DataEmbedding {
    pub value: TokenEmbedding,
    pub temporal: Option<Linear>,
    pub dropout: f32,
}

impl DataEmbedding {
    pub fn new(c_in: usize, exog: usize, hidden: usize, dropout: f32, rng: &mut Rng) -> Self {
        let value = TokenEmbedding::new(c_in, hidden, rng);
        let temporal = (exog > 0).then(|| Linear::new(exog, hidden, false, rng));
        DataEmbedding { value, temporal, dropout }
    }

    /// `x` `[B, L, c_in]`, `marks` `[B, L, F]` → `[B, L, hidden]`
    pub fn forward(&self, x: &Tensor, marks: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let mut out = self.value.forward(x);
        let (l, d) = (out.dim(1), out.dim(2));
        out = out.add(&sinusoidal_positions(l, d));
        if let (Some(t), Some(m)) = (&self.temporal, marks) {
            out = out.add(&t.forward(m));
        }
        out.dropout(self.dropout, ctx.train, ctx.rng)
    }
}

impl Module for DataEmbedding {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.value.visit(&join(prefix, "value_embedding"), f);
        if let Some(t) = &self.temporal {
            t.visit(&join(prefix, "temporal_embedding.embed"), f);
        }
    }
}

/// The attention inside an [`AttentionLayer`]: per-head queries `[B, H, Lq, E]`, keys and values
/// `[B, H, Lk, E]` → `[B, H, Lq, E]`. Informer's ProbSparse and Autoformer's auto-correlation
/// implement this too.
pub trait InnerAttention: Send + Sync {
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, ctx: &mut Ctx) -> Tensor;
}

/// `FullAttention`: `softmax(Q·Kᵀ/√E)·V` with dropout on the weights. NeuralForecast 3.3's
/// `mask_flag` builds a causal mask only on its `output_attention` path, which no model takes,
/// so there is no mask here.
pub struct FullAttention {
    pub dropout: f32,
}

impl InnerAttention for FullAttention {
    /// One fused op (`Tensor::attention`): the `Lq × Lk` weights are never stored, so memory
    /// grows linearly with the input length.
    fn attend(&self, q: &Tensor, k: &Tensor, v: &Tensor, ctx: &mut Ctx) -> Tensor {
        let dropout = if ctx.train { self.dropout } else { 0.0 };
        let seed = if dropout > 0.0 { ctx.rng.next_u64() } else { 0 };
        q.attention(k, v, AttentionSpec { scale: 1.0 / (q.dim(3) as f32).sqrt(), dropout, seed, ..Default::default() })
    }
}

/// `AttentionLayer`: query/key/value projections into `heads` heads, the inner attention, the
/// output projection.
pub struct AttentionLayer<A: InnerAttention> {
    pub inner: A,
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub out: Linear,
    pub heads: usize,
}

impl<A: InnerAttention> AttentionLayer<A> {
    pub fn new(inner: A, hidden: usize, heads: usize, rng: &mut Rng) -> Self {
        let d = hidden / heads * heads;
        AttentionLayer {
            inner,
            query: Linear::new(hidden, d, true, rng),
            key: Linear::new(hidden, d, true, rng),
            value: Linear::new(hidden, d, true, rng),
            out: Linear::new(d, hidden, true, rng),
            heads,
        }
    }

    /// `queries` `[B, Lq, D]`, `keys`/`values` `[B, Lk, D]` → `[B, Lq, D]`
    pub fn forward(&self, queries: &Tensor, keys: &Tensor, values: &Tensor, ctx: &mut Ctx) -> Tensor {
        let b = queries.dim(0);
        let split = |lin: &Linear, x: &Tensor| {
            let y = lin.forward(x);
            let (l, d) = (y.dim(1), y.dim(2));
            y.reshape(&[b, l, self.heads, d / self.heads]).permute(&[0, 2, 1, 3])
        };
        let (q, k, v) = (split(&self.query, queries), split(&self.key, keys), split(&self.value, values));
        let context = self.inner.attend(&q, &k, &v, ctx);
        let lq = queries.dim(1);
        self.out.forward(&context.permute(&[0, 2, 1, 3]).reshape(&[b, lq, usize::MAX]))
    }
}

impl<A: InnerAttention> Module for AttentionLayer<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.query.visit(&join(prefix, "query_projection"), f);
        self.key.visit(&join(prefix, "key_projection"), f);
        self.value.visit(&join(prefix, "value_projection"), f);
        self.out.visit(&join(prefix, "out_projection"), f);
    }
}

/// The position-wise feed-forward: conv1 (k 1, hidden → conv_hidden), activation, dropout,
/// conv2 (k 1, back), dropout. A kernel-1 convolution is a linear map over the features, so it
/// is kept as [`Linear`] (PyTorch's Conv1d weight is the same matrix with a trailing axis of 1).
pub struct FeedForward {
    pub conv1: Linear,
    pub conv2: Linear,
    pub gelu: bool,
    pub dropout: f32,
}

impl FeedForward {
    pub fn new(hidden: usize, conv_hidden: usize, gelu: bool, dropout: f32, rng: &mut Rng) -> Self {
        FeedForward { conv1: Linear::new(hidden, conv_hidden, true, rng), conv2: Linear::new(conv_hidden, hidden, true, rng), gelu, dropout }
    }

    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let y = self.conv1.forward(x);
        let y = if self.gelu { y.gelu() } else { y.relu() };
        let y = self.conv2.forward(&y.dropout(self.dropout, ctx.train, ctx.rng));
        y.dropout(self.dropout, ctx.train, ctx.rng)
    }

    /// Parameters of one feed-forward block.
    pub fn params(hidden: usize, conv_hidden: usize) -> f64 {
        let (d, c) = (hidden as f64, conv_hidden as f64);
        (d + 1.0) * c + (c + 1.0) * d
    }
}

impl Module for FeedForward {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.conv1.visit(&join(prefix, "conv1"), f);
        self.conv2.visit(&join(prefix, "conv2"), f);
    }
}

/// Parameters of one [`AttentionLayer`]: the heads span `hidden / heads · heads` features.
pub fn attention_params(hidden: usize, heads: usize) -> f64 {
    let (d, e) = (hidden as f64, (hidden / heads * heads) as f64);
    3.0 * (d + 1.0) * e + (e + 1.0) * d
}

/// `TransEncoderLayer`: `x = norm1(x + drop(attn(x, x, x)))`, `norm2(x + ffn(x))`.
pub struct EncoderLayer<A: InnerAttention> {
    pub attention: AttentionLayer<A>,
    pub ffn: FeedForward,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
}

impl<A: InnerAttention> EncoderLayer<A> {
    pub fn new(attention: AttentionLayer<A>, hidden: usize, conv_hidden: usize, gelu: bool, dropout: f32, rng: &mut Rng) -> Self {
        EncoderLayer { attention, ffn: FeedForward::new(hidden, conv_hidden, gelu, dropout, rng), norm1: LayerNorm::new(hidden), norm2: LayerNorm::new(hidden) }
    }

    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let attended = self.attention.forward(x, x, x, ctx);
        let x = self.norm1.forward(&x.add(&attended.dropout(self.ffn.dropout, ctx.train, ctx.rng)));
        self.norm2.forward(&x.add(&self.ffn.forward(&x, ctx)))
    }

    /// Parameters of one layer (full-size attention, two LayerNorms).
    pub fn params(hidden: usize, heads: usize, conv_hidden: usize) -> f64 {
        attention_params(hidden, heads) + FeedForward::params(hidden, conv_hidden) + 4.0 * hidden as f64
    }
}

impl<A: InnerAttention> Module for EncoderLayer<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.attention.visit(&join(prefix, "attention"), f);
        self.ffn.visit(prefix, f);
        self.norm1.visit(&join(prefix, "norm1"), f);
        self.norm2.visit(&join(prefix, "norm2"), f);
    }
}

/// `TransEncoder` without distillation: the layers, then a LayerNorm.
pub struct Encoder<A: InnerAttention> {
    pub layers: Vec<EncoderLayer<A>>,
    pub norm: LayerNorm,
}

impl<A: InnerAttention> Encoder<A> {
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let x = self.layers.iter().fold(x.clone(), |x, layer| layer.forward(&x, ctx));
        self.norm.forward(&x)
    }
}

impl<A: InnerAttention> Module for Encoder<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "attn_layers"), f);
        self.norm.visit(&join(prefix, "norm"), f);
    }
}

/// `TransDecoderLayer`: self-attention, cross-attention on the encoder output (its length may
/// differ), feed-forward; each added back and LayerNorm'ed.
pub struct DecoderLayer<S: InnerAttention, C: InnerAttention> {
    pub self_attention: AttentionLayer<S>,
    pub cross_attention: AttentionLayer<C>,
    pub ffn: FeedForward,
    pub norm1: LayerNorm,
    pub norm2: LayerNorm,
    pub norm3: LayerNorm,
}

impl<S: InnerAttention, C: InnerAttention> DecoderLayer<S, C> {
    pub fn new(self_attention: AttentionLayer<S>, cross_attention: AttentionLayer<C>, hidden: usize, conv_hidden: usize, gelu: bool, dropout: f32, rng: &mut Rng) -> Self {
        DecoderLayer {
            self_attention,
            cross_attention,
            ffn: FeedForward::new(hidden, conv_hidden, gelu, dropout, rng),
            norm1: LayerNorm::new(hidden),
            norm2: LayerNorm::new(hidden),
            norm3: LayerNorm::new(hidden),
        }
    }

    pub fn forward(&self, x: &Tensor, cross: &Tensor, ctx: &mut Ctx) -> Tensor {
        let p = self.ffn.dropout;
        let attended = self.self_attention.forward(x, x, x, ctx);
        let x = self.norm1.forward(&x.add(&attended.dropout(p, ctx.train, ctx.rng)));
        let attended = self.cross_attention.forward(&x, cross, cross, ctx);
        let x = self.norm2.forward(&x.add(&attended.dropout(p, ctx.train, ctx.rng)));
        self.norm3.forward(&x.add(&self.ffn.forward(&x, ctx)))
    }

    /// Parameters of one layer (two full-size attentions, three LayerNorms).
    pub fn params(hidden: usize, heads: usize, conv_hidden: usize) -> f64 {
        2.0 * attention_params(hidden, heads) + FeedForward::params(hidden, conv_hidden) + 6.0 * hidden as f64
    }
}

impl<S: InnerAttention, C: InnerAttention> Module for DecoderLayer<S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.self_attention.visit(&join(prefix, "self_attention"), f);
        self.cross_attention.visit(&join(prefix, "cross_attention"), f);
        self.ffn.visit(prefix, f);
        self.norm1.visit(&join(prefix, "norm1"), f);
        self.norm2.visit(&join(prefix, "norm2"), f);
        self.norm3.visit(&join(prefix, "norm3"), f);
    }
}

/// `TransDecoder`: the layers, a LayerNorm and the output projection.
pub struct Decoder<S: InnerAttention, C: InnerAttention> {
    pub layers: Vec<DecoderLayer<S, C>>,
    pub norm: LayerNorm,
    pub projection: Linear,
}

impl<S: InnerAttention, C: InnerAttention> Decoder<S, C> {
    pub fn forward(&self, x: &Tensor, cross: &Tensor, ctx: &mut Ctx) -> Tensor {
        let x = self.layers.iter().fold(x.clone(), |x, layer| layer.forward(&x, cross, ctx));
        self.projection.forward(&self.norm.forward(&x))
    }
}

impl<S: InnerAttention, C: InnerAttention> Module for Decoder<S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "layers"), f);
        self.norm.visit(&join(prefix, "norm"), f);
        self.projection.visit(&join(prefix, "projection"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn grad_token_embedding_and_decoder_layer() {
        let mut rng = Rng::seed(7);
        let token = TokenEmbedding::new(2, 3, &mut rng);
        let inputs = vec![Tensor::randn(&[2, 4, 2], &mut rng), token.weight.detach()];
        check_gradients("TokenEmbedding", |t| TokenEmbedding { weight: t[1].clone() }.forward(&t[0]), &inputs);

        // A decoder layer of 5 queries over 3 encoder positions: self- and cross-attention,
        // the feed-forward and the norms, with the probes as its inputs.
        let (hidden, heads) = (4, 2);
        let layer = |rng: &mut Rng| {
            let attn = |rng: &mut Rng| AttentionLayer::new(FullAttention { dropout: 0.0 }, hidden, heads, rng);
            let (s, c) = (attn(rng), attn(rng));
            DecoderLayer::new(s, c, hidden, 3, true, 0.0, rng)
        };
        let inputs = vec![Tensor::randn(&[2, 5, hidden], &mut rng), Tensor::randn(&[2, 3, hidden], &mut rng)];
        check_gradients(
            "DecoderLayer",
            |t| {
                let mut r = Rng::seed(0);
                layer(&mut Rng::seed(1)).forward(&t[0], &t[1], &mut Ctx::eval(&mut r))
            },
            &inputs,
        );
        let enc = EncoderLayer::new(AttentionLayer::new(FullAttention { dropout: 0.0 }, hidden, heads, &mut rng), hidden, 3, false, 0.0, &mut rng);
        check_gradients("EncoderLayer", |t| enc.forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))), &inputs[..1]);
    }
}

//! The Informer-family transformer blocks of NeuralForecast's `common/_modules.py`, shared by
//! VanillaTransformer, iTransformer, Informer, Autoformer and FEDformer: `DataEmbedding`
//! (circular conv token embedding + sinusoidal positions + linear calendar/exogenous embedding),
//! `AttentionLayer` around a pluggable inner attention, post-LN encoder and decoder layers whose
//! feed-forward is two kernel-1 convolutions, the stacks with their final LayerNorm (Informer's
//! encoder distils between layers), and the encoder-decoder forecaster VanillaTransformer and
//! Informer share.

use super::conv::Conv1d;
use super::embedding::sinusoidal_positions;
use super::init;
use super::linear::Linear;
use super::module::{join, Ctx, Module};
use super::norm::{BatchNorm1d, LayerNorm};
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

/// `DataEmbedding`: token embedding + sinusoidal position (unless left out) + `Linear(F → hidden, no bias)` of the
/// exogenous marks when the model has any, then dropout.
pub struct DataEmbedding {
    pub value: TokenEmbedding,
    /// Whether the sinusoidal positions are added (`pos_embedding`; the decomposition
    /// transformers leave them out).
    pub positions: bool,
    pub temporal: Option<Linear>,
    pub dropout: f32,
}

impl DataEmbedding {
    pub fn new(c_in: usize, exog: usize, hidden: usize, dropout: f32, rng: &mut Rng) -> Self {
        let value = TokenEmbedding::new(c_in, hidden, rng);
        let temporal = (exog > 0).then(|| Linear::new(exog, hidden, false, rng));
        DataEmbedding { value, positions: true, temporal, dropout }
    }

    /// `DataEmbedding(..., pos_embedding=False)`.
    pub fn without_positions(c_in: usize, exog: usize, hidden: usize, dropout: f32, rng: &mut Rng) -> Self {
        DataEmbedding { positions: false, ..Self::new(c_in, exog, hidden, dropout, rng) }
    }

    /// `x` `[B, L, c_in]`, `marks` `[B, L, F]` → `[B, L, hidden]`
    pub fn forward(&self, x: &Tensor, marks: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let mut out = self.value.forward(x);
        if self.positions {
            let (l, d) = (out.dim(1), out.dim(2));
            out = out.add(&sinusoidal_positions(l, d));
        }
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
    /// Its parameters, if it has any (FEDformer's Fourier blocks), named under `prefix`.
    fn visit(&self, _prefix: &str, _f: &mut dyn FnMut(String, &Tensor)) {}
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
        // NeuralForecast registers the inner module first (AutoCorrelationLayer's name for it).
        self.inner.visit(&join(prefix, "inner_correlation"), f);
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
        Self::with_bias(true, hidden, conv_hidden, gelu, dropout, rng)
    }

    /// With or without biases (the decomposition transformers' convolutions have none).
    pub fn with_bias(bias: bool, hidden: usize, conv_hidden: usize, gelu: bool, dropout: f32, rng: &mut Rng) -> Self {
        FeedForward { conv1: Linear::new(hidden, conv_hidden, bias, rng), conv2: Linear::new(conv_hidden, hidden, bias, rng), gelu, dropout }
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

/// Informer's self-attention distilling `ConvLayer`: a circular kernel-3 convolution padded by 2
/// (L → L + 2), BatchNorm1d, ELU, and `MaxPool1d(3, stride 2, padding 1)`, which roughly halves
/// the sequence each encoder layer passes on.
pub struct ConvLayer {
    pub down_conv: Conv1d,
    pub norm: BatchNorm1d,
}

impl ConvLayer {
    pub fn new(hidden: usize, rng: &mut Rng) -> Self {
        ConvLayer { down_conv: Conv1d::new(hidden, hidden, 3, 1, 0, 1, 1, true, rng), norm: BatchNorm1d::new(hidden) }
    }

    /// `[B, L, D]` → `[B, ⌊(L + 1) / 2⌋ + 1, D]`
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let x = self.down_conv.forward(&x.transpose(1, 2).pad(2, 2, 2, PadMode::Circular));
        let x = self.norm.forward(&x, ctx.train).elu(1.0);
        // MaxPool1d pads with -inf; every window still covers a real position.
        let x = x.pad(2, 1, 1, PadMode::Constant(f32::NEG_INFINITY)).max_pool1d_strided(3, 2, false);
        x.transpose(1, 2)
    }

    /// The length out of a sequence of `l`.
    pub fn out_len(l: usize) -> usize {
        (l + 1) / 2 + 1
    }

    /// Parameters and running statistics of one layer.
    pub fn params(hidden: usize) -> f64 {
        let d = hidden as f64;
        3.0 * d * d + d + 4.0 * d
    }
}

impl Module for ConvLayer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.down_conv.visit(&join(prefix, "downConv"), f);
        self.norm.visit(&join(prefix, "norm"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.norm.visit_buffers(&join(prefix, "norm"), f);
    }
}

/// `TransEncoder`: the layers, with a distilling [`ConvLayer`] after each but the last when
/// `conv_layers` holds them (Informer), then a LayerNorm.
pub struct Encoder<A: InnerAttention> {
    pub layers: Vec<EncoderLayer<A>>,
    pub conv_layers: Vec<ConvLayer>,
    pub norm: LayerNorm,
}

impl<A: InnerAttention> Encoder<A> {
    /// Without distillation.
    pub fn new(layers: Vec<EncoderLayer<A>>, hidden: usize) -> Self {
        Encoder { layers, conv_layers: Vec::new(), norm: LayerNorm::new(hidden) }
    }

    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let mut x = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(&x, ctx);
            if let Some(conv) = self.conv_layers.get(i) {
                x = conv.forward(&x, ctx);
            }
        }
        self.norm.forward(&x)
    }

    /// The sequence length out of `l` input steps.
    pub fn out_len(&self, l: usize) -> usize {
        (0..self.conv_layers.len()).fold(l, |l, _| ConvLayer::out_len(l))
    }
}

impl<A: InnerAttention> Module for Encoder<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "attn_layers"), f);
        self.conv_layers.visit(&join(prefix, "conv_layers"), f);
        self.norm.visit(&join(prefix, "norm"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.conv_layers.visit_buffers(&join(prefix, "conv_layers"), f);
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

/// The sizes of an [`EncoderDecoder`].
#[derive(Clone, Copy, Debug)]
pub struct EncoderDecoderSizes {
    pub input_size: usize,
    pub h: usize,
    /// History values the decoder starts from.
    pub label_len: usize,
    pub hidden: usize,
    pub heads: usize,
    pub conv_hidden: usize,
    /// Future exogenous variables embedded with the values.
    pub exog: usize,
    pub encoder_layers: usize,
    pub decoder_layers: usize,
    /// Distilling [`ConvLayer`]s between the encoder layers (Informer's `distil`).
    pub distil: bool,
    pub outputs: usize,
    pub gelu: bool,
    pub dropout: f32,
}

impl EncoderDecoderSizes {
    /// The future exogenous values `[B, L + h, F]` the encoder and the decoder embed: the
    /// window's `L` steps, and the last `label_len + h`.
    pub fn marks(&self, futr_exog: Option<&Tensor>) -> (Option<Tensor>, Option<Tensor>) {
        let (l, label) = (self.input_size, self.label_len);
        match futr_exog {
            Some(x) => (Some(x.narrow(1, 0, l)), Some(x.narrow(1, l - label, label + self.h))),
            None => (None, None),
        }
    }

    /// Parameters and buffers of the model, counted from the sizes.
    pub fn params(&self) -> f64 {
        let (d, heads, ch) = (self.hidden, self.heads, self.conv_hidden);
        let df = d as f64;
        let embedding = 3.0 * df + self.exog as f64 * df;
        let distil = if self.distil { self.encoder_layers.saturating_sub(1) as f64 * ConvLayer::params(d) } else { 0.0 };
        2.0 * embedding
            + self.encoder_layers as f64 * EncoderLayer::<FullAttention>::params(d, heads, ch)
            + distil
            + 2.0 * df
            + self.decoder_layers as f64 * DecoderLayer::<FullAttention, FullAttention>::params(d, heads, ch)
            + 2.0 * df
            + (df + 1.0) * self.outputs as f64
    }
}

/// The forecaster of NeuralForecast's VanillaTransformer and Informer: the window is embedded and
/// encoded; the decoder reads the last `label_len` history values followed by zeros for the
/// horizon (each step with its future exogenous values), attends to itself and to the encoder,
/// and its last `h` steps are the forecast. `E`, `S` and `C` are the inner attentions of the
/// encoder, the decoder's self-attention and its cross-attention.
pub struct EncoderDecoder<E: InnerAttention, S: InnerAttention, C: InnerAttention> {
    pub sizes: EncoderDecoderSizes,
    pub enc_embedding: DataEmbedding,
    pub dec_embedding: DataEmbedding,
    pub encoder: Encoder<E>,
    pub decoder: Decoder<S, C>,
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> EncoderDecoder<E, S, C> {
    /// Allocates the weights in NeuralForecast's order: embeddings, encoder layers, distilling
    /// layers, decoder layers, projection; each attention from its closure.
    pub fn new(sizes: EncoderDecoderSizes, encoder: impl Fn() -> E, self_attention: impl Fn() -> S, cross_attention: impl Fn() -> C, rng: &mut Rng) -> Self {
        let s = sizes;
        let (d, heads, ch) = (s.hidden, s.heads, s.conv_hidden);
        let enc_embedding = DataEmbedding::new(1, s.exog, d, s.dropout, rng);
        let dec_embedding = DataEmbedding::new(1, s.exog, d, s.dropout, rng);
        let layers = (0..s.encoder_layers)
            .map(|_| {
                let a = AttentionLayer::new(encoder(), d, heads, rng);
                EncoderLayer::new(a, d, ch, s.gelu, s.dropout, rng)
            })
            .collect();
        let conv_layers = if s.distil { (1..s.encoder_layers).map(|_| ConvLayer::new(d, rng)).collect() } else { Vec::new() };
        let encoder = Encoder { layers, conv_layers, norm: LayerNorm::new(d) };
        let layers = (0..s.decoder_layers)
            .map(|_| {
                let a = AttentionLayer::new(self_attention(), d, heads, rng);
                let x = AttentionLayer::new(cross_attention(), d, heads, rng);
                DecoderLayer::new(a, x, d, ch, s.gelu, s.dropout, rng)
            })
            .collect();
        let decoder = Decoder { layers, norm: LayerNorm::new(d), projection: Linear::new(d, s.outputs, true, rng) };
        EncoderDecoder { sizes, enc_embedding, dec_embedding, encoder, decoder }
    }

    /// `insample_y` `[B, L]`, `futr_exog` `[B, L + h, F]` → `[B, h, outputs]`
    pub fn forward(&self, insample_y: &Tensor, futr_exog: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let (l, h, label) = (self.sizes.input_size, self.sizes.h, self.sizes.label_len);
        let b = insample_y.dim(0);
        let (enc_marks, dec_marks) = self.sizes.marks(futr_exog);
        let y = insample_y.reshape(&[b, l, 1]);
        let dec_in = Tensor::concat(&[y.narrow(1, l - label, label), Tensor::zeros(&[b, h, 1])], 1);
        let enc = self.enc_embedding.forward(&y, enc_marks.as_ref(), ctx);
        let enc = self.encoder.forward(&enc, ctx);
        let dec = self.dec_embedding.forward(&dec_in, dec_marks.as_ref(), ctx);
        self.decoder.forward(&dec, &enc, ctx).narrow(1, label, h)
    }
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> Module for EncoderDecoder<E, S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.enc_embedding.visit(&join(prefix, "enc_embedding"), f);
        self.dec_embedding.visit(&join(prefix, "dec_embedding"), f);
        self.encoder.visit(&join(prefix, "encoder"), f);
        self.decoder.visit(&join(prefix, "decoder"), f);
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.encoder.visit_buffers(&join(prefix, "encoder"), f);
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

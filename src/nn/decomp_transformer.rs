//! The decomposition transformers of NeuralForecast, Autoformer and FEDformer: the encoder-decoder
//! of [`super::transformer`] with a series decomposition after every sub-layer, so each layer
//! passes on the seasonal part and the decoder accumulates the trends it removes. The inner
//! "correlation" of every [`AttentionLayer`] is a type parameter: Autoformer's auto-correlation,
//! or FEDformer's Fourier blocks.

use super::conv::Conv1d;
use super::decomposition::{SeasonalLayerNorm, SeriesDecomp};
use super::linear::Linear;
use super::module::{join, Ctx, Module};
use super::transformer::{attention_params, AttentionLayer, DataEmbedding, EncoderDecoderSizes, FeedForward, InnerAttention};
use crate::rng::Rng;
use crate::tensor::{PadMode, Tensor};

/// Parameters of one feed-forward without biases.
fn ffn_params(hidden: usize, conv_hidden: usize) -> f64 {
    2.0 * (hidden * conv_hidden) as f64
}

/// `EncoderLayer`: `x = decomp(x + drop(attn(x, x, x))).seasonal`, then
/// `decomp(x + ffn(x)).seasonal`; the feed-forward's kernel-1 convolutions have no bias.
pub struct DecompEncoderLayer<A: InnerAttention> {
    pub attention: AttentionLayer<A>,
    pub ffn: FeedForward,
    pub decomp: SeriesDecomp,
}

impl<A: InnerAttention> DecompEncoderLayer<A> {
    pub fn new(attention: AttentionLayer<A>, s: &EncoderDecoderSizes, moving_avg: usize, rng: &mut Rng) -> Self {
        let ffn = FeedForward::with_bias(false, s.hidden, s.conv_hidden, s.gelu, s.dropout, rng);
        DecompEncoderLayer { attention, ffn, decomp: SeriesDecomp::new(moving_avg) }
    }

    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let attended = self.attention.forward(x, x, x, ctx);
        let (x, _) = self.decomp.forward(&x.add(&attended.dropout(self.ffn.dropout, ctx.train, ctx.rng)));
        let y = self.ffn.forward(&x, ctx);
        self.decomp.forward(&x.add(&y)).0
    }

    /// Parameters of one layer with a full-size attention layer.
    pub fn params(hidden: usize, heads: usize, conv_hidden: usize) -> f64 {
        attention_params(hidden, heads) + ffn_params(hidden, conv_hidden)
    }
}

impl<A: InnerAttention> Module for DecompEncoderLayer<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.attention.visit(&join(prefix, "attention"), f);
        self.ffn.visit(prefix, f);
    }
}

/// `Encoder`: the layers, then the seasonal LayerNorm.
pub struct DecompEncoder<A: InnerAttention> {
    pub attn_layers: Vec<DecompEncoderLayer<A>>,
    pub norm: SeasonalLayerNorm,
}

impl<A: InnerAttention> DecompEncoder<A> {
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let x = self.attn_layers.iter().fold(x.clone(), |x, layer| layer.forward(&x, ctx));
        self.norm.forward(&x)
    }
}

impl<A: InnerAttention> Module for DecompEncoder<A> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.attn_layers.visit(&join(prefix, "attn_layers"), f);
        self.norm.visit(&join(prefix, "norm"), f);
    }
}

/// `DecoderLayer`: self-attention, cross-attention on the encoder output and the feed-forward,
/// each added back and decomposed; the three trends removed are summed and projected to the
/// outputs by a circular kernel-3 convolution without bias (the layer's residual trend).
pub struct DecompDecoderLayer<S: InnerAttention, C: InnerAttention> {
    pub self_attention: AttentionLayer<S>,
    pub cross_attention: AttentionLayer<C>,
    pub ffn: FeedForward,
    pub decomp: SeriesDecomp,
    /// `[outputs, hidden, 3]`
    pub projection: Conv1d,
}

impl<S: InnerAttention, C: InnerAttention> DecompDecoderLayer<S, C> {
    pub fn new(self_attention: AttentionLayer<S>, cross_attention: AttentionLayer<C>, s: &EncoderDecoderSizes, moving_avg: usize, rng: &mut Rng) -> Self {
        let ffn = FeedForward::with_bias(false, s.hidden, s.conv_hidden, s.gelu, s.dropout, rng);
        let projection = Conv1d::new(s.hidden, s.outputs, 3, 1, 0, 1, 1, false, rng);
        DecompDecoderLayer { self_attention, cross_attention, ffn, decomp: SeriesDecomp::new(moving_avg), projection }
    }

    /// `x` `[B, T, D]`, `cross` `[B, L, D]` → (seasonal `[B, T, D]`, residual trend `[B, T, outputs]`)
    pub fn forward(&self, x: &Tensor, cross: &Tensor, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let p = self.ffn.dropout;
        let attended = self.self_attention.forward(x, x, x, ctx);
        let (x, trend1) = self.decomp.forward(&x.add(&attended.dropout(p, ctx.train, ctx.rng)));
        let attended = self.cross_attention.forward(&x, cross, cross, ctx);
        let (x, trend2) = self.decomp.forward(&x.add(&attended.dropout(p, ctx.train, ctx.rng)));
        let y = self.ffn.forward(&x, ctx);
        let (x, trend3) = self.decomp.forward(&x.add(&y));
        let trend = trend1.add(&trend2).add(&trend3).transpose(1, 2).pad(2, 1, 1, PadMode::Circular);
        (x, self.projection.forward(&trend).transpose(1, 2))
    }

    /// Parameters of one layer with full-size attention layers.
    pub fn params(hidden: usize, heads: usize, conv_hidden: usize, outputs: usize) -> f64 {
        2.0 * attention_params(hidden, heads) + ffn_params(hidden, conv_hidden) + 3.0 * (hidden * outputs) as f64
    }
}

impl<S: InnerAttention, C: InnerAttention> Module for DecompDecoderLayer<S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.self_attention.visit(&join(prefix, "self_attention"), f);
        self.cross_attention.visit(&join(prefix, "cross_attention"), f);
        self.ffn.visit(prefix, f);
        self.projection.visit(&join(prefix, "projection"), f);
    }
}

/// `Decoder`: the layers, each adding its residual trend to the running trend; then the seasonal
/// LayerNorm and `Linear(hidden → outputs)` on the seasonal part.
pub struct DecompDecoder<S: InnerAttention, C: InnerAttention> {
    pub layers: Vec<DecompDecoderLayer<S, C>>,
    pub norm: SeasonalLayerNorm,
    pub projection: Linear,
}

impl<S: InnerAttention, C: InnerAttention> DecompDecoder<S, C> {
    /// → (seasonal `[B, T, outputs]`, trend `[B, T, outputs]`)
    pub fn forward(&self, x: &Tensor, cross: &Tensor, trend: &Tensor, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let (mut x, mut trend) = (x.clone(), trend.clone());
        for layer in &self.layers {
            let (seasonal, residual) = layer.forward(&x, cross, ctx);
            x = seasonal;
            trend = trend.add(&residual);
        }
        (self.projection.forward(&self.norm.forward(&x)), trend)
    }
}

impl<S: InnerAttention, C: InnerAttention> Module for DecompDecoder<S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "layers"), f);
        self.norm.visit(&join(prefix, "norm"), f);
        self.projection.visit(&join(prefix, "projection"), f);
    }
}

/// The forecaster of NeuralForecast's Autoformer and FEDformer. The window is decomposed: the
/// decoder starts from the last `label_len` seasonal values followed by zeros for the horizon,
/// and the trend from the last `label_len` trend values followed by the window's mean. The
/// embeddings have no positions. The forecast is the accumulated trend plus the projected
/// seasonal part, over the last `h` steps. `E`, `S` and `C` are the inner correlations of the
/// encoder, the decoder's self-attention and its cross-attention.
pub struct DecompEncoderDecoder<E: InnerAttention, S: InnerAttention, C: InnerAttention> {
    pub sizes: EncoderDecoderSizes,
    pub decomp: SeriesDecomp,
    pub enc_embedding: DataEmbedding,
    pub dec_embedding: DataEmbedding,
    pub encoder: DecompEncoder<E>,
    pub decoder: DecompDecoder<S, C>,
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> DecompEncoderDecoder<E, S, C> {
    /// Allocates the weights in NeuralForecast's order: embeddings, encoder layers and norm,
    /// decoder layers, norm and projection; each correlation from its closure. `moving_avg` is
    /// the (odd) window of every decomposition.
    pub fn new(sizes: EncoderDecoderSizes, moving_avg: usize, encoder: impl Fn() -> E, self_attention: impl Fn() -> S, cross_attention: impl Fn() -> C, rng: &mut Rng) -> Self {
        let s = sizes;
        let (d, heads) = (s.hidden, s.heads);
        let enc_embedding = DataEmbedding::without_positions(1, s.exog, d, s.dropout, rng);
        let dec_embedding = DataEmbedding::without_positions(1, s.exog, d, s.dropout, rng);
        let attn_layers = (0..s.encoder_layers)
            .map(|_| {
                let a = AttentionLayer::new(encoder(), d, heads, rng);
                DecompEncoderLayer::new(a, &s, moving_avg, rng)
            })
            .collect();
        let encoder = DecompEncoder { attn_layers, norm: SeasonalLayerNorm::new(d) };
        let layers = (0..s.decoder_layers)
            .map(|_| {
                let a = AttentionLayer::new(self_attention(), d, heads, rng);
                let x = AttentionLayer::new(cross_attention(), d, heads, rng);
                DecompDecoderLayer::new(a, x, &s, moving_avg, rng)
            })
            .collect();
        let decoder = DecompDecoder { layers, norm: SeasonalLayerNorm::new(d), projection: Linear::new(d, s.outputs, true, rng) };
        DecompEncoderDecoder { sizes, decomp: SeriesDecomp::new(moving_avg), enc_embedding, dec_embedding, encoder, decoder }
    }

    /// Parameters of the model with full-size attention layers (no parameters inside them).
    pub fn params(s: &EncoderDecoderSizes) -> f64 {
        let (d, heads, ch) = (s.hidden, s.heads, s.conv_hidden);
        let df = d as f64;
        let embedding = 3.0 * df + s.exog as f64 * df;
        2.0 * embedding
            + s.encoder_layers as f64 * DecompEncoderLayer::<super::transformer::FullAttention>::params(d, heads, ch)
            + 2.0 * df
            + s.decoder_layers as f64 * DecompDecoderLayer::<super::transformer::FullAttention, super::transformer::FullAttention>::params(d, heads, ch, s.outputs)
            + 2.0 * df
            + (df + 1.0) * s.outputs as f64
    }

    /// `insample_y` `[B, L]`, `futr_exog` `[B, L + h, F]` → `[B, h, outputs]`
    pub fn forward(&self, insample_y: &Tensor, futr_exog: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let (l, h, label) = (self.sizes.input_size, self.sizes.h, self.sizes.label_len);
        let b = insample_y.dim(0);
        let (enc_marks, dec_marks) = self.sizes.marks(futr_exog);
        let y = insample_y.reshape(&[b, l, 1]);
        let (seasonal, trend) = self.decomp.forward(&y);
        let mean = y.mean_axis(1, true).broadcast_to(&[b, h, 1]);
        let trend_init = Tensor::concat(&[trend.narrow(1, l - label, label), mean], 1);
        let seasonal_init = Tensor::concat(&[seasonal.narrow(1, l - label, label), Tensor::zeros(&[b, h, 1])], 1);
        let enc = self.enc_embedding.forward(&y, enc_marks.as_ref(), ctx);
        let enc = self.encoder.forward(&enc, ctx);
        let dec = self.dec_embedding.forward(&seasonal_init, dec_marks.as_ref(), ctx);
        let (seasonal, trend) = self.decoder.forward(&dec, &enc, &trend_init, ctx);
        trend.add(&seasonal).narrow(1, label, h)
    }
}

impl<E: InnerAttention, S: InnerAttention, C: InnerAttention> Module for DecompEncoderDecoder<E, S, C> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.enc_embedding.visit(&join(prefix, "enc_embedding"), f);
        self.dec_embedding.visit(&join(prefix, "dec_embedding"), f);
        self.encoder.visit(&join(prefix, "encoder"), f);
        self.decoder.visit(&join(prefix, "decoder"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::transformer::FullAttention;
    use crate::tensor::gradcheck::check_gradients;

    fn sizes() -> EncoderDecoderSizes {
        EncoderDecoderSizes {
            input_size: 6,
            h: 2,
            label_len: 3,
            hidden: 4,
            heads: 2,
            conv_hidden: 3,
            exog: 0,
            encoder_layers: 1,
            decoder_layers: 1,
            distil: false,
            outputs: 2,
            gelu: true,
            dropout: 0.0,
        }
    }

    #[test]
    fn grad_decomposition_layers() {
        // With full attention inside: the layers' own wiring, decompositions and trend projection.
        let s = sizes();
        let mut rng = Rng::seed(11);
        let attn = |rng: &mut Rng| AttentionLayer::new(FullAttention { dropout: 0.0 }, s.hidden, s.heads, rng);
        let enc = DecompEncoderLayer::new(attn(&mut rng), &s, 3, &mut rng);
        let (sa, ca) = (attn(&mut rng), attn(&mut rng));
        let dec = DecompDecoderLayer::new(sa, ca, &s, 3, &mut rng);
        let inputs = vec![Tensor::randn(&[2, 5, 4], &mut rng), Tensor::randn(&[2, 6, 4], &mut rng)];
        check_gradients("DecompEncoderLayer", |t| enc.forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))), &inputs[1..]);
        check_gradients("DecompDecoderLayer seasonal", |t| dec.forward(&t[0], &t[1], &mut Ctx::eval(&mut Rng::seed(0))).0, &inputs);
        check_gradients("DecompDecoderLayer trend", |t| dec.forward(&t[0], &t[1], &mut Ctx::eval(&mut Rng::seed(0))).1, &inputs);
        assert_eq!(dec.forward(&inputs[0], &inputs[1], &mut Ctx::eval(&mut rng)).1.shape(), &[2, 5, 2]);
    }
}

//! iTransformer (Liu et al., 2024) as NeuralForecast 3.3 builds it: the Transformer inverted, so
//! each series' whole window is one token (`Linear(L → hidden)`) and attention runs across
//! series, not time. Future exogenous variables add one token per series and variable over the
//! window and horizon (`Linear(L + h → hidden)`). The encoder's outputs for the series' tokens are
//! projected to the horizon. `useNorm` standardises each series over its window first (the
//! Non-stationary Transformer's norm: the mean detached, the deviation not) and scales back after.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{multivariate, Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::transformer::{AttentionLayer, Encoder, EncoderLayer, FullAttention};
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// iTransformer's own options. `dLayers` and `factor` are NeuralForecast options that no layer
/// reads; they are kept so configurations carry over.
#[derive(Clone, Debug)]
pub struct ITransformerOptions {
    hidden_size: usize,
    n_heads: usize,
    e_layers: usize,
    d_layers: usize,
    d_ff: usize,
    factor: usize,
    dropout: f64,
    use_norm: bool,
}

pub struct ITransformer {
    h: usize,
    dropout: f32,
    use_norm: bool,
    /// `DataEmbedding_inverted`'s value embedding.
    enc_embedding: Linear,
    futr_embedding: Option<Linear>,
    encoder: Encoder<FullAttention>,
    projector: Linear,
}

impl Spec for ITransformerOptions {
    const CLASS: &'static str = "iTransformer";
    const DEFAULTS: Defaults = multivariate::DEFAULTS;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: true };
    type Net = ITransformer;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(ITransformerOptions {
            hidden_size: r.usize_min("hiddenSize", 512, 1)?,
            n_heads: r.usize_min("nHeads", 8, 1)?,
            e_layers: r.usize_min("eLayers", 2, 1)?,
            d_layers: r.usize_min("dLayers", 1, 1)?,
            d_ff: r.usize_min("dFf", 2048, 1)?,
            factor: r.usize_min("factor", 1, 1)?,
            dropout: r.f64_in("dropout", 0.1, 0.0, 0.99, false)?,
            use_norm: r.bool("useNorm", true)?,
        })
    }
    fn check(&self, c: &CommonOptions) -> Result<()> {
        multivariate::check(Self::CLASS, Self::CAPABILITIES, c)?;
        // NeuralForecast's heads of hidden // nHeads features would be empty.
        if self.n_heads > self.hidden_size {
            return Err(Error::range(format!("iTransformer option 'nHeads' ({}) must not exceed 'hiddenSize' ({})", self.n_heads, self.hidden_size)));
        }
        Ok(())
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hiddenSize", json!(self.hidden_size)),
            ("nHeads", json!(self.n_heads)),
            ("eLayers", json!(self.e_layers)),
            ("dLayers", json!(self.d_layers)),
            ("dFf", json!(self.d_ff)),
            ("factor", json!(self.factor)),
            ("dropout", json!(self.dropout)),
            ("useNorm", json!(self.use_norm)),
        ])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (d, heads, ff) = (self.hidden_size, self.n_heads, self.d_ff);
        let (df, l, h, m) = (d as f64, c.input_size as f64, c.h as f64, outputs as f64);
        let (n, f) = (c.n_series.unwrap_or(1) as f64, c.futr_exog_list.len() as f64);
        let futr = if f > 0.0 { (l + h + 1.0) * df } else { 0.0 };
        let params = (l + 1.0) * df
            + futr
            + self.e_layers as f64 * EncoderLayer::<FullAttention>::params(d, heads, ff)
            + 2.0 * df
            + (df + 1.0) * h * m;
        // One window holds every series: its tokens are the series and their future exogenous.
        // Per layer: projections, context, residuals, norms and masks over the tokens; scores,
        // softmax and mask per head (the composed attention's, an upper bound: the fused op,
        // which most batches take, stores none); the feed-forward's hidden layer thrice.
        let t = n * (1.0 + f);
        let layer = 8.0 * t * df + 3.0 * heads as f64 * t * t + 3.0 * t * ff as f64;
        let per_window = 4.0 * n * l + 2.0 * t * df + self.e_layers as f64 * layer + 3.0 * n * h * m;
        Footprint { params, per_window }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> ITransformer {
        let (d, p) = (self.hidden_size, self.dropout as f32);
        let enc_embedding = Linear::new(c.input_size, d, true, rng);
        let futr_embedding = (!c.futr_exog_list.is_empty()).then(|| Linear::new(c.input_size + c.h, d, true, rng));
        let layers = (0..self.e_layers)
            .map(|_| {
                let a = AttentionLayer::new(FullAttention { dropout: p }, d, self.n_heads, rng);
                EncoderLayer::new(a, d, self.d_ff, true, p, rng)
            })
            .collect();
        let encoder = Encoder::new(layers, d);
        let projector = Linear::new(d, c.h * outputs, true, rng);
        ITransformer { h: c.h, dropout: p, use_norm: self.use_norm, enc_embedding, futr_embedding, encoder, projector }
    }
}

impl Module for ITransformer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.enc_embedding.visit(&join(prefix, "enc_embedding.value_embedding"), f);
        if let Some(e) = &self.futr_embedding {
            e.visit(&join(prefix, "futr_embedding"), f);
        }
        self.encoder.visit(&join(prefix, "encoder"), f);
        self.projector.visit(&join(prefix, "projector"), f);
    }
}

impl Network for ITransformer {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let x = &batch.insample_y;
        let (b, n) = (x.dim(0), x.dim(2));
        let (x, stats) = if self.use_norm {
            let mean = x.mean_axis(1, true).detach();
            let centred = x.sub(&mean);
            let std = centred.var_axis(1, true, false).add_scalar(1e-5).sqrt();
            (centred.div(&std), Some((mean, std)))
        } else {
            (x.clone(), None)
        };
        // [B, L, N] → one token per series, [B, N, hidden].
        let mut tokens = self.enc_embedding.forward(&x.permute(&[0, 2, 1])).dropout(self.dropout, ctx.train, ctx.rng);
        if let (Some(e), Some(futr)) = (&self.futr_embedding, &batch.futr_exog) {
            // [B, F, L + h, N] → one token per series and variable, [B, N·F, hidden].
            let t = futr.dim(2);
            let futr = futr.permute(&[0, 3, 1, 2]).reshape(&[b, usize::MAX, t]);
            tokens = Tensor::concat(&[tokens, e.forward(&futr).dropout(self.dropout, ctx.train, ctx.rng)], 1);
        }
        let encoded = self.encoder.forward(&tokens, ctx).narrow(1, 0, n);
        // [B, N, h·m] → [B, h·m, N], scaled back per series, then [B, h, m·N].
        let mut y = self.projector.forward(&encoded).permute(&[0, 2, 1]);
        if let Some((mean, std)) = &stats {
            y = y.mul(std).add(mean);
        }
        y.reshape(&[b, self.h, usize::MAX])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::tests::{assert_matches_reference, floats, load};
    use super::super::{build, Batch};
    use crate::tensor::Tensor;

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/itransformer_reference.py: 3 series, 2 windows; with useNorm and two future
        // columns, and without useNorm with MQLoss; eval mode and train mode with dropout 0, and
        // the gradients of a mean absolute error through it.
        let cases: Vec<Value> = serde_json::from_str(include_str!("itransformer_reference.json")).unwrap();
        for r in &cases {
            let opts = &r["options"];
            let m = build("iTransformer", opts).unwrap();
            let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
            load(m.as_ref(), &names, &floats(r, "values"));
            let size = |k: &str| opts[k].as_u64().unwrap() as usize;
            let (l, h, n) = (size("inputSize"), size("h"), size("nSeries"));
            let f = floats(r, "f");
            let exog = f.len() / (2 * (l + h) * n);
            let batch = Batch {
                insample_y: Tensor::from_vec(floats(r, "y"), &[2, l, n]),
                insample_mask: Tensor::ones(&[2, l, n]),
                hist_exog: None,
                futr_exog: (exog > 0).then(|| Tensor::from_vec(f, &[2, exog, l + h, n])),
                stat_exog: None,
            };
            assert_matches_reference(m.as_ref(), &batch, r);
        }
    }
}

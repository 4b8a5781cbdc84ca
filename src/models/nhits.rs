//! N-HiTS (Challu et al., 2023): stacks of MLP blocks, each reading a max-pooled view of the
//! backcast residual and emitting a backcast plus a few forecast "knots" that are interpolated up
//! to the horizon. Coarse blocks (few knots) model slow components, fine blocks fast ones.
//!
//! Per block b: `θ_b = MLP_b(pool_{k_b}(r_{b-1}) | X)`, `r_b = (r_{b-1} - θ_b^back) ⊙ mask`,
//! `ŷ += interp(θ_b^knots)`, starting from `r_0` = the reversed input and `ŷ` = the last value.

use serde_json::{json, Map, Value};

use super::activation::{Activation, NAMES as ACTIVATIONS};
use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{interpolation_matrix, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pooling {
    Max,
    Avg,
}

struct Block {
    pool_kernel: usize,
    n_knots: usize,
    /// The MLP, in NeuralForecast's Sequential order (names follow its positions).
    hidden: Vec<(usize, Linear)>,
    activation: Activation,
    output: (usize, Linear),
    /// `[n_knots, h]`
    interpolation: Tensor,
}

/// NHITS' own options.
#[derive(Clone, Debug)]
pub struct NhitsOptions {
    stack_types: Vec<String>,
    n_blocks: Vec<usize>,
    mlp_units: Vec<Vec<usize>>,
    pool_sizes: Vec<usize>,
    downsample: Vec<usize>,
    pooling: Pooling,
    interpolation: String,
    dropout: f32,
    activation: String,
}

pub struct Nhits {
    input_size: usize,
    h: usize,
    outputs: usize,
    pooling: Pooling,
    dropout: f32,
    blocks: Vec<Block>,
}

impl Module for Block {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (pos, layer) in &self.hidden {
            layer.visit(&join(prefix, &format!("layers.{pos}")), f);
        }
        self.activation.visit(&join(prefix, "activation"), f);
        self.output.1.visit(&join(prefix, &format!("layers.{}", self.output.0)), f);
    }
}

impl Module for Nhits {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.blocks.visit(&join(prefix, "blocks"), f);
    }
}

impl NhitsOptions {
    /// Per stack: its blocks' pooling kernel, knot count and input width, and how many blocks.
    fn stacks(&self, c: &CommonOptions) -> impl Iterator<Item = (usize, usize, usize, usize)> + '_ {
        let (l, h) = (c.input_size, c.h);
        let (nx, nf, ns) = (c.hist_exog_list.len(), c.futr_exog_list.len(), c.stat_exog_list.len());
        (0..self.stack_types.len()).map(move |stack| {
            let k = self.pool_sizes[stack];
            let n_knots = (h / self.downsample[stack]).max(1);
            let pooled_hist = l.div_ceil(k);
            let pooled_futr = l.saturating_add(h).div_ceil(k);
            // Saturating: absurd sizes are refused by the memory check rather than wrapped.
            let in_features = pooled_hist.saturating_add(nx.saturating_mul(pooled_hist)).saturating_add(nf.saturating_mul(pooled_futr)).saturating_add(ns);
            (k, n_knots, in_features, self.n_blocks[stack])
        })
    }
}

impl Spec for NhitsOptions {
    const CLASS: &'static str = "NHITS";
    const DEFAULTS: Defaults = Defaults { num_lr_decays: 3, ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Nhits;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let stack_types = r.strings("stackTypes")?;
        let n_stacks_default = if stack_types.is_empty() { 3 } else { stack_types.len() };
        let stack_types = if stack_types.is_empty() { vec!["identity".to_string(); 3] } else { stack_types };
        if let Some(bad) = stack_types.iter().find(|s| *s != "identity") {
            return Err(Error::range(format!("NHITS option 'stackTypes' only supports 'identity' blocks, got '{bad}'")));
        }
        Ok(NhitsOptions {
            n_blocks: r.usizes("nBlocks", &vec![1; n_stacks_default], 1)?,
            stack_types,
            mlp_units: r.usize_matrix("mlpUnits", &vec![vec![512, 512]; 3])?,
            pool_sizes: r.usizes("nPoolKernelSize", &[2, 2, 1], 1)?,
            downsample: r.usizes("nFreqDownsample", &[4, 2, 1], 1)?,
            pooling: match r.choice("poolingMode", "MaxPool1d", &["MaxPool1d", "AvgPool1d"])?.as_str() {
                "MaxPool1d" => Pooling::Max,
                _ => Pooling::Avg,
            },
            interpolation: r.choice("interpolationMode", "linear", &["linear", "nearest"])?,
            dropout: r.f64_in("dropoutProbTheta", 0.0, 0.0, 0.99, false)? as f32,
            activation: r.choice("activation", "ReLU", &ACTIVATIONS)?,
        })
    }

    fn check(&self, _: &CommonOptions) -> Result<()> {
        let n_stacks = self.stack_types.len();
        for (name, len) in [("nBlocks", self.n_blocks.len()), ("nPoolKernelSize", self.pool_sizes.len()), ("nFreqDownsample", self.downsample.len())] {
            if len != n_stacks {
                return Err(Error::range(format!("NHITS option '{name}' needs one entry per stack ({n_stacks}), got {len}")));
            }
        }
        if self.mlp_units.iter().any(|u| u.len() != 2) || self.mlp_units.is_empty() {
            return Err(Error::range("NHITS option 'mlpUnits' must be a list of [in, out] pairs"));
        }
        // Each block's MLP is these layers in sequence, as in NeuralForecast, so sizes must chain.
        let mlp_units = &self.mlp_units;
        if let Some(i) = (1..mlp_units.len()).find(|&i| mlp_units[i][0] != mlp_units[i - 1][1]) {
            return Err(Error::range(format!(
                "NHITS option 'mlpUnits': layer {i} takes {} inputs but layer {} gives {} outputs; each [in, out] pair's 'in' must equal the previous pair's 'out', e.g. [[512, 512], [512, 512], [512, 512]]",
                mlp_units[i][0],
                i - 1,
                mlp_units[i - 1][1]
            )));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("stackTypes", json!(self.stack_types)),
            ("nBlocks", json!(self.n_blocks)),
            ("mlpUnits", json!(self.mlp_units)),
            ("nPoolKernelSize", json!(self.pool_sizes)),
            ("nFreqDownsample", json!(self.downsample)),
            ("poolingMode", json!(if self.pooling == Pooling::Max { "MaxPool1d" } else { "AvgPool1d" })),
            ("interpolationMode", json!(self.interpolation)),
            ("dropoutProbTheta", json!(self.dropout)),
            ("activation", json!(self.activation)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let linear = |i: usize, o: usize| (i as f64 + 1.0) * o as f64;
        let mut f = Footprint::default();
        for (_, n_knots, in_features, count) in self.stacks(c) {
            let n_theta = c.input_size as f64 + outputs as f64 * n_knots as f64;
            let units: f64 = self.mlp_units.iter().map(|u| u[1] as f64).sum();
            let block = Footprint {
                params: linear(in_features, self.mlp_units[0][0])
                    + self.mlp_units.iter().map(|u| linear(u[0], u[1])).sum::<f64>()
                    + (self.mlp_units.last().map_or(0, |u| u[1]) as f64 + 1.0) * n_theta
                    + Activation::params(&self.activation),
                // Pooled input, each hidden layer before and after its activation (and dropout
                // mask), theta, the interpolated forecast and the residual.
                per_window: in_features as f64 + self.mlp_units[0][0] as f64 + 3.0 * units + n_theta + 2.0 * (c.h as f64 * outputs as f64 + c.input_size as f64),
            };
            f.params += count as f64 * block.params;
            f.per_window += count as f64 * block.per_window;
        }
        f
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> Nhits {
        let (l, h) = (c.input_size, c.h);
        let mlp_units = &self.mlp_units;
        let mut blocks = Vec::new();
        for (k, n_knots, in_features) in self.stacks(c).flat_map(|(k, n, i, count)| std::iter::repeat((k, n, i)).take(count)) {
            let mut hidden = vec![(0, Linear::new(in_features, mlp_units[0][0], true, rng))];
            let mut pos = 1;
            for units in mlp_units {
                hidden.push((pos, Linear::new(units[0], units[1], true, rng)));
                pos += if self.dropout > 0.0 { 3 } else { 2 };
            }
            let n_theta = l + outputs * n_knots;
            let output = (pos, Linear::new(mlp_units.last().unwrap()[1], n_theta, true, rng));
            blocks.push(Block {
                pool_kernel: k,
                n_knots,
                hidden,
                activation: Activation::parse(&self.activation, "NHITS").expect("checked against NAMES when read"),
                output,
                interpolation: Tensor::from_vec(interpolation_matrix(n_knots, h, self.interpolation == "linear"), &[n_knots, h]),
            });
        }
        Nhits { input_size: l, h, outputs, pooling: self.pooling, dropout: self.dropout, blocks }
    }
}

impl Nhits {
    fn pool(&self, x: &Tensor, k: usize) -> Tensor {
        match self.pooling {
            Pooling::Max => x.max_pool1d(k),
            Pooling::Avg => x.avg_pool1d(k),
        }
    }

    /// Pools `[B, T, C]` exogenous values along time and flattens them to `[B, P·C]`.
    fn pooled_exog(&self, x: &Tensor, k: usize) -> Tensor {
        let b = x.dim(0);
        self.pool(&x.transpose(1, 2), k).transpose(1, 2).reshape(&[b, usize::MAX])
    }

    fn block_forward(&self, block: &Block, residual: &Tensor, batch: &Batch, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let (b, l, h) = (residual.dim(0), self.input_size, self.h);
        let k = block.pool_kernel;
        let mut parts = vec![self.pool(residual, k)];
        if let Some(x) = &batch.hist_exog {
            parts.push(self.pooled_exog(x, k));
        }
        if let Some(x) = &batch.futr_exog {
            parts.push(self.pooled_exog(x, k));
        }
        if let Some(s) = &batch.stat_exog {
            parts.push(s.clone());
        }
        let mut x = if parts.len() == 1 { parts.pop().unwrap() } else { Tensor::concat(&parts, 1) };
        // NeuralForecast's Sequential: Linear, then (Linear, activation[, dropout]) per unit pair.
        x = block.hidden[0].1.forward(&x);
        for (_, layer) in &block.hidden[1..] {
            x = block.activation.forward(&layer.forward(&x)).dropout(self.dropout, ctx.train, ctx.rng);
        }
        let theta = block.output.1.forward(&x);
        let backcast = theta.narrow(1, 0, l);
        let knots = theta.narrow(1, l, self.outputs * block.n_knots).reshape(&[b, self.outputs, block.n_knots]);
        let forecast = knots.matmul(&block.interpolation).transpose(1, 2);
        assert_eq!(forecast.shape(), &[b, h, self.outputs]);
        (backcast, forecast)
    }
}

impl Network for Nhits {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let l = self.input_size;
        let b = batch.insample_y.dim(0);
        // Blocks read the history newest-first, as in NeuralForecast.
        let mut residual = batch.insample_y.flip_last();
        let mask = batch.insample_mask.flip_last().detach();
        let mut forecast = batch.insample_y.narrow(1, l - 1, 1).reshape(&[b, 1, 1]);
        for block in &self.blocks {
            let (backcast, block_forecast) = self.block_forward(block, &residual, batch, ctx);
            residual = residual.sub(&backcast).mul(&mask);
            forecast = forecast.add(&block_forecast);
        }
        forecast
    }
    fn rows_independent(&self) -> bool {
        // Dropout draws only in training; pooling and interpolation stay within a row.
        true
    }
}

//! N-HiTS (Challu et al., 2023): stacks of MLP blocks, each reading a max-pooled view of the
//! backcast residual and emitting a backcast plus a few forecast "knots" that are interpolated up
//! to the horizon. Coarse blocks (few knots) model slow components, fine blocks fast ones.
//!
//! Per block b: `θ_b = MLP_b(pool_{k_b}(r_{b-1}) | X)`, `r_b = (r_{b-1} - θ_b^back) ⊙ mask`,
//! `ŷ += interp(θ_b^knots)`, starting from `r_0` = the reversed input and `ŷ` = the last value.

use serde_json::{json, Value};

use super::activation::{Activation, NAMES as ACTIVATIONS};
use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Model};
use crate::error::{Error, Result};
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{interpolation_matrix, Tensor};

pub const DEFAULTS: Defaults =
    Defaults { max_steps: 1000, learning_rate: 1e-3, num_lr_decays: 3, windows_batch_size: 1024, inference_windows_batch_size: None, scaler_type: "identity" };

#[derive(Clone, Copy, PartialEq, Eq)]
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

pub struct Nhits {
    common: CommonOptions,
    outputs: usize,
    options: Value,
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

impl Nhits {
    pub fn from_options(options: &Value, outputs: usize) -> Result<Nhits> {
        let mut r = OptionReader::new("NHITS", options)?;
        let common = CommonOptions::read(&mut r, DEFAULTS)?;
        let stack_types = r.strings("stackTypes")?;
        let n_stacks_default = if stack_types.is_empty() { 3 } else { stack_types.len() };
        let stack_types = if stack_types.is_empty() { vec!["identity".to_string(); 3] } else { stack_types };
        if let Some(bad) = stack_types.iter().find(|s| *s != "identity") {
            return Err(Error::range(format!("NHITS option 'stackTypes' only supports 'identity' blocks, got '{bad}'")));
        }
        let n_blocks = r.usizes("nBlocks", &vec![1; n_stacks_default], 1)?;
        let mlp_units = r.usize_matrix("mlpUnits", &vec![vec![512, 512]; 3])?;
        let pool_sizes = r.usizes("nPoolKernelSize", &[2, 2, 1], 1)?;
        let downsample = r.usizes("nFreqDownsample", &[4, 2, 1], 1)?;
        let pooling = match r.choice("poolingMode", "MaxPool1d", &["MaxPool1d", "AvgPool1d"])?.as_str() {
            "MaxPool1d" => Pooling::Max,
            _ => Pooling::Avg,
        };
        let interpolation = r.choice("interpolationMode", "linear", &["linear", "nearest"])?;
        let dropout = r.f64_in("dropoutProbTheta", 0.0, 0.0, 0.99, false)? as f32;
        let activation = r.choice("activation", "ReLU", &ACTIVATIONS)?;
        r.finish()?;
        let n_stacks = stack_types.len();
        for (name, len) in [("nBlocks", n_blocks.len()), ("nPoolKernelSize", pool_sizes.len()), ("nFreqDownsample", downsample.len())] {
            if len != n_stacks {
                return Err(Error::range(format!("NHITS option '{name}' needs one entry per stack ({n_stacks}), got {len}")));
            }
        }
        if mlp_units.iter().any(|u| u.len() != 2) || mlp_units.is_empty() {
            return Err(Error::range("NHITS option 'mlpUnits' must be a list of [in, out] pairs"));
        }
        // Each block's MLP is these layers in sequence, as in NeuralForecast, so sizes must chain.
        if let Some(i) = (1..mlp_units.len()).find(|&i| mlp_units[i][0] != mlp_units[i - 1][1]) {
            return Err(Error::range(format!(
                "NHITS option 'mlpUnits': layer {i} takes {} inputs but layer {} gives {} outputs; each [in, out] pair's 'in' must equal the previous pair's 'out', e.g. [[512, 512], [512, 512], [512, 512]]",
                mlp_units[i][0],
                i - 1,
                mlp_units[i - 1][1]
            )));
        }

        let (l, h) = (common.input_size, common.h);
        let (nx, nf, ns) = (common.hist_exog_list.len(), common.futr_exog_list.len(), common.stat_exog_list.len());
        let mut rng = Rng::seed(common.random_seed);
        let mut blocks = Vec::new();
        for stack in 0..n_stacks {
            for _ in 0..n_blocks[stack] {
                let k = pool_sizes[stack];
                let n_knots = (h / downsample[stack]).max(1);
                let pooled_hist = l.div_ceil(k);
                let pooled_futr = (l + h).div_ceil(k);
                let in_features = pooled_hist + nx * pooled_hist + nf * pooled_futr + ns;
                let mut hidden = vec![(0, Linear::new(in_features, mlp_units[0][0], true, &mut rng))];
                let mut pos = 1;
                for units in &mlp_units {
                    hidden.push((pos, Linear::new(units[0], units[1], true, &mut rng)));
                    pos += if dropout > 0.0 { 3 } else { 2 };
                }
                let n_theta = l + outputs * n_knots;
                let output = (pos, Linear::new(mlp_units.last().unwrap()[1], n_theta, true, &mut rng));
                blocks.push(Block {
                    pool_kernel: k,
                    n_knots,
                    hidden,
                    activation: Activation::parse(&activation, "NHITS")?,
                    output,
                    interpolation: Tensor::from_vec(interpolation_matrix(n_knots, h, interpolation == "linear"), &[n_knots, h]),
                });
            }
        }
        let mut normalized = common.to_json();
        for (k, v) in [
            ("stackTypes", json!(stack_types)),
            ("nBlocks", json!(n_blocks)),
            ("mlpUnits", json!(mlp_units)),
            ("nPoolKernelSize", json!(pool_sizes)),
            ("nFreqDownsample", json!(downsample)),
            ("poolingMode", json!(if pooling == Pooling::Max { "MaxPool1d" } else { "AvgPool1d" })),
            ("interpolationMode", json!(interpolation)),
            ("dropoutProbTheta", json!(dropout)),
            ("activation", json!(activation)),
        ] {
            normalized[k] = v;
        }
        Ok(Nhits { common, outputs, options: normalized, pooling, dropout, blocks })
    }

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
        let (b, l, h) = (residual.dim(0), self.common.input_size, self.common.h);
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

impl Model for Nhits {
    fn class_name(&self) -> &'static str {
        "NHITS"
    }
    fn common(&self) -> &CommonOptions {
        &self.common
    }
    fn options_json(&self) -> Value {
        self.options.clone()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false }
    }
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let l = self.common.input_size;
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
}

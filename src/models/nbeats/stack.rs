//! What NBEATS and NBEATSx share: their stack options, the block (an MLP to θ, then a basis that
//! turns θ into a backcast and a forecast) and the doubly residual pass over the blocks.

use serde_json::{json, Map, Value};

use super::basis;
use crate::error::{Error, Result};
use crate::models::activation::{Activation, NAMES as ACTIVATIONS};
use crate::models::reader::OptionReader;
use crate::models::Batch;
use crate::nn::{join, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// The stack options both models read, with NeuralForecast's names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct StackOptions {
    pub stack_types: Vec<String>,
    pub n_blocks: Vec<usize>,
    /// One `[in, out]` pair per hidden layer, the same for every block (NeuralForecast's use).
    pub mlp_units: Vec<Vec<usize>>,
    pub n_harmonics: usize,
    pub dropout_prob_theta: f64,
    pub activation: String,
    pub shared_weights: bool,
}

impl StackOptions {
    /// Reads the options; `types` are the stack types the model knows.
    pub fn read(r: &mut OptionReader, model: &str, types: &[&str]) -> Result<StackOptions> {
        let stack_types = match r.raw("stackTypes") {
            None => vec!["identity".to_string(), "trend".to_string(), "seasonality".to_string()],
            Some(_) => r.strings("stackTypes")?,
        };
        let n_blocks = r.usizes("nBlocks", &vec![1; stack_types.len()], 1)?;
        let mlp_units = r.usize_matrix("mlpUnits", &vec![vec![512, 512]; 3])?;
        let n_harmonics = r.usize_min("nHarmonics", 2, 1)?;
        let dropout_prob_theta = r.f64_in("dropoutProbTheta", 0.0, 0.0, 0.99, false)?;
        let activation = r.choice("activation", "ReLU", &ACTIVATIONS)?;
        let shared_weights = r.bool("sharedWeights", false)?;
        if stack_types.is_empty() {
            return Err(Error::range(format!("{model} option 'stackTypes' needs at least one stack")));
        }
        if let Some(bad) = stack_types.iter().find(|s| !types.contains(&s.as_str())) {
            // NeuralForecast: ValueError(f"Block type {stack_type} not found!")
            return Err(Error::range(format!("{model} option 'stackTypes': block type '{bad}' not found; use {}", types.join(", "))));
        }
        if n_blocks.len() != stack_types.len() {
            return Err(Error::range(format!(
                "{model} option 'nBlocks' needs one entry per stack ({}), got {}",
                stack_types.len(),
                n_blocks.len()
            )));
        }
        if mlp_units.is_empty() || mlp_units.iter().any(|u| u.len() != 2) {
            return Err(Error::range(format!("{model} option 'mlpUnits' must be a non-empty list of [in, out] pairs")));
        }
        if let Some(i) = (1..mlp_units.len()).find(|&i| mlp_units[i][0] != mlp_units[i - 1][1]) {
            return Err(Error::range(format!(
                "{model} option 'mlpUnits': layer {i} takes {} inputs but layer {} gives {}",
                mlp_units[i][0],
                i - 1,
                mlp_units[i - 1][1]
            )));
        }
        Ok(StackOptions { stack_types, n_blocks, mlp_units, n_harmonics, dropout_prob_theta, activation, shared_weights })
    }

    /// NeuralForecast's constructor check: a one-step horizon leaves no room for a trend or
    /// seasonality basis.
    pub fn check_horizon(&self, model: &str, h: usize) -> Result<()> {
        if h == 1 && self.stack_types.iter().any(|s| s == "trend" || s == "seasonality") {
            return Err(Error::range(format!(
                "{model} option 'h': horizon h=1 is incompatible with 'seasonality' or 'trend' in 'stackTypes'"
            )));
        }
        Ok(())
    }

    pub fn to_json(&self, m: &mut Map<String, Value>) {
        for (k, v) in [
            ("stackTypes", json!(self.stack_types)),
            ("nBlocks", json!(self.n_blocks)),
            ("mlpUnits", json!(self.mlp_units)),
            ("nHarmonics", json!(self.n_harmonics)),
            ("dropoutProbTheta", json!(self.dropout_prob_theta)),
            ("activation", json!(self.activation)),
            ("sharedWeights", json!(self.shared_weights)),
        ] {
            m.insert(k.to_string(), v);
        }
    }

    /// θ size of a block of type `stack`: the identity basis spans the window, a fixed basis has
    /// one coefficient per function for the backcast and per output for the forecast, the
    /// exogenous one (one output) one per variable for each.
    pub fn n_theta(&self, stack: &str, l: usize, h: usize, outputs: usize, trend_functions: usize, exog_variables: usize) -> usize {
        match stack {
            "identity" => l + outputs * h,
            "trend" => (outputs + 1) * trend_functions,
            "seasonality" => (outputs + 1) * basis::seasonality_size(self.n_harmonics, h),
            _ => 2 * exog_variables,
        }
    }

    /// (trainable values, values one window keeps alive through a step) from the options alone,
    /// for blocks reading `in_features` values and emitting `n_theta(stack)`.
    pub fn footprint(&self, in_features: usize, l: usize, h: usize, outputs: usize, n_theta: impl Fn(&str) -> usize) -> (f64, f64) {
        let u = &self.mlp_units;
        let lin = |i: usize, o: usize| (i * o + o) as f64;
        let prelu = if self.activation == "PReLU" { 1.0 } else { 0.0 };
        // Each hidden layer keeps its output, its activation and (for dropout) a mask.
        let hidden: usize = u[0][0] + u.iter().map(|p| 3 * p[1]).sum::<usize>();
        let (mut params, mut per_window) = (0.0, 0.0);
        for (stack, reuse) in self.positions() {
            let t = n_theta(stack);
            if !reuse {
                params += lin(in_features, u[0][0]) + u.iter().map(|p| lin(p[0], p[1])).sum::<f64>() + lin(u[u.len() - 1][1], t) + prelu;
            }
            per_window += (in_features + hidden + t + 2 * (l + h * outputs)) as f64;
        }
        (params, per_window)
    }

    /// The stack type of each block position, with whether it reuses the previous block's weights.
    pub fn positions(&self) -> Vec<(&str, bool)> {
        let mut out = Vec::new();
        for (stack, &n) in self.stack_types.iter().zip(&self.n_blocks) {
            for b in 0..n {
                out.push((stack.as_str(), self.shared_weights && b > 0));
            }
        }
        out
    }
}

/// How a block turns θ into (backcast `[B, L]`, forecast `[B, h, outputs]`).
#[derive(Clone)]
pub enum Basis {
    /// θ is the backcast followed by the forecast.
    Identity,
    /// Fixed functions (trend or seasonality), `[P, L]` and `[P, h]`, weighted by θ: P values for
    /// the backcast, then P per output for the forecast.
    Fixed { backcast: Tensor, forecast: Tensor },
    /// NBEATSx: the future exogenous (and static) values of the window are the functions, θ
    /// weights them: C for the forecast, then C for the backcast (NeuralForecast's order).
    Exogenous,
}

impl Basis {
    /// A fixed basis from f64 matrices `[p, l]` and `[p, h]`, rounded to f32 once.
    pub fn fixed(backcast: &[f64], forecast: &[f64], p: usize) -> Basis {
        let rows = |m: &[f64]| Tensor::from_vec(basis::to_f32(m), &[p, m.len() / p]);
        Basis::Fixed { backcast: rows(backcast), forecast: rows(forecast) }
    }

    /// `exog` is `[B, L + h, C]` for the exogenous basis.
    fn expand(&self, theta: &Tensor, l: usize, h: usize, outputs: usize, exog: Option<&Tensor>) -> (Tensor, Tensor) {
        let b = theta.dim(0);
        match self {
            Basis::Identity => (theta.narrow(1, 0, l), theta.narrow(1, l, h * outputs).reshape(&[b, h, outputs])),
            Basis::Fixed { backcast, forecast } => {
                let p = backcast.dim(0);
                let back = theta.narrow(1, 0, p).matmul(backcast);
                let coef = theta.narrow(1, p, p * outputs);
                // einsum('bpq,pt->btq'); with one output the coefficients are already [B, P].
                let fore = if outputs == 1 {
                    coef.matmul(forecast).reshape(&[b, h, 1])
                } else {
                    coef.reshape(&[b, p, outputs]).transpose(1, 2).matmul(forecast).transpose(1, 2)
                };
                (back, fore)
            }
            Basis::Exogenous => {
                let x = exog.expect("the exogenous basis is built only when exogenous values exist");
                let c = x.dim(2);
                let fore = x.narrow(1, l, h).matmul(&theta.narrow(1, 0, c).reshape(&[b, c, 1]));
                let back = x.narrow(1, 0, l).matmul(&theta.narrow(1, c, c).reshape(&[b, c, 1])).reshape(&[b, l]);
                (back, fore)
            }
        }
    }
}

/// One N-BEATS block: NeuralForecast's `nn.Sequential` (a first Linear with no activation, then
/// Linear → activation [→ dropout] per `mlpUnits` pair, then Linear → θ) and its basis.
pub struct Block {
    /// Linear layers with their positions in the Sequential (which name their parameters).
    hidden: Vec<(usize, Linear)>,
    /// One activation module repeated after every hidden layer, as in NeuralForecast: a PReLU
    /// slope is shared by the block and named at its first position.
    activation: (usize, Activation),
    output: (usize, Linear),
    basis: Basis,
}

impl Block {
    pub fn new(opts: &StackOptions, in_features: usize, n_theta: usize, basis: Basis, rng: &mut Rng) -> Block {
        let units = &opts.mlp_units;
        let per_layer = if opts.dropout_prob_theta > 0.0 { 3 } else { 2 };
        let mut hidden = vec![(0, Linear::new(in_features, units[0][0], true, rng))];
        let mut pos = 1;
        for u in units {
            hidden.push((pos, Linear::new(u[0], u[1], true, rng)));
            pos += per_layer;
        }
        let output = (pos, Linear::new(units[units.len() - 1][1], n_theta, true, rng));
        let activation = Activation::parse(&opts.activation, "").expect("checked when the options were read");
        Block { hidden, activation: (2, activation), output, basis }
    }
}

impl Module for Block {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        let mut at = |pos: usize, m: &dyn Module| m.visit(&join(prefix, &format!("layers.{pos}")), f);
        // Sequential order: layers.0, layers.1, the activation at 2, then the rest.
        for (pos, layer) in &self.hidden[..2] {
            at(*pos, layer);
        }
        at(self.activation.0, &self.activation.1);
        for (pos, layer) in &self.hidden[2..] {
            at(*pos, layer);
        }
        at(self.output.0, &self.output.1);
    }
}

/// The blocks of every stack in order. With shared weights a stack's blocks run one block
/// repeatedly; its parameters are named by its first position, as PyTorch names a module that a
/// ModuleList holds several times.
pub struct Stacks {
    blocks: Vec<(usize, Block)>,
    /// Index into `blocks` for each position.
    order: Vec<usize>,
    dropout: f32,
    input_size: usize,
    h: usize,
    outputs: usize,
}

impl Stacks {
    /// `block_for(stack type)` gives a new block for that stack type.
    pub fn build(
        opts: &StackOptions,
        input_size: usize,
        h: usize,
        outputs: usize,
        mut block_for: impl FnMut(&str) -> Block,
    ) -> Stacks {
        let (mut blocks, mut order) = (Vec::new(), Vec::new());
        for (pos, (stack, reuse)) in opts.positions().into_iter().enumerate() {
            if !reuse {
                blocks.push((pos, block_for(stack)));
            }
            order.push(blocks.len() - 1);
        }
        Stacks { blocks, order, dropout: opts.dropout_prob_theta as f32, input_size, h, outputs }
    }

    /// The doubly residual pass. Blocks read the history newest-first; each removes its backcast
    /// from the residual (where the history is real) and adds its forecast to a running total that
    /// starts at the last observed value (NeuralForecast's level term). `features` appends a
    /// model's exogenous inputs to a block's residual; `exog_basis` is `[B, L + h, C]`.
    pub fn forward(&self, batch: &Batch, features: impl Fn(Tensor) -> Tensor, exog_basis: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let (l, h) = (self.input_size, self.h);
        let b = batch.insample_y.dim(0);
        let mut residual = batch.insample_y.flip_last();
        let mask = batch.insample_mask.flip_last().detach();
        let mut forecast = batch.insample_y.narrow(1, l - 1, 1).reshape(&[b, 1, 1]);
        for &i in &self.order {
            let block = &self.blocks[i].1;
            let mut x = block.hidden[0].1.forward(&features(residual.clone()));
            for (_, layer) in &block.hidden[1..] {
                x = block.activation.1.forward(&layer.forward(&x)).dropout(self.dropout, ctx.train, ctx.rng);
            }
            let theta = block.output.1.forward(&x);
            let (backcast, block_forecast) = block.basis.expand(&theta, l, h, self.outputs, exog_basis);
            residual = residual.sub(&backcast).mul(&mask);
            forecast = forecast.add(&block_forecast);
        }
        forecast
    }
}

impl Module for Stacks {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (pos, block) in &self.blocks {
            block.visit(&join(prefix, &format!("blocks.{pos}")), f);
        }
    }
}

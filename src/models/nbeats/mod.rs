//! N-BEATS (Oreshkin et al., 2019; NeuralForecast's `NBEATS`): stacks of MLP blocks with doubly
//! residual connections. Each block reads what earlier blocks left unexplained of the history,
//! emits θ, and a basis turns θ into a backcast (removed from the history) and a forecast (added
//! to the output): identity (generic), trend (a polynomial or spline family) or seasonality
//! (harmonics), the last two making the forecast interpretable.
//!
//! `r_0 = flip(y)`, `ŷ_0 = y_L`; per block b: `θ_b = MLP_b(r_{b-1})`,
//! `r_b = (r_{b-1} − V^back_b θ_b) ⊙ flip(mask)`, `ŷ_b = ŷ_{b-1} + V^fore_b θ_b`.

pub mod basis;
pub mod stack;

use serde_json::{json, Map, Value};

use self::basis::Trend;
use self::stack::{Basis, Block, StackOptions, Stacks};
use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{Ctx, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

const CLASS: &str = "NBEATS";

/// NeuralForecast's NBEATS/NBEATSx defaults: three learning-rate halvings, all windows at inference.
pub const DEFAULTS: Defaults = Defaults { num_lr_decays: 3, ..Defaults::BASE };

const STACK_TYPES: [&str; 3] = ["identity", "trend", "seasonality"];

/// NBEATS' own options.
#[derive(Clone, Debug, PartialEq)]
pub struct NbeatsOptions {
    pub stacks: StackOptions,
    /// Degree of the trend basis: the trend stack has `nBasis + 1` functions.
    pub n_basis: usize,
    pub basis: Trend,
}

impl NbeatsOptions {
    fn n_theta(&self, stack: &str, common: &CommonOptions, outputs: usize) -> usize {
        self.stacks.n_theta(stack, common.input_size, common.h, outputs, self.n_basis + 1, 0)
    }
}

impl Spec for NbeatsOptions {
    const CLASS: &'static str = CLASS;
    // NeuralForecast's NBEATS has no `exclude_insample_y` (NBEATSx has).
    const DEFAULTS: Defaults = Defaults { takes_exclude_insample_y: false, ..DEFAULTS };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = Nbeats;

    fn read(r: &mut OptionReader, _common: &CommonOptions) -> Result<NbeatsOptions> {
        if r.raw("nPolynomials").is_some() {
            return Err(Error::type_err(format!(
                "{CLASS} option 'nPolynomials' is deprecated and ignored by NeuralForecast 3.3.0; use 'nBasis' and 'basis' for the trend stack"
            )));
        }
        let stacks = StackOptions::read(r, CLASS, &STACK_TYPES)?;
        let n_basis = r.usize("nBasis", 2)?;
        let basis = Trend::parse(&r.string("basis", "polynomial")?, n_basis, CLASS)?;
        Ok(NbeatsOptions { stacks, n_basis, basis })
    }

    /// NeuralForecast's constructor errors that involve several options.
    fn check(&self, common: &CommonOptions) -> Result<()> {
        self.stacks.check_horizon(CLASS, common.h)?;
        for (key, list) in [("futrExogList", &common.futr_exog_list), ("histExogList", &common.hist_exog_list), ("statExogList", &common.stat_exog_list)] {
            if !list.is_empty() {
                return Err(Error::type_err(format!("{CLASS} takes no exogenous variables (option '{key}'); NBEATSx does")));
            }
        }
        if self.stacks.dropout_prob_theta > 0.0 {
            // NeuralForecast's NBEATS raises NotImplementedError("dropout").
            return Err(Error::range(format!(
                "{CLASS} option 'dropoutProbTheta' must be 0: NeuralForecast's NBEATS does not implement dropout (NBEATSx does)"
            )));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.stacks.to_json(&mut m);
        m.insert("nBasis".into(), json!(self.n_basis));
        m.insert("basis".into(), json!(self.basis.name()));
        m
    }

    fn footprint(&self, common: &CommonOptions, outputs: usize) -> Footprint {
        let (params, per_window) = self.stacks.footprint(common.input_size, common.input_size, common.h, outputs, |s| self.n_theta(s, common, outputs));
        Footprint { params, per_window }
    }

    fn build(&self, common: &CommonOptions, outputs: usize, rng: &mut Rng) -> Nbeats {
        let (l, h) = (common.input_size, common.h);
        // Each basis is computed once and shared by the blocks of its stacks.
        let n = self.n_basis + 1;
        let trend = Basis::fixed(&self.basis.matrix(l, n), &self.basis.matrix(h, n), n);
        let (back, fore, p) = basis::seasonality(self.stacks.n_harmonics, l, h);
        let seasonality = Basis::fixed(&back, &fore, p);
        let stacks = Stacks::build(&self.stacks, l, h, outputs, |stack| {
            let basis = match stack {
                "identity" => Basis::Identity,
                "trend" => trend.clone(),
                _ => seasonality.clone(),
            };
            Block::new(&self.stacks, l, self.n_theta(stack, common, outputs), basis, rng)
        });
        Nbeats { stacks }
    }
}

/// The NBEATS network.
pub struct Nbeats {
    stacks: Stacks,
}

impl Module for Nbeats {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.stacks.visit(prefix, f)
    }
}

impl Network for Nbeats {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        self.stacks.forward(batch, |residual| residual, None, ctx)
    }
    fn rows_independent(&self) -> bool {
        // Dropout draws only in training; every other op stays within a row.
        true
    }
}

#[cfg(test)]
mod tests;

//! NBEATSx (Olivares et al., 2021; NeuralForecast's `NBEATSx`): N-BEATS with exogenous inputs.
//! Every block's MLP also reads the window's exogenous values, `[r | X_hist | X_futr | S]`, and an
//! `'exogenous'` stack uses the future exogenous values (and statics held over time) themselves
//! as its basis, so its forecast is a learned, window-dependent regression on them.
//!
//! Differences from NBEATS, as in NeuralForecast: dropout after each activation is allowed, and
//! the trend stack is the polynomial of degree `nPolynomials` (there is no `basis` option).
//!
//! Deviations from NeuralForecast, both where it fails obscurely:
//! - an `'exogenous'` stack without `futrExogList` or `statExogList` is refused at construction
//!   (NeuralForecast raises UnboundLocalError when it is the first stack, and otherwise silently
//!   gives it the previous stack's basis);
//! - an `'exogenous'` stack needs a one-output loss (its θ has `2·(F+S)` values whatever the
//!   loss, so NeuralForecast's forecast has one column, broadcast across a multi-output loss's
//!   outputs or mis-shaped when it stands alone).

use serde_json::{json, Map, Value};

use super::nbeats::basis::{self, Trend};
use super::nbeats::stack::{Basis, Block, StackOptions, Stacks};
use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{Ctx, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

const CLASS: &str = "NBEATSx";

const STACK_TYPES: [&str; 4] = ["identity", "trend", "seasonality", "exogenous"];

/// NBEATSx's own options.
#[derive(Clone, Debug, PartialEq)]
pub struct NbeatsxOptions {
    pub stacks: StackOptions,
    /// Degree of the trend polynomial.
    pub n_polynomials: usize,
}

impl NbeatsxOptions {
    /// Inputs of every block's MLP: the residual and the flattened exogenous values.
    fn in_features(common: &CommonOptions) -> usize {
        let (l, h) = (common.input_size, common.h);
        l + common.hist_exog_list.len() * l + common.futr_exog_list.len() * (l + h) + common.stat_exog_list.len()
    }

    fn n_theta(&self, stack: &str, common: &CommonOptions, outputs: usize) -> usize {
        let exog = common.futr_exog_list.len() + common.stat_exog_list.len();
        self.stacks.n_theta(stack, common.input_size, common.h, outputs, self.n_polynomials + 1, exog)
    }
}

impl Spec for NbeatsxOptions {
    const CLASS: &'static str = CLASS;
    const DEFAULTS: Defaults = super::nbeats::DEFAULTS;
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = Nbeatsx;

    fn read(r: &mut OptionReader, _common: &CommonOptions) -> Result<NbeatsxOptions> {
        let stacks = StackOptions::read(r, CLASS, &STACK_TYPES)?;
        let n_polynomials = r.usize("nPolynomials", 2)?;
        Ok(NbeatsxOptions { stacks, n_polynomials })
    }

    fn check(&self, common: &CommonOptions) -> Result<()> {
        self.stacks.check_horizon(CLASS, common.h)?;
        if self.stacks.stack_types.iter().any(|s| s == "exogenous") {
            if common.futr_exog_list.is_empty() && common.stat_exog_list.is_empty() {
                return Err(Error::range(format!(
                    "{CLASS} option 'stackTypes': an 'exogenous' stack needs future or static exogenous variables ('futrExogList' or 'statExogList')"
                )));
            }
            let outputs = common.loss().outputs();
            if outputs != 1 {
                return Err(Error::range(format!(
                    "{CLASS} option 'stackTypes': an 'exogenous' stack forecasts one value per step, so it needs a one-output 'loss' (this one has {outputs})"
                )));
            }
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.stacks.to_json(&mut m);
        m.insert("nPolynomials".into(), json!(self.n_polynomials));
        m
    }

    fn footprint(&self, common: &CommonOptions, outputs: usize) -> Footprint {
        let (params, per_window) = self.stacks.footprint(Self::in_features(common), common.input_size, common.h, outputs, |s| self.n_theta(s, common, outputs));
        Footprint { params, per_window }
    }

    fn build(&self, common: &CommonOptions, outputs: usize, rng: &mut Rng) -> Nbeatsx {
        let (l, h) = (common.input_size, common.h);
        let n = self.n_polynomials + 1;
        let trend = Basis::fixed(&Trend::Polynomial.matrix(l, n), &Trend::Polynomial.matrix(h, n), n);
        let (back, fore, p) = basis::seasonality(self.stacks.n_harmonics, l, h);
        let seasonality = Basis::fixed(&back, &fore, p);
        let input = Self::in_features(common);
        let stacks = Stacks::build(&self.stacks, l, h, outputs, |stack| {
            let basis = match stack {
                "identity" => Basis::Identity,
                "trend" => trend.clone(),
                "seasonality" => seasonality.clone(),
                _ => Basis::Exogenous,
            };
            Block::new(&self.stacks, input, self.n_theta(stack, common, outputs), basis, rng)
        });
        let exogenous_stack = self.stacks.stack_types.iter().any(|s| s == "exogenous");
        Nbeatsx { stacks, exogenous_stack, input_size: l, h }
    }
}

/// The NBEATSx network.
pub struct Nbeatsx {
    stacks: Stacks,
    exogenous_stack: bool,
    input_size: usize,
    h: usize,
}

impl Module for Nbeatsx {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.stacks.visit(prefix, f)
    }
}

impl Network for Nbeatsx {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let b = batch.insample_y.dim(0);
        let flat: Vec<Tensor> =
            [&batch.hist_exog, &batch.futr_exog, &batch.stat_exog].into_iter().flatten().map(|x| x.reshape(&[b, usize::MAX])).collect();
        let features = |residual: Tensor| {
            if flat.is_empty() {
                residual
            } else {
                Tensor::concat(&[std::slice::from_ref(&residual), &flat[..]].concat(), 1)
            }
        };
        // The exogenous basis: future values and statics held over the window, `[B, L + h, F + S]`.
        let exog_basis = self.exogenous_stack.then(|| {
            let t = self.input_size + self.h;
            let stat = batch.stat_exog.as_ref().map(|s| s.reshape(&[b, 1, s.dim(1)]).broadcast_to(&[b, t, s.dim(1)]));
            match (&batch.futr_exog, stat) {
                (Some(f), Some(s)) => Tensor::concat(&[f.clone(), s], 2),
                (Some(f), None) => f.clone(),
                (None, Some(s)) => s,
                (None, None) => unreachable!("checked at construction: an exogenous stack has future or static variables"),
            }
        });
        self.stacks.forward(batch, features, exog_basis.as_ref(), ctx)
    }
    fn rows_independent(&self) -> bool {
        // Dropout draws only in training; every other op stays within a row.
        true
    }
}

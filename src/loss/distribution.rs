//! DistributionLoss: the model outputs a distribution's parameters per horizon step; training
//! minimises the negative log-likelihood of the (original-scale) target, and forecasts are the
//! sample mean and empirical quantiles of draws. Domain maps and the "scale decouple" (anchoring
//! parameters to each window's scaler statistics) follow NeuralForecast.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Gamma, Poisson as PoissonDist, StandardNormal, StudentT as StudentTDist};

use crate::tensor::Tensor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    Normal,
    StudentT,
    Poisson,
    NegativeBinomial,
}

impl Distribution {
    pub fn parse(name: &str) -> Option<Distribution> {
        Some(match name {
            "Normal" => Distribution::Normal,
            "StudentT" => Distribution::StudentT,
            "Poisson" => Distribution::Poisson,
            "NegativeBinomial" => Distribution::NegativeBinomial,
            _ => return None,
        })
    }

    /// Parameters the model outputs per step.
    pub fn params(self) -> usize {
        match self {
            Distribution::Normal | Distribution::NegativeBinomial => 2,
            Distribution::StudentT => 3,
            Distribution::Poisson => 1,
        }
    }

    /// Domain-mapped, scale-decoupled parameters from raw outputs `[B, h, P]` and per-window
    /// loc/scale `[B, 1]`: Normal (mean, std), StudentT (df, mean, scale), Poisson (rate),
    /// NegativeBinomial (total_count, probs).
    pub fn decouple(self, raw: &Tensor, loc: &Tensor, scale: &Tensor) -> Vec<Tensor> {
        let (b, h) = (raw.dim(0), raw.dim(1));
        let p = |k: usize| raw.narrow(2, k, 1).reshape(&[b, h]);
        match self {
            Distribution::Normal => {
                let mean = p(0).mul(scale).add(loc);
                let std = p(1).softplus().add_scalar(0.2).mul(scale);
                vec![mean, std]
            }
            Distribution::StudentT => {
                let df = p(0).softplus().add_scalar(3.0);
                let mean = p(1).mul(scale).add(loc);
                let tscale = p(2).softplus().add_scalar(0.1).mul(scale);
                vec![df, mean, tscale]
            }
            Distribution::Poisson => vec![p(0).mul(scale).add(loc).softplus().add_scalar(1e-10)],
            Distribution::NegativeBinomial => {
                let mu = p(0).softplus().add_scalar(1e-8).mul(scale).add(loc);
                let alpha = p(1).softplus().add_scalar(1e-8).div(&scale.add_scalar(1.0));
                let total_count = alpha.powf(-1.0);
                let ma = mu.mul(&alpha);
                let probs = ma.div(&ma.add_scalar(1.0)).add_scalar(1e-8);
                vec![total_count, probs]
            }
        }
    }

    /// log p(y | params), elementwise `[B, h]` (torch.distributions' formulas).
    pub fn log_prob(self, params: &[Tensor], y: &Tensor) -> Tensor {
        match self {
            Distribution::Normal => {
                let (mean, std) = (&params[0], &params[1]);
                let z = y.sub(mean).div(std);
                z.square().mul_scalar(-0.5).sub(&std.log()).sub_scalar(0.5 * (2.0 * std::f32::consts::PI).ln())
            }
            Distribution::StudentT => {
                let (df, mean, scale) = (&params[0], &params[1], &params[2]);
                let z = y.sub(mean).div(scale);
                let norm = scale.log().add(&df.log().mul_scalar(0.5)).add_scalar(0.5 * std::f32::consts::PI.ln()).add(&df.mul_scalar(0.5).lgamma()).sub(&df.add_scalar(1.0).mul_scalar(0.5).lgamma());
                z.square().div(df).add_scalar(1.0).log().mul(&df.add_scalar(1.0).mul_scalar(-0.5)).sub(&norm)
            }
            Distribution::Poisson => {
                let rate = &params[0];
                let y_fact = Tensor::from_vec(y.data().iter().map(|v| crate::tensor::ops::unary::lgamma(*v as f64 + 1.0) as f32).collect(), y.shape());
                rate.log().mul(y).sub(rate).sub(&y_fact)
            }
            Distribution::NegativeBinomial => {
                let (r, p) = (&params[0], &params[1]);
                let y_fact = Tensor::from_vec(y.data().iter().map(|v| crate::tensor::ops::unary::lgamma(*v as f64 + 1.0) as f32).collect(), y.shape());
                // r·ln(1-p) + y·ln p + lnΓ(r+y) - lnΓ(r) - lnΓ(y+1)
                r.mul(&p.rsub_scalar(1.0).log()).add(&y.mul(&p.log())).add(&r.add(y).lgamma()).sub(&r.lgamma()).sub(&y_fact)
            }
        }
    }

    /// `n` draws from the distribution with these (plain) parameter values.
    pub fn sample(self, params: &[f32], n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        match self {
            Distribution::Normal => (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    params[0] + params[1] * z as f32
                })
                .collect(),
            Distribution::StudentT => {
                let t = StudentTDist::new(params[0] as f64).expect("df > 3 after the domain map");
                (0..n).map(|_| params[1] + params[2] * t.sample(rng) as f32).collect()
            }
            Distribution::Poisson => {
                let d = PoissonDist::new(params[0].max(1e-10) as f64).expect("rate > 0");
                (0..n).map(|_| d.sample(rng) as f32).collect()
            }
            Distribution::NegativeBinomial => {
                // Gamma-Poisson mixture: λ ~ Gamma(r, p/(1-p)), y ~ Poisson(λ).
                let (r, p) = (params[0] as f64, (params[1] as f64).min(1.0 - 1e-6));
                let gamma = Gamma::new(r.max(1e-8), p / (1.0 - p)).expect("positive shape and scale");
                (0..n)
                    .map(|_| {
                        let lambda: f64 = gamma.sample(rng);
                        if lambda <= 0.0 {
                            0.0
                        } else {
                            PoissonDist::new(lambda).map_or(0.0, |d| d.sample(rng) as f32)
                        }
                    })
                    .collect()
            }
        }
    }
}

/// torch.quantile's linear interpolation on sorted values.
pub fn quantile(sorted: &[f32], q: f32) -> f32 {
    let pos = q * (sorted.len() - 1) as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f32)
}

/// A seeded stream for sampling forecasts.
pub fn sampler(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

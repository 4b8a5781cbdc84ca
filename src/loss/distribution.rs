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

    /// [`Distribution::decouple`] on plain values: raw outputs `[n, h, P]` and per-window shift
    /// and scale give each point's parameters, `[n·h][P]`.
    pub fn decoupled_values(self, raw: &[f32], h: usize, shift: &[f32], scale: &[f32]) -> Vec<Vec<f32>> {
        let k = self.params();
        let n = raw.len() / (h * k);
        let params = crate::tensor::no_grad(|| {
            self.decouple(
                &Tensor::from_vec(raw.to_vec(), &[n, h, k]),
                &Tensor::from_vec(shift.to_vec(), &[n, 1]),
                &Tensor::from_vec(scale.to_vec(), &[n, 1]),
            )
        });
        let params: Vec<Vec<f32>> = params.iter().map(Tensor::to_vec).collect();
        (0..n * h).map(|i| params.iter().map(|v| v[i]).collect()).collect()
    }

    /// The analytic mean of one point's decoupled parameters (torch.distributions' `mean`).
    pub fn mean(self, params: &[f32]) -> f32 {
        match self {
            Distribution::Normal | Distribution::Poisson => params[0],
            // df > 3 after the domain map, so the mean is the location.
            Distribution::StudentT => params[1],
            Distribution::NegativeBinomial => params[0] * params[1] / (1.0 - params[1]),
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
    ///
    /// Parameters outside the distribution's domain (not finite, from a diverged model, or a
    /// negative-binomial probability outside (0, 1) from a target below zero) give NaN draws, so
    /// that point's forecast is NaN, as a diverged point model's is. Neither panics, and neither
    /// reaches rand_distr's Poisson sampler, whose rejection loop never ends for an infinite rate.
    pub fn sample(self, params: &[f32], n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
        if !params.iter().all(|p| p.is_finite()) {
            return vec![f32::NAN; n];
        }
        match self {
            Distribution::Normal => (0..n)
                .map(|_| {
                    let z: f64 = StandardNormal.sample(rng);
                    params[0] + params[1] * z as f32
                })
                .collect(),
            Distribution::StudentT => match StudentTDist::new(params[0] as f64) {
                Ok(t) => (0..n).map(|_| params[1] + params[2] * t.sample(rng) as f32).collect(),
                Err(_) => vec![f32::NAN; n],
            },
            Distribution::Poisson => {
                let rate = (params[0] as f64).max(1e-10);
                (0..n).map(|_| poisson(rate, rng)).collect()
            }
            Distribution::NegativeBinomial => {
                // Gamma-Poisson mixture: λ ~ Gamma(r, p/(1-p)), y ~ Poisson(λ).
                let (r, p) = (params[0] as f64, (params[1] as f64).min(1.0 - 1e-6));
                match Gamma::new(r.max(1e-8), p / (1.0 - p)) {
                    Ok(gamma) if p > 0.0 => (0..n).map(|_| poisson(gamma.sample(rng), rng)).collect(),
                    _ => vec![f32::NAN; n],
                }
            }
        }
    }
}

/// One Poisson draw at rate `lambda`: 0 for a rate that is not positive, NaN for an infinite one
/// (rand_distr's rejection sampler never returns for it; it is exact for every finite rate).
fn poisson(lambda: f64, rng: &mut ChaCha8Rng) -> f32 {
    if !lambda.is_finite() {
        return f32::NAN;
    }
    if !(lambda > 0.0) {
        return 0.0;
    }
    PoissonDist::new(lambda).map_or(f32::NAN, |d| d.sample(rng) as f32)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_never_panics_or_hangs_on_parameters_outside_the_domain() {
        let mut rng = sampler(1);
        let cases: [(Distribution, &[f32]); 9] = [
            (Distribution::Normal, &[f32::NAN, 1.0]),
            (Distribution::StudentT, &[f32::INFINITY, 0.0, 1.0]),
            (Distribution::StudentT, &[f32::NAN, 0.0, 1.0]),
            (Distribution::StudentT, &[-1.0, 0.0, 1.0]),
            (Distribution::Poisson, &[f32::INFINITY]),
            (Distribution::Poisson, &[f32::NAN]),
            (Distribution::NegativeBinomial, &[f32::INFINITY, 0.5]),
            (Distribution::NegativeBinomial, &[2.0, -0.5]),
            (Distribution::NegativeBinomial, &[2.0, f32::NEG_INFINITY]),
        ];
        for (d, p) in cases {
            let draws = d.sample(p, 50, &mut rng);
            assert_eq!(draws.len(), 50);
            assert!(draws.iter().all(|v| v.is_nan()), "{d:?} {p:?}: {draws:?}");
        }
    }

    #[test]
    fn huge_finite_rates_draw_near_the_rate() {
        let mut rng = sampler(2);
        for rate in [1e8f32, 1e20, 3e38] {
            let draws = Distribution::Poisson.sample(&[rate], 200, &mut rng);
            let mean = draws.iter().map(|v| *v as f64).sum::<f64>() / 200.0;
            assert!((mean / rate as f64 - 1.0).abs() < 1e-3, "rate {rate}: mean {mean}");
        }
        // A negative binomial whose gamma draws are huge goes through the same path.
        let draws = Distribution::NegativeBinomial.sample(&[1e6, 1.0 - 1e-7], 20, &mut rng);
        assert!(draws.iter().all(|v| v.is_finite() && *v > 0.0), "{draws:?}");
        // Ordinary rates still use the exact sampler: small counts, mean near the rate.
        let draws = Distribution::Poisson.sample(&[3.0], 2000, &mut rng);
        let mean = draws.iter().sum::<f32>() / 2000.0;
        assert!(draws.iter().all(|v| v.fract() == 0.0) && (mean - 3.0).abs() < 0.2, "{mean}");
    }

    #[test]
    fn means_follow_torch() {
        assert_eq!(Distribution::Normal.mean(&[2.0, 1.0]), 2.0);
        assert_eq!(Distribution::StudentT.mean(&[4.0, -1.5, 2.0]), -1.5);
        assert_eq!(Distribution::Poisson.mean(&[7.0]), 7.0);
        // total_count · p / (1 - p)
        assert!((Distribution::NegativeBinomial.mean(&[3.0, 0.25]) - 1.0).abs() < 1e-6);
    }
}

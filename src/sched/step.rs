//! Step and exponential decay.

use super::Scheduler;

/// Multiplies the rate by `gamma` every `step_size` steps (PyTorch's StepLR).
pub struct StepLr {
    pub base: f64,
    pub step_size: usize,
    pub gamma: f64,
}

impl StepLr {
    /// NeuralForecast's default: halve the rate `num_lr_decays` times over `max_steps`
    /// (`step_size = max(max_steps / num_lr_decays, 1)`); no decay when `num_lr_decays` <= 0.
    pub fn neuralforecast(base: f64, max_steps: usize, num_lr_decays: i64) -> StepLr {
        let step_size = if num_lr_decays > 0 { (max_steps / num_lr_decays as usize).max(1) } else { usize::MAX };
        StepLr { base, step_size, gamma: 0.5 }
    }
}

impl Scheduler for StepLr {
    fn lr(&mut self, step: usize) -> f64 {
        self.base * self.gamma.powi((step / self.step_size) as i32)
    }
}

/// `base · gamma^step`.
pub struct ExponentialLr {
    pub base: f64,
    pub gamma: f64,
}

impl Scheduler for ExponentialLr {
    fn lr(&mut self, step: usize) -> f64 {
        self.base * self.gamma.powi(step as i32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neuralforecast_default_halves_three_times() {
        let mut s = StepLr::neuralforecast(1e-3, 300, 3);
        assert_eq!(s.lr(0), 1e-3);
        assert_eq!(s.lr(99), 1e-3);
        assert_eq!(s.lr(100), 5e-4);
        assert_eq!(s.lr(299), 2.5e-4);
        let mut none = StepLr::neuralforecast(1e-3, 300, -1);
        assert_eq!(none.lr(10_000), 1e-3);
        assert!((ExponentialLr { base: 1.0, gamma: 0.5 }.lr(3) - 0.125).abs() < 1e-12);
    }
}

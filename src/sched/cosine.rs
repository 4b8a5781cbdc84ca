//! Cosine annealing from `base` to `min` over `t_max` steps (PyTorch's CosineAnnealingLR, no restarts).

use super::Scheduler;

pub struct CosineAnnealing {
    pub base: f64,
    pub min: f64,
    pub t_max: usize,
}

impl Scheduler for CosineAnnealing {
    fn lr(&mut self, step: usize) -> f64 {
        let t = step.min(self.t_max) as f64 / self.t_max.max(1) as f64;
        self.min + (self.base - self.min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_at_min() {
        let mut s = CosineAnnealing { base: 1.0, min: 0.1, t_max: 10 };
        assert_eq!(s.lr(0), 1.0);
        assert!((s.lr(5) - 0.55).abs() < 1e-12);
        assert!((s.lr(10) - 0.1).abs() < 1e-12);
    }
}

//! Reduce the rate by `factor` when validation loss has not improved for `patience` checks.

use super::Scheduler;

pub struct ReduceOnPlateau {
    current: f64,
    factor: f64,
    patience: usize,
    min_lr: f64,
    best: f64,
    bad_checks: usize,
}

impl ReduceOnPlateau {
    pub fn new(base: f64, factor: f64, patience: usize, min_lr: f64) -> Self {
        ReduceOnPlateau { current: base, factor, patience, min_lr, best: f64::INFINITY, bad_checks: 0 }
    }
}

impl Scheduler for ReduceOnPlateau {
    fn lr(&mut self, _step: usize) -> f64 {
        self.current
    }
    fn observe_validation(&mut self, loss: f64) {
        if loss < self.best {
            self.best = loss;
            self.bad_checks = 0;
        } else {
            self.bad_checks += 1;
            if self.bad_checks > self.patience {
                self.current = (self.current * self.factor).max(self.min_lr);
                self.bad_checks = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduces_after_patience() {
        let mut s = ReduceOnPlateau::new(1.0, 0.5, 1, 0.1);
        s.observe_validation(1.0);
        s.observe_validation(2.0);
        assert_eq!(s.lr(0), 1.0);
        s.observe_validation(2.0);
        assert_eq!(s.lr(0), 0.5);
    }
}

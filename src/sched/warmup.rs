//! Linear warm-up followed by a linear or cosine decay to zero (transformer training schedules).

use super::Scheduler;

fn warm(base: f64, warmup: usize, step: usize) -> Option<f64> {
    (step < warmup).then(|| base * (step + 1) as f64 / warmup as f64)
}

/// Warm up linearly over `warmup` steps, then decay linearly to 0 at `total`.
pub struct WarmupLinear {
    pub base: f64,
    pub warmup: usize,
    pub total: usize,
}

impl Scheduler for WarmupLinear {
    fn lr(&mut self, step: usize) -> f64 {
        warm(self.base, self.warmup, step).unwrap_or_else(|| {
            let left = self.total.saturating_sub(step) as f64 / self.total.saturating_sub(self.warmup).max(1) as f64;
            self.base * left.clamp(0.0, 1.0)
        })
    }
}

/// Warm up linearly over `warmup` steps, then follow a half cosine to 0 at `total`.
pub struct WarmupCosine {
    pub base: f64,
    pub warmup: usize,
    pub total: usize,
}

impl Scheduler for WarmupCosine {
    fn lr(&mut self, step: usize) -> f64 {
        warm(self.base, self.warmup, step).unwrap_or_else(|| {
            let t = (step - self.warmup) as f64 / self.total.saturating_sub(self.warmup).max(1) as f64;
            self.base * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays() {
        let mut l = WarmupLinear { base: 1.0, warmup: 4, total: 12 };
        assert_eq!(l.lr(0), 0.25);
        assert_eq!(l.lr(3), 1.0);
        assert_eq!(l.lr(8), 0.5);
        assert_eq!(l.lr(12), 0.0);
        let mut c = WarmupCosine { base: 1.0, warmup: 2, total: 6 };
        assert_eq!(c.lr(1), 1.0);
        assert!((c.lr(4) - 0.5).abs() < 1e-12);
    }
}

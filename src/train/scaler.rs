//! Dynamic loss scaling for '16-mixed', as PyTorch's `GradScaler` with Lightning's settings.
//!
//! f16 gradients below 2^-24 flush to zero; the loss is multiplied by the scale before backward so
//! that small gradients survive the 16-bit rounding, and the gradients are divided by it again
//! before clipping and the optimizer step. A gradient that overflowed (inf or NaN) skips the step
//! and halves the scale; 2000 steps in a row without one double it.

use crate::tensor::{Gradients, Tensor};

/// GradScaler's defaults: `init_scale`, `growth_factor`, `backoff_factor`, `growth_interval`.
const INIT_SCALE: f32 = 65536.0;
const GROWTH: f32 = 2.0;
const BACKOFF: f32 = 0.5;
const GROWTH_INTERVAL: u32 = 2000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScaler {
    pub scale: f32,
    /// Steps since the last overflow or growth (GradScaler's `_growth_tracker`).
    pub good_steps: u32,
}

impl Default for LossScaler {
    fn default() -> Self {
        LossScaler { scale: INIT_SCALE, good_steps: 0 }
    }
}

impl LossScaler {
    /// Divides the gradients of a scaled loss by the scale (in place), then updates the scale.
    /// Returns false, the gradients left as they were, when one of them is not finite: the
    /// caller skips the step.
    pub fn unscale(&mut self, params: &[(String, Tensor)], grads: &mut Gradients) -> bool {
        let finite = params.iter().filter_map(|(_, p)| grads.get(p)).all(|g| g.iter().all(|v| v.is_finite()));
        if finite {
            // GradScaler multiplies by the f32 reciprocal (exact: the scale is a power of two).
            let inverse = 1.0 / self.scale;
            for (_, p) in params {
                if let Some(g) = grads.get_mut(p) {
                    g.iter_mut().for_each(|v| *v *= inverse);
                }
            }
        }
        self.update(finite);
        finite
    }

    fn update(&mut self, finite: bool) {
        if !finite {
            self.scale *= BACKOFF;
            self.good_steps = 0;
            return;
        }
        self.good_steps += 1;
        if self.good_steps == GROWTH_INTERVAL {
            let grown = self.scale * GROWTH;
            // GradScaler grows only to a finite scale.
            if grown.is_finite() {
                self.scale = grown;
            }
            self.good_steps = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::error::Result;
    use crate::rng::Rng;
    use crate::tensor::Precision;
    use crate::train::{fit_in, Checkpoints, Local, TrainConfig, TrainState, TrainTask};

    fn grads_of(p: &Tensor, values: Vec<f32>) -> Gradients {
        let mut grads = Gradients::default();
        grads.set(p, values);
        grads
    }

    #[test]
    fn an_overflow_skips_the_step_and_halves_the_scale() {
        let p = Tensor::param(vec![0.0; 3], &[3]);
        let params = vec![("p".to_string(), p.clone())];
        let mut scaler = LossScaler { scale: 65536.0, good_steps: 7 };
        for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            let mut grads = grads_of(&p, vec![1.0, bad, 2.0]);
            let before = scaler.scale;
            assert!(!scaler.unscale(&params, &mut grads));
            assert_eq!((scaler.scale, scaler.good_steps), (before * 0.5, 0));
            assert_eq!(grads.get(&p).unwrap()[0], 1.0, "gradients of a skipped step are not unscaled");
        }
        let mut grads = grads_of(&p, vec![8192.0, -2.0, 0.5]);
        assert!(scaler.unscale(&params, &mut grads));
        assert_eq!(grads.get(&p).unwrap(), &vec![1.0, -2.0 / 8192.0, 0.5 / 8192.0]);
        assert_eq!((scaler.scale, scaler.good_steps), (8192.0, 1));
    }

    /// `mean((x·wᵀ - y)²)` with targets near 1000: at the initial scale 2^16 the output's
    /// gradient (about 250) passes f16's 65504 in the linear's backward.
    struct Big {
        w: Tensor,
        x: Tensor,
        y: Tensor,
    }

    impl TrainTask for Big {
        fn params(&self) -> Vec<(String, Tensor)> {
            vec![("w".to_string(), self.w.clone())]
        }
        fn train_loss(&mut self, _step: usize, _rng: &mut Rng) -> Result<Tensor> {
            Ok(self.x.linear(&self.w, None).sub(&self.y).square().mean_all())
        }
        fn valid_loss(&mut self) -> Result<Option<f64>> {
            Ok(None)
        }
    }

    /// Keeps the state after every step.
    struct Every(Vec<TrainState>);

    impl Checkpoints for Every {
        fn every(&self) -> usize {
            1
        }
        fn resume(&mut self) -> Result<Option<TrainState>> {
            Ok(None)
        }
        fn save(&mut self, state: &TrainState) -> Result<()> {
            self.0.push(state.clone());
            Ok(())
        }
    }

    fn big() -> Big {
        let mut rng = Rng::seed(5);
        Big { w: Tensor::param(vec![0.1; 4], &[1, 4]), x: Tensor::rand_uniform(&[8, 4], 0.5, 1.0, &mut rng), y: Tensor::full(&[8, 1], 1000.0) }
    }

    #[test]
    fn training_in_16_mixed_skips_overflowed_steps_and_backs_off_until_they_fit() {
        let mut cfg = TrainConfig::new(16, 0.1);
        cfg.precision = Precision::F16Mixed;
        let mut task = big();
        let mut states = Every(Vec::new());
        fit_in(&Local, &mut task, &cfg, &AtomicBool::new(false), &mut |_| {}, Some(&mut states)).unwrap();
        let scales: Vec<f32> = states.0.iter().map(|s| s.progress.scaler.scale).collect();
        let moved: Vec<bool> = states.0.iter().map(|s| s.params[0].1 != vec![0.1; 4]).collect();
        // Halved on each overflow, the weights untouched, until a step fits; then it trains.
        let skipped = moved.iter().position(|&m| m).expect("some step was taken");
        assert!(skipped >= 2, "the first steps overflow: {scales:?}");
        for (i, &s) in scales.iter().enumerate() {
            assert_eq!(s, 65536.0 * 0.5f32.powi((i + 1).min(skipped) as i32), "step {}: {scales:?}", i + 1);
        }
        assert!(moved[skipped..].iter().all(|&m| m));
        assert!(task.w.to_vec().iter().all(|v| v.is_finite() && *v > 0.1));
        // The scaler's state survives a checkpoint.
        let (config, buffers) = states.0[3].encode("");
        let decoded = TrainState::decode(&config, "", &mut buffers.into_iter().collect()).unwrap();
        assert_eq!(decoded, states.0[3]);

        // bf16 has f32's range: nothing overflows, the first step moves the weights.
        cfg.precision = Precision::Bf16Mixed;
        let mut states = Every(Vec::new());
        fit_in(&Local, &mut big(), &cfg, &AtomicBool::new(false), &mut |_| {}, Some(&mut states)).unwrap();
        assert!(states.0[0].params[0].1 != vec![0.1; 4]);
    }

    #[test]
    fn the_scale_doubles_after_2000_good_steps() {
        let p = Tensor::param(vec![0.0], &[1]);
        let params = vec![("p".to_string(), p.clone())];
        let mut scaler = LossScaler::default();
        for step in 1..=4000 {
            assert!(scaler.unscale(&params, &mut grads_of(&p, vec![1.0])));
            let want = if step < 2000 { 65536.0 } else if step < 4000 { 131072.0 } else { 262144.0 };
            assert_eq!(scaler.scale, want, "after step {step}");
        }
        assert_eq!(scaler.good_steps, 0);
        // An overflow resets the count: 1999 more good steps do not grow it.
        scaler.unscale(&params, &mut grads_of(&p, vec![f32::NAN]));
        for _ in 0..1999 {
            scaler.unscale(&params, &mut grads_of(&p, vec![1.0]));
        }
        assert_eq!((scaler.scale, scaler.good_steps), (131072.0, 1999));
        let mut top = LossScaler { scale: f32::MAX, good_steps: 1999 };
        top.update(true);
        assert_eq!(top.scale, f32::MAX, "never grows to inf");
    }
}

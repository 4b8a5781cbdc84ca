//! The trainer on a small MLP: every optimizer learns, early stopping restores the best weights,
//! cancellation and divergence are reported, runs are reproducible.

use super::*;
use crate::nn::{named_params, Linear, Module};

/// y = sin(x0) + 0.5·x1² on 256 fixed points; a 2-16-1 MLP.
struct Regression {
    l1: Linear,
    l2: Linear,
    x: Tensor,
    y: Tensor,
    /// Validation targets that grow worse as the fit improves (to test early stopping).
    adversarial_val: bool,
    /// Train on a random half of the points each step (so the sampling stream matters).
    stochastic: bool,
}

impl Module for Regression {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.l1.visit(&crate::nn::join(prefix, "l1"), f);
        self.l2.visit(&crate::nn::join(prefix, "l2"), f);
    }
}

impl Regression {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::seed(seed);
        let xs: Vec<f32> = (0..512).map(|_| rng.uniform(-2.0, 2.0)).collect();
        let ys: Vec<f32> = xs.chunks(2).map(|p| p[0].sin() + 0.5 * p[1] * p[1]).collect();
        Regression {
            l1: Linear::new(2, 16, true, &mut rng),
            l2: Linear::new(16, 1, true, &mut rng),
            x: Tensor::from_vec(xs, &[256, 2]),
            y: Tensor::from_vec(ys, &[256, 1]),
            adversarial_val: false,
            stochastic: false,
        }
    }
    fn mse(&self) -> Tensor {
        self.l2.forward(&self.l1.forward(&self.x).tanh()).sub(&self.y).square().mean_all()
    }
}

impl TrainTask for Regression {
    fn params(&self) -> Vec<(String, Tensor)> {
        named_params(self)
    }
    fn train_loss(&mut self, _step: usize, rng: &mut Rng) -> Result<Tensor> {
        if !self.stochastic {
            return Ok(self.mse());
        }
        let mask: Vec<f32> = (0..256).map(|_| rng.below(2) as f32).collect();
        let err = self.l2.forward(&self.l1.forward(&self.x).tanh()).sub(&self.y).square();
        Ok(err.mul(&Tensor::from_vec(mask, &[256, 1])).mean_all())
    }
    fn valid_loss(&mut self) -> Result<Option<f64>> {
        let v = crate::tensor::no_grad(|| self.mse().item() as f64);
        Ok(Some(if self.adversarial_val { 1.0 / v } else { v }))
    }
}

fn run(kind: OptimizerKind, lr: f64, steps: usize) -> (f64, f64) {
    let mut task = Regression::new(3);
    let first = task.mse().item() as f64;
    let mut cfg = TrainConfig::new(steps, lr);
    cfg.optimizer = kind;
    fit(&mut task, &cfg, &AtomicBool::new(false), &mut |_| {}).unwrap();
    (first, task.mse().item() as f64)
}

#[test]
fn every_optimizer_learns() {
    let kinds = [
        (OptimizerKind::default(), 0.01),
        (OptimizerKind::adamw(), 0.01),
        (OptimizerKind::Sgd { momentum: 0.9, dampening: 0.0, nesterov: true, weight_decay: 0.0 }, 0.05),
        (OptimizerKind::Sgd { momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }, 0.1),
        (OptimizerKind::RmsProp { alpha: 0.99, eps: 1e-8, momentum: 0.0, centered: false, weight_decay: 0.0 }, 0.003),
    ];
    for (kind, lr) in kinds {
        let (before, after) = run(kind.clone(), lr, 400);
        assert!(after < 0.1 * before && after < 0.05, "{kind:?}: {before} -> {after}");
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let mut task = Regression::new(4);
    task.adversarial_val = true;
    let mut cfg = TrainConfig::new(200, 0.01);
    cfg.val_check_steps = 10;
    cfg.early_stop_patience_steps = 2;
    cfg.restore_best = true;
    let h = fit(&mut task, &cfg, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(h.stopped_early);
    // The validation loss rises from the first check, so the best weights are those of step 10;
    // checks 20 and 30 do not improve, and patience 2 stops at the second of them.
    assert_eq!(h.best_step, Some(10));
    assert_eq!(h.train_loss.len(), 30);
    let restored = task.mse().item() as f64;
    assert!((restored - h.train_loss[10]).abs() < 0.02 * h.train_loss[10], "{restored} vs {}", h.train_loss[10]);
}

/// A task whose validation losses follow a script (one per check), to pin the stopping step.
struct Scripted {
    w: Tensor,
    vals: Vec<f64>,
    checks: usize,
}

impl TrainTask for Scripted {
    fn params(&self) -> Vec<(String, Tensor)> {
        vec![("w".into(), self.w.clone())]
    }
    fn train_loss(&mut self, _: usize, _: &mut Rng) -> Result<Tensor> {
        Ok(self.w.square().sum_all())
    }
    fn valid_loss(&mut self) -> Result<Option<f64>> {
        self.checks += 1;
        Ok(Some(self.vals[(self.checks - 1).min(self.vals.len() - 1)]))
    }
}

/// The step training ends at, with checks every 5 steps over at most 100.
fn stop_step(vals: &[f64], patience: i64) -> (usize, bool) {
    let mut task = Scripted { w: Tensor::param(vec![1.0], &[1]), vals: vals.to_vec(), checks: 0 };
    let mut cfg = TrainConfig::new(100, 0.01);
    cfg.val_check_steps = 5;
    cfg.early_stop_patience_steps = patience;
    let mut last = None;
    let h = fit(&mut task, &cfg, &AtomicBool::new(false), &mut |r| {
        if r.last {
            last = Some(r.step);
        }
    })
    .unwrap();
    assert_eq!(last, Some(h.train_loss.len()), "the last report is flagged");
    (h.train_loss.len(), h.stopped_early)
}

#[test]
fn early_stopping_stops_where_lightning_does() {
    // Best at check 2 (step 10); checks 3 and 4 (a tie, then worse) do not improve: patience 2
    // stops at check 4 = step 20, patience 3 at check 5 = step 25.
    let curve = [5.0, 4.0, 4.0, 4.5, 6.0, 7.0];
    assert_eq!(stop_step(&curve, 2), (20, true));
    assert_eq!(stop_step(&curve, 3), (25, true));
    assert_eq!(stop_step(&curve, 1), (15, true));
    // An improvement resets the count.
    assert_eq!(stop_step(&[5.0, 6.0, 4.0, 6.0, 6.0], 2), (25, true));
    // Patience 0 (and any negative value) disables early stopping, as NeuralForecast adds the
    // callback only for a patience > 0.
    assert_eq!(stop_step(&curve, 0), (100, false));
    assert_eq!(stop_step(&curve, -1), (100, false));
    // A non-finite validation loss stops at once (Lightning's check_finite).
    assert_eq!(stop_step(&[5.0, f64::NAN], 10), (10, true));
    assert_eq!(stop_step(&[5.0, 4.0, f64::INFINITY], 10), (15, true));
}

#[test]
fn cancellation_stops_within_one_step() {
    let mut task = Regression::new(5);
    let cancel = AtomicBool::new(false);
    let mut steps = 0;
    let err = fit(&mut task, &TrainConfig::new(100, 0.01), &cancel, &mut |r| {
        steps = r.step;
        if r.step == 3 {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .unwrap_err();
    assert_eq!(err.kind, crate::ErrorKind::Aborted);
    assert_eq!(steps, 3);
}

#[test]
fn a_diverging_loss_is_an_error_naming_the_step() {
    struct Nan;
    impl TrainTask for Nan {
        fn params(&self) -> Vec<(String, Tensor)> {
            vec![]
        }
        fn train_loss(&mut self, _: usize, _: &mut Rng) -> Result<Tensor> {
            Ok(Tensor::scalar(f32::NAN))
        }
        fn valid_loss(&mut self) -> Result<Option<f64>> {
            Ok(None)
        }
    }
    let err = fit(&mut Nan, &TrainConfig::new(5, 0.1), &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(err.message.contains("step 1"), "{err}");
}

#[test]
fn same_seed_same_bits() {
    let weights = |seed| {
        let mut task = Regression::new(seed);
        fit(&mut task, &TrainConfig::new(30, 0.01), &AtomicBool::new(false), &mut |_| {}).unwrap();
        named_params(&task).into_iter().flat_map(|(_, t)| t.to_vec()).collect::<Vec<f32>>()
    };
    assert_eq!(weights(7), weights(7));
}

#[test]
fn training_records_a_graph_even_when_called_inside_no_grad() {
    // The thread's autograd mode is not the fit's: a fit run by a thread that is inside an
    // inference (as a work-stealing pool could do) trains as it would alone.
    let alone = {
        let mut task = Regression::new(5);
        fit(&mut task, &TrainConfig::new(20, 0.01), &AtomicBool::new(false), &mut |_| {}).unwrap();
        named_params(&task).into_iter().flat_map(|(_, t)| t.to_vec()).collect::<Vec<f32>>()
    };
    let inside = crate::tensor::no_grad(|| {
        let mut task = Regression::new(5);
        fit(&mut task, &TrainConfig::new(20, 0.01), &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert!(!crate::tensor::grad_enabled(), "the caller's mode is restored");
        named_params(&task).into_iter().flat_map(|(_, t)| t.to_vec()).collect::<Vec<f32>>()
    });
    assert_eq!(alone, inside);
}

#[test]
fn a_step_that_reaches_no_parameter_is_an_error_not_a_silent_commit() {
    // A loss cut from the graph (as one built with recording off would be).
    struct Detached(Regression);
    impl TrainTask for Detached {
        fn params(&self) -> Vec<(String, Tensor)> {
            self.0.params()
        }
        fn train_loss(&mut self, _: usize, _: &mut Rng) -> Result<Tensor> {
            Ok(self.0.mse().detach())
        }
        fn valid_loss(&mut self) -> Result<Option<f64>> {
            Ok(None)
        }
    }
    let mut task = Detached(Regression::new(2));
    let before: Vec<f32> = task.params().iter().flat_map(|(_, t)| t.to_vec()).collect();
    let err = fit(&mut task, &TrainConfig::new(5, 0.1), &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(err.message.contains("no gradient") && err.message.contains("step 1"), "{err}");
    let after: Vec<f32> = task.params().iter().flat_map(|(_, t)| t.to_vec()).collect();
    assert_eq!(before, after);
}

/// Checkpoints kept in memory, as a file holds them (JSON text and named buffers).
struct InMemory {
    every: usize,
    saved: Option<(String, HashMap<String, Vec<f32>>)>,
    saves: usize,
}

impl Checkpoints for InMemory {
    fn every(&self) -> usize {
        self.every
    }
    fn resume(&mut self) -> Result<Option<TrainState>> {
        let Some((text, buffers)) = &self.saved else { return Ok(None) };
        TrainState::decode(&serde_json::from_str(text).unwrap(), "m.", &mut buffers.clone()).map(Some)
    }
    fn save(&mut self, state: &TrainState) -> Result<()> {
        let (config, buffers) = state.encode("m.");
        self.saved = Some((config.to_string(), buffers.into_iter().collect()));
        self.saves += 1;
        Ok(())
    }
}

use std::collections::HashMap;

fn bits(task: &Regression) -> Vec<u32> {
    named_params(task).into_iter().flat_map(|(_, t)| t.to_vec()).map(f32::to_bits).collect()
}

#[test]
fn a_fit_cancelled_and_resumed_ends_bit_for_bit_as_an_uninterrupted_one() {
    // Adam with three lr halvings, early stopping with restore_best, a sampling stream: with the
    // adversarial validation the resumed run stops early (step 25), without it it runs to the end.
    for adversarial in [false, true] {
        let task = || {
            let mut t = Regression::new(8);
            t.stochastic = true;
            t.adversarial_val = adversarial;
            t
        };
        let mut cfg = TrainConfig::new(60, 0.01);
        cfg.num_lr_decays = 3;
        cfg.val_check_steps = 5;
        cfg.early_stop_patience_steps = 4;
        cfg.restore_best = true;
        let mut whole = task();
        let expected = fit(&mut whole, &cfg, &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(expected.stopped_early, adversarial);

        let mut store = InMemory { every: 10, saved: None, saves: 0 };
        let cancel = AtomicBool::new(false);
        let mut first = task();
        let err = fit_in(&Local, &mut first, &cfg, &cancel, &mut |r| cancel.store(r.step == 17, Ordering::Relaxed), Some(&mut store)).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Aborted);
        assert_eq!(store.saves, 1, "saved at step 10 only");
        // A new process: fresh weights, optimizer and stream, all replaced by the checkpoint's.
        let mut resumed = task();
        let mut steps = Vec::new();
        let history = fit_in(&Local, &mut resumed, &cfg, &AtomicBool::new(false), &mut |r| steps.push(r.step), Some(&mut store)).unwrap();
        assert_eq!(steps.first(), Some(&11), "continues after the checkpoint's step");
        assert_eq!(bits(&resumed), bits(&whole), "adversarial {adversarial}");
        assert_eq!(history, expected);
    }
}

#[test]
fn every_optimizer_continues_exactly_from_its_state() {
    let kinds = [
        OptimizerKind::default(),
        OptimizerKind::adamw(),
        OptimizerKind::Sgd { momentum: 0.9, dampening: 0.1, nesterov: false, weight_decay: 0.01 },
        OptimizerKind::RmsProp { alpha: 0.99, eps: 1e-8, momentum: 0.5, centered: true, weight_decay: 0.0 },
    ];
    for kind in kinds {
        let p = Tensor::param(vec![0.5, -1.5, 2.0], &[3]);
        let params = vec![("p".to_string(), p.clone())];
        let step = |opt: &mut dyn crate::optim::Optimizer| {
            let grads = p.square().sum_all().backward();
            opt.step(&params, &grads, 0.05);
        };
        let mut a = kind.build();
        (0..3).for_each(|_| step(a.as_mut()));
        let state = a.state();
        assert!(!state.0.is_empty(), "{kind:?} keeps state");
        let weights = p.to_vec();
        let mut b = kind.build();
        b.restore(state.clone()).unwrap();
        assert_eq!(b.state(), state, "{kind:?}: state round-trips");
        (0..2).for_each(|_| step(a.as_mut()));
        let after_a = p.to_vec();
        p.data_mut().copy_from_slice(&weights);
        (0..2).for_each(|_| step(b.as_mut()));
        assert_eq!(p.to_vec(), after_a, "{kind:?}");
    }
    // A state of another kind (other buffers) is refused, not misread.
    let mut adam = OptimizerKind::default().build();
    let mut sgd_state = crate::optim::OptimState::default();
    sgd_state.0.insert("p".into(), crate::optim::ParamState { buffers: vec![vec![0.0; 3]], step: 0 });
    assert!(adam.restore(sgd_state).is_err());
}

#[test]
fn a_state_of_another_model_is_refused() {
    let mut store = InMemory { every: 5, saved: None, saves: 0 };
    let cfg = TrainConfig::new(12, 0.01);
    fit_in(&Local, &mut Regression::new(1), &cfg, &AtomicBool::new(false), &mut |_| {}, Some(&mut store)).unwrap();
    assert_eq!(store.saves, 2);
    let mut other = Scripted { w: Tensor::param(vec![1.0], &[1]), vals: vec![1.0], checks: 0 };
    let err = fit_in(&Local, &mut other, &cfg, &AtomicBool::new(false), &mut |_| {}, Some(&mut store)).unwrap_err();
    assert_eq!(err.kind, crate::ErrorKind::Format);
    assert!(err.message.contains("not this model's"), "{err}");
}

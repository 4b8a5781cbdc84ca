//! The trainer's steps across a [`Collective`] world of more than one rank: the batch is global,
//! each rank computes the loss sum and gradient over its share, one flat gradient buffer is summed
//! over the ranks and divided by the global point count, so every rank takes the same step.
//!
//! Every rank makes the same collective calls whatever happens locally: a rank that fails or is
//! aborted still takes part in the step's first reduction with a failure flag, and then every rank
//! stops, instead of the others waiting forever for it.

use std::sync::atomic::{AtomicBool, Ordering};

use super::collective::{check_same, failed, Collective};
use super::{TrainConfig, TrainTask};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::{with_grad_mode, Gradients, Tensor};

/// Checks that every rank trains alike, then puts rank 0's initial parameters on every rank.
pub(super) fn start(world: &dyn Collective, params: &[(String, Tensor)], cfg: &TrainConfig) -> Result<()> {
    let total: usize = params.iter().map(|(_, p)| p.numel()).sum();
    check_same(
        world,
        &[
            ("the number of parameter tensors", params.len() as f64),
            ("the number of parameters", total as f64),
            ("maxSteps", cfg.max_steps as f64),
            ("valCheckSteps", cfg.val_check_steps as f64),
            ("earlyStopPatienceSteps", cfg.early_stop_patience_steps as f64),
        ],
    )?;
    let flat = world.broadcast_f32(params.iter().flat_map(|(_, p)| p.to_vec()).collect())?;
    let mut offset = 0;
    for (_, p) in params {
        let n = p.numel();
        p.data_mut().copy_from_slice(&flat[offset..offset + n]);
        offset += n;
    }
    Ok(())
}

/// The global batch's mean loss and gradient of the mean times `scale`, the same on every rank.
pub(super) fn gradients(world: &dyn Collective, task: &mut dyn TrainTask, params: &[(String, Tensor)], step: usize, rng: &mut Rng, cancel: &AtomicBool, scale: f32) -> Result<(f64, Gradients)> {
    let local = if cancel.load(Ordering::Relaxed) {
        Err(Error::aborted())
    } else {
        with_grad_mode(true, || -> Result<(f64, f64, Gradients)> {
            let (sum, count) = task.train_loss_sum(step, rng)?;
            Ok((sum.item() as f64, count, sum.backward_scaled(scale)))
        })
    };
    // [loss sum, point count, failures, then per tensor: ranks whose gradient reached it].
    let mut stats = vec![0.0f64; 3 + params.len()];
    let sizes: Vec<usize> = params.iter().map(|(_, p)| p.numel()).collect();
    let mut flat = Vec::with_capacity(sizes.iter().sum());
    match &local {
        Ok((sum, count, grads)) => {
            (stats[0], stats[1]) = (*sum, *count);
            for (i, (_, p)) in params.iter().enumerate() {
                match grads.get(p) {
                    Some(g) => {
                        flat.extend_from_slice(g);
                        stats[3 + i] = 1.0;
                    }
                    None => flat.resize(flat.len() + sizes[i], 0.0),
                }
            }
        }
        Err(_) => stats[2] = 1.0,
    }
    let stats = world.all_reduce_sum_f64(stats)?;
    if stats[2] > 0.0 {
        return Err(failed(local, stats[2], &format!("step {}", step + 1)));
    }
    let (_, _, mut grads) = local?;
    let flat = world.all_reduce_sum_f32(flat)?;
    let count = stats[1];
    let inverse = if count > 0.0 { 1.0 / count } else { 0.0 };
    let mut offset = 0;
    for (i, (_, p)) in params.iter().enumerate() {
        if stats[3 + i] > 0.0 {
            grads.set(p, flat[offset..offset + sizes[i]].iter().map(|g| (*g as f64 * inverse) as f32).collect());
        }
        offset += sizes[i];
    }
    Ok((stats[0] * inverse, grads))
}

/// The validation loss over every rank's share, reduced as (sum, count); None when no rank has
/// validation data.
pub(super) fn valid_loss(world: &dyn Collective, task: &mut dyn TrainTask, step: usize) -> Result<Option<f64>> {
    let local = task.valid_loss_sum();
    let stats = match &local {
        Ok((sum, count)) => vec![*sum, *count, 0.0],
        Err(_) => vec![0.0, 0.0, 1.0],
    };
    let stats = world.all_reduce_sum_f64(stats)?;
    if stats[2] > 0.0 {
        return Err(failed(local, stats[2], &format!("the validation after step {step}")));
    }
    Ok((stats[1] > 0.0).then(|| stats[0] / stats[1]))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::super::collective::threads::Threads;
    use super::super::{fit_in, TrainConfig, TrainTask};
    use crate::error::{Error, Result};
    use crate::rng::Rng;
    use crate::tensor::Tensor;

    /// Loss Σ (w - target_i)² over this rank's targets; a failing rank errs at step 3.
    struct Quadratic {
        w: Tensor,
        targets: Vec<f32>,
        fails: bool,
    }

    impl TrainTask for Quadratic {
        fn params(&self) -> Vec<(String, Tensor)> {
            vec![("w".into(), self.w.clone())]
        }
        fn train_loss(&mut self, step: usize, rng: &mut Rng) -> Result<Tensor> {
            let (sum, count) = self.train_loss_sum(step, rng)?;
            Ok(sum.mul_scalar(1.0 / count as f32))
        }
        fn valid_loss(&mut self) -> Result<Option<f64>> {
            Ok(Some(self.w.item() as f64))
        }
        fn train_loss_sum(&mut self, step: usize, _: &mut Rng) -> Result<(Tensor, f64)> {
            if self.fails && step == 2 {
                return Err(Error::value("this rank's data went bad"));
            }
            let t = Tensor::from_vec(self.targets.clone(), &[self.targets.len()]);
            Ok((self.w.broadcast_to(&[self.targets.len()]).sub(&t).square().sum_all(), self.targets.len() as f64))
        }
        fn valid_loss_sum(&mut self) -> Result<(f64, f64)> {
            Ok((self.w.item() as f64, 1.0))
        }
    }

    /// Each rank's final w and fit result, rank r starting from w = r (rank 0's value wins).
    fn run(targets: &[&[f32]], failing: Option<usize>) -> Vec<(f32, Result<()>)> {
        let mut cfg = TrainConfig::new(20, 0.1);
        cfg.val_check_steps = 5;
        std::thread::scope(|s| {
            let handles: Vec<_> = Threads::world(targets.len())
                .into_iter()
                .zip(targets)
                .map(|(world, t)| {
                    let cfg = cfg.clone();
                    s.spawn(move || {
                        let rank = super::Collective::rank(&world);
                        let mut task = Quadratic { w: Tensor::param(vec![rank as f32], &[1]), targets: t.to_vec(), fails: failing == Some(rank) };
                        let r = fit_in(&world, &mut task, &cfg, &AtomicBool::new(false), &mut |_| {}, None).map(|_| ());
                        (task.w.item(), r)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn ranks_start_from_rank_0_and_step_on_the_mean_over_every_ranks_points() {
        // Three points on rank 0, one on rank 1: the minimum is their mean, 2.5, not the mean of
        // the ranks' means (3.0).
        let out = run(&[&[1.0, 2.0, 3.0], &[4.0]], None);
        let mut single = Quadratic { w: Tensor::param(vec![0.0], &[1]), targets: vec![1.0, 2.0, 3.0, 4.0], fails: false };
        let mut cfg = TrainConfig::new(20, 0.1);
        cfg.val_check_steps = 5;
        super::super::fit(&mut single, &cfg, &AtomicBool::new(false), &mut |_| {}).unwrap();
        for (w, r) in &out {
            r.as_ref().unwrap();
            assert_eq!(*w, out[0].0, "every rank ends with the same parameters");
            assert!((w - single.w.item()).abs() <= 1e-6 * single.w.item().abs(), "{w} vs one process {}", single.w.item());
        }
    }

    #[test]
    fn a_rank_that_fails_stops_every_rank_with_an_error_instead_of_a_hang() {
        let out = run(&[&[1.0], &[2.0], &[3.0]], Some(1));
        assert!(out[1].1.as_ref().unwrap_err().to_string().contains("this rank's data went bad"));
        for r in [0, 2] {
            let e = out[r].1.as_ref().unwrap_err().to_string();
            assert!(e.contains("stopped at step 3") && e.contains("1 other rank(s) failed"), "{e}");
        }
    }
}

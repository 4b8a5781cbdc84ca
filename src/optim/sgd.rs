//! Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (PyTorch's).

use std::collections::HashMap;

use super::{OptimState, Optimizer, ParamState};
use crate::error::Result;
use crate::tensor::{Gradients, Tensor};

pub struct Sgd {
    momentum: f32,
    dampening: f32,
    nesterov: bool,
    weight_decay: f32,
    velocity: HashMap<String, Vec<f32>>,
}

impl Sgd {
    pub fn new(momentum: f64, dampening: f64, nesterov: bool, weight_decay: f64) -> Sgd {
        Sgd { momentum: momentum as f32, dampening: dampening as f32, nesterov, weight_decay: weight_decay as f32, velocity: HashMap::new() }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &[(String, Tensor)], grads: &Gradients, lr: f64) {
        let lr = lr as f32;
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            let mut w = p.data_mut();
            let first = !self.velocity.contains_key(name);
            let buf = self.velocity.entry(name.clone()).or_insert_with(|| vec![0.0; g.len()]);
            for i in 0..g.len() {
                let mut d = g[i] + self.weight_decay * w[i];
                if self.momentum != 0.0 {
                    // PyTorch seeds the buffer with the first gradient, undamped.
                    buf[i] = if first { d } else { self.momentum * buf[i] + (1.0 - self.dampening) * d };
                    d = if self.nesterov { d + self.momentum * buf[i] } else { buf[i] };
                }
                w[i] -= lr * d;
            }
        }
    }

    fn state(&self) -> OptimState {
        OptimState(self.velocity.iter().map(|(n, v)| (n.clone(), ParamState { buffers: vec![v.clone()], step: 0 })).collect())
    }

    fn restore(&mut self, state: OptimState) -> Result<()> {
        self.velocity = state.entries(1, |mut b, _| b.pop().unwrap_or_default())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_accumulates_like_pytorch() {
        let p = Tensor::param(vec![0.0], &[1]);
        let mut opt = Sgd::new(0.9, 0.0, false, 0.0);
        for _ in 0..2 {
            let grads = p.add_scalar(0.0).mul_scalar(0.0).add_scalar(1.0).mul(&p.add_scalar(1.0)).sum_all().backward();
            opt.step(&[("p".into(), p.clone())], &grads, 0.1);
        }
        // g = 1 both steps: buf 1 then 1.9 → θ = -0.1 - 0.19.
        assert!((p.item() + 0.29).abs() < 1e-6, "{}", p.item());
    }
}

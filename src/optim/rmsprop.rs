//! RMSprop (PyTorch's: alpha, eps outside the square root, optional momentum and centering).

use std::collections::HashMap;

use super::{OptimState, Optimizer, ParamState};
use crate::error::Result;
use crate::tensor::{Gradients, Tensor};

#[derive(Default)]
struct State {
    square_avg: Vec<f32>,
    grad_avg: Vec<f32>,
    momentum: Vec<f32>,
}

pub struct RmsProp {
    alpha: f32,
    eps: f32,
    momentum: f32,
    centered: bool,
    weight_decay: f32,
    state: HashMap<String, State>,
}

impl RmsProp {
    pub fn new(alpha: f64, eps: f64, momentum: f64, centered: bool, weight_decay: f64) -> RmsProp {
        RmsProp { alpha: alpha as f32, eps: eps as f32, momentum: momentum as f32, centered, weight_decay: weight_decay as f32, state: HashMap::new() }
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &[(String, Tensor)], grads: &Gradients, lr: f64) {
        let lr = lr as f32;
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            let n = g.len();
            let st = self.state.entry(name.clone()).or_insert_with(|| State {
                square_avg: vec![0.0; n],
                grad_avg: vec![0.0; n],
                momentum: vec![0.0; n],
            });
            let mut w = p.data_mut();
            for i in 0..n {
                let gi = g[i] + self.weight_decay * w[i];
                st.square_avg[i] = self.alpha * st.square_avg[i] + (1.0 - self.alpha) * gi * gi;
                let mut avg = st.square_avg[i];
                if self.centered {
                    st.grad_avg[i] = self.alpha * st.grad_avg[i] + (1.0 - self.alpha) * gi;
                    avg -= st.grad_avg[i] * st.grad_avg[i];
                }
                let denom = avg.sqrt() + self.eps;
                if self.momentum > 0.0 {
                    st.momentum[i] = self.momentum * st.momentum[i] + gi / denom;
                    w[i] -= lr * st.momentum[i];
                } else {
                    w[i] -= lr * gi / denom;
                }
            }
        }
    }

    fn state(&self) -> OptimState {
        let buffers = |s: &State| vec![s.square_avg.clone(), s.grad_avg.clone(), s.momentum.clone()];
        OptimState(self.state.iter().map(|(n, s)| (n.clone(), ParamState { buffers: buffers(s), step: 0 })).collect())
    }

    fn restore(&mut self, state: OptimState) -> Result<()> {
        self.state = state.entries(3, |b, _| {
            let mut b = b.into_iter();
            let mut next = || b.next().unwrap_or_default();
            State { square_avg: next(), grad_avg: next(), momentum: next() }
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_matches_formula() {
        let p = Tensor::param(vec![1.0], &[1]);
        let grads = p.mul_scalar(2.0).sum_all().backward();
        let mut opt = RmsProp::new(0.99, 1e-8, 0.0, false, 0.0);
        opt.step(&[("p".into(), p.clone())], &grads, 0.01);
        // v = 0.01·4 → θ = 1 - 0.01·2/(0.2 + 1e-8)
        assert!((p.item() - (1.0 - 0.01 * 2.0 / 0.2)).abs() < 1e-6);
    }
}

//! Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), with PyTorch's bias correction.

use std::collections::HashMap;

use super::Optimizer;
use crate::tensor::{Gradients, Tensor};

struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

pub struct Adam {
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    /// AdamW: decay the weights directly instead of adding `wd·θ` to the gradient.
    decoupled: bool,
    state: HashMap<String, Moments>,
}

impl Adam {
    pub fn new(betas: (f64, f64), eps: f64, weight_decay: f64, decoupled: bool) -> Adam {
        Adam { betas, eps, weight_decay, decoupled, state: HashMap::new() }
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &[(String, Tensor)], grads: &Gradients, lr: f64) {
        let (b1, b2) = (self.betas.0 as f32, self.betas.1 as f32);
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            let st = self.state.entry(name.clone()).or_insert_with(|| Moments { m: vec![0.0; g.len()], v: vec![0.0; g.len()], t: 0 });
            st.t += 1;
            let bc1 = 1.0 - (b1 as f64).powi(st.t);
            let bc2 = 1.0 - (b2 as f64).powi(st.t);
            let step = (lr / bc1) as f32;
            let bc2_sqrt = bc2.sqrt() as f32;
            let (eps, wd, lr32) = (self.eps as f32, self.weight_decay as f32, lr as f32);
            let mut w = p.data_mut();
            for i in 0..g.len() {
                let mut gi = g[i];
                if self.decoupled {
                    w[i] *= 1.0 - lr32 * wd;
                } else if wd != 0.0 {
                    gi += wd * w[i];
                }
                st.m[i] = b1 * st.m[i] + (1.0 - b1) * gi;
                st.v[i] = b2 * st.v[i] + (1.0 - b2) * gi * gi;
                w[i] -= step * st.m[i] / (st.v[i].sqrt() / bc2_sqrt + eps);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_by_lr_against_the_gradient_sign() {
        // With bias correction, Adam's first step is lr·g/(|g|+eps) ≈ lr·sign(g).
        let p = Tensor::param(vec![1.0, -1.0], &[2]);
        let loss = p.mul(&Tensor::from_vec(vec![3.0, -0.5], &[2])).sum_all();
        let grads = loss.backward();
        let mut opt = Adam::new((0.9, 0.999), 1e-8, 0.0, false);
        opt.step(&[("p".into(), p.clone())], &grads, 0.1);
        let w = p.to_vec();
        assert!((w[0] - 0.9).abs() < 1e-6 && (w[1] + 0.9).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn adamw_decays_weights_without_gradient_coupling() {
        let p = Tensor::param(vec![2.0], &[1]);
        let loss = p.mul_scalar(0.0).sum_all();
        let grads = loss.backward();
        let mut opt = Adam::new((0.9, 0.999), 1e-8, 0.1, true);
        opt.step(&[("p".into(), p.clone())], &grads, 0.5);
        // θ ← θ(1 - lr·wd) = 2·0.95, and a zero gradient adds no Adam step.
        assert!((p.item() - 1.9).abs() < 1e-6);
    }
}

//! Adam and AdamW (Kingma & Ba; Loshchilov & Hutter), with PyTorch's bias correction.

use std::collections::HashMap;

use rayon::prelude::*;

use super::{OptimState, Optimizer, ParamState};
use crate::error::Result;
use crate::kernels::simd::vectorized;
use crate::tensor::{Gradients, Tensor};

struct Moments {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Moments {
    fn from_buffers(mut b: Vec<Vec<f32>>, t: u64) -> Moments {
        let v = b.pop().unwrap_or_default();
        let m = b.pop().unwrap_or_default();
        Moments { m, v, t: t.min(i32::MAX as u64) as i32 }
    }
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
            let k = Constants { b1, b2, step, bc2_sqrt, eps: self.eps as f32, wd: self.weight_decay as f32, lr: lr as f32, decoupled: self.decoupled };
            let mut w = p.data_mut();
            let n = g.len();
            let (w, m, v) = (&mut w[..n], &mut st.m[..n], &mut st.v[..n]);
            if n >= PARALLEL_ELEMS {
                w.par_chunks_mut(CHUNK)
                    .zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .zip(g.par_chunks(CHUNK))
                    .for_each(|(((w, m), v), g)| k.update(w, m, v, g));
            } else {
                k.update(w, m, v, g);
            }
        }
    }

    fn state(&self) -> OptimState {
        OptimState(self.state.iter().map(|(n, s)| (n.clone(), ParamState { buffers: vec![s.m.clone(), s.v.clone()], step: s.t as u64 })).collect())
    }

    fn restore(&mut self, state: OptimState) -> Result<()> {
        self.state = state.entries(2, Moments::from_buffers)?;
        Ok(())
    }
}

/// Tensors at least this large are updated by all threads, in chunks of `CHUNK` values.
const PARALLEL_ELEMS: usize = 1 << 16;
const CHUNK: usize = 1 << 14;

/// One step's scalars, shared by every value of a tensor.
#[derive(Clone, Copy)]
struct Constants {
    b1: f32,
    b2: f32,
    /// `lr / (1 - β₁ᵗ)`
    step: f32,
    /// `sqrt(1 - β₂ᵗ)`
    bc2_sqrt: f32,
    eps: f32,
    wd: f32,
    lr: f32,
    decoupled: bool,
}

impl Constants {
    /// The update of a slice of weights with their moments and gradients (vectorized; the same
    /// arithmetic in the same order on every CPU, so results do not depend on it).
    fn update(self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        vectorized(|| self.update_body(w, m, v, g))
    }

    #[inline(always)]
    fn update_body(self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let Constants { b1, b2, step, bc2_sqrt, eps, wd, lr, decoupled } = self;
        let (decay, coupled_wd) = if decoupled { (1.0 - lr * wd, 0.0) } else { (1.0, wd) };
        for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            *w *= decay;
            let g = g + coupled_wd * *w;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *w -= step * *m / (v.sqrt() / bc2_sqrt + eps);
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

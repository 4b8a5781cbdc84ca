//! Gradient clipping, applied to the gradients between backward and the optimizer step.

use crate::tensor::{Gradients, Tensor};

/// Scales all gradients so their global L2 norm is at most `max_norm`; returns the norm before.
pub fn clip_grad_norm(params: &[(String, Tensor)], grads: &mut Gradients, max_norm: f64) -> f64 {
    let norm = params
        .iter()
        .filter_map(|(_, p)| grads.get(p))
        .flat_map(|g| g.iter())
        .map(|v| (*v as f64) * (*v as f64))
        .sum::<f64>()
        .sqrt();
    let factor = max_norm / (norm + 1e-6);
    if factor < 1.0 {
        for (_, p) in params {
            if let Some(g) = grads.get_mut(p) {
                g.iter_mut().for_each(|v| *v *= factor as f32);
            }
        }
    }
    norm
}

/// Clamps every gradient value to [-limit, limit].
pub fn clip_grad_value(params: &[(String, Tensor)], grads: &mut Gradients, limit: f32) {
    for (_, p) in params {
        if let Some(g) = grads.get_mut(p) {
            g.iter_mut().for_each(|v| *v = v.clamp(-limit, limit));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_clipping_scales_to_the_limit() {
        let p = Tensor::param(vec![0.0, 0.0], &[2]);
        let mut grads = p.mul(&Tensor::from_vec(vec![3.0, 4.0], &[2])).sum_all().backward();
        let params = vec![("p".to_string(), p.clone())];
        assert!((clip_grad_norm(&params, &mut grads, 1.0) - 5.0).abs() < 1e-9);
        let g = grads.get(&p).unwrap();
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
        clip_grad_value(&params, &mut grads, 0.7);
        assert_eq!(grads.get(&p).unwrap()[1], 0.7);
    }
}

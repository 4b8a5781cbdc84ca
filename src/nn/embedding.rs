//! Lookup tables: Embedding (PyTorch init N(0, 1)) and positional encodings.

use super::init;
use super::module::{join, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// A trainable table of `count` vectors of `dim` values.
pub struct Embedding {
    pub weight: Tensor,
}

impl Embedding {
    pub fn new(count: usize, dim: usize, rng: &mut Rng) -> Embedding {
        Embedding { weight: init::normal(&[count, dim], 1.0, rng) }
    }
    /// `[ids.len(), dim]`
    pub fn forward(&self, ids: &[usize]) -> Tensor {
        self.weight.embedding(ids)
    }
}

impl Module for Embedding {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
    }
}

/// The fixed sinusoidal encoding of "Attention is all you need", `[len, dim]`:
/// `pe[p, 2i] = sin(p / 10000^(2i/dim))`, `pe[p, 2i+1] = cos(...)`.
pub fn sinusoidal_positions(len: usize, dim: usize) -> Tensor {
    let mut pe = vec![0.0f32; len * dim];
    for p in 0..len {
        for i in (0..dim).step_by(2) {
            let angle = p as f64 / 10000f64.powf(i as f64 / dim as f64);
            pe[p * dim + i] = angle.sin() as f32;
            if i + 1 < dim {
                pe[p * dim + i + 1] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(pe, &[len, dim])
}

/// A learned positional encoding `[len, dim]`, initialised U(±0.02) as PatchTST's.
pub struct LearnedPositions {
    pub weight: Tensor,
}

impl LearnedPositions {
    pub fn new(len: usize, dim: usize, rng: &mut Rng) -> Self {
        LearnedPositions { weight: init::uniform(&[len, dim], 0.02, rng) }
    }
}

impl Module for LearnedPositions {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn sinusoid_values() {
        let pe = sinusoidal_positions(3, 4).to_vec();
        assert_eq!(&pe[..4], &[0.0, 1.0, 0.0, 1.0]);
        assert!((pe[4] - 1f32.sin()).abs() < 1e-6 && (pe[6] - 0.01f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn grad_embedding_layer() {
        let e = Embedding::new(6, 3, &mut Rng::seed(2));
        // Repeated ids: their gradients add up.
        check_gradients("Embedding", |t| Embedding { weight: t[0].clone() }.forward(&[5, 0, 5]), &[e.weight.detach()]);
        assert_eq!(e.forward(&[1, 2]).shape(), &[2, 3]);
    }
}

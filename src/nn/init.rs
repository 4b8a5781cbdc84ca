//! Parameter initialisers, drawn from a seeded [`Rng`]. Defaults follow PyTorch so that models
//! start where NeuralForecast's do.

use crate::rng::Rng;
use crate::tensor::{numel, Tensor};

/// Uniform on [-bound, bound).
pub fn uniform(shape: &[usize], bound: f32, rng: &mut Rng) -> Tensor {
    Tensor::param((0..numel(shape)).map(|_| rng.uniform(-bound, bound)).collect(), shape)
}

/// Normal with the given standard deviation.
pub fn normal(shape: &[usize], std: f32, rng: &mut Rng) -> Tensor {
    Tensor::param((0..numel(shape)).map(|_| std * rng.normal()).collect(), shape)
}

pub fn zeros(shape: &[usize]) -> Tensor {
    Tensor::param(vec![0.0; numel(shape)], shape)
}

pub fn ones(shape: &[usize]) -> Tensor {
    Tensor::param(vec![1.0; numel(shape)], shape)
}

/// PyTorch's default for Linear/Conv weights: kaiming_uniform with a = √5, i.e. U(±1/√fan_in).
pub fn kaiming_uniform_default(shape: &[usize], fan_in: usize, rng: &mut Rng) -> Tensor {
    uniform(shape, 1.0 / (fan_in.max(1) as f32).sqrt(), rng)
}

/// Xavier/Glorot uniform: U(±gain·√(6 / (fan_in + fan_out))).
pub fn xavier_uniform(shape: &[usize], fan_in: usize, fan_out: usize, gain: f32, rng: &mut Rng) -> Tensor {
    uniform(shape, gain * (6.0 / (fan_in + fan_out).max(1) as f32).sqrt(), rng)
}

/// Xavier/Glorot normal: N(0, gain·√(2 / (fan_in + fan_out))).
pub fn xavier_normal(shape: &[usize], fan_in: usize, fan_out: usize, gain: f32, rng: &mut Rng) -> Tensor {
    normal(shape, gain * (2.0 / (fan_in + fan_out).max(1) as f32).sqrt(), rng)
}

/// Kaiming/He normal for ReLU: N(0, √(2 / fan_in)).
pub fn kaiming_normal(shape: &[usize], fan_in: usize, rng: &mut Rng) -> Tensor {
    normal(shape, (2.0 / fan_in.max(1) as f32).sqrt(), rng)
}

/// A `rows × cols` matrix with orthonormal rows or columns (Gram-Schmidt on a normal draw),
/// scaled by `gain`; used for recurrent weights.
pub fn orthogonal(rows: usize, cols: usize, gain: f32, rng: &mut Rng) -> Tensor {
    // Orthonormalise the longer side's vectors in f64 for accuracy.
    let (n, m) = if rows >= cols { (cols, rows) } else { (rows, cols) };
    let mut vecs: Vec<Vec<f64>> = (0..n).map(|_| (0..m).map(|_| rng.normal() as f64).collect()).collect();
    for i in 0..n {
        for j in 0..i {
            let d: f64 = (0..m).map(|k| vecs[i][k] * vecs[j][k]).sum();
            for k in 0..m {
                vecs[i][k] -= d * vecs[j][k];
            }
        }
        let norm = vecs[i].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        vecs[i].iter_mut().for_each(|v| *v /= norm);
    }
    let mut data = vec![0.0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols { vecs[c][r] } else { vecs[r][c] };
            data[r * cols + c] = gain * v as f32;
        }
    }
    Tensor::param(data, &[rows, cols])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_is_orthonormal() {
        let mut rng = Rng::seed(3);
        let q = orthogonal(6, 4, 1.0, &mut rng).to_vec();
        for a in 0..4 {
            for b in 0..4 {
                let d: f32 = (0..6).map(|r| q[r * 4 + a] * q[r * 4 + b]).sum();
                assert!((d - if a == b { 1.0 } else { 0.0 }).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let a = kaiming_uniform_default(&[3, 5], 5, &mut Rng::seed(9)).to_vec();
        let b = kaiming_uniform_default(&[3, 5], 5, &mut Rng::seed(9)).to_vec();
        assert_eq!(a, b);
    }
}

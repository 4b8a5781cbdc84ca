//! Broadcasting elementwise binary ops: add, sub, mul, div, maximum/minimum, and their scalar forms.

use rayon::prelude::*;

use crate::tensor::shape::{broadcast_shapes, numel, strides_of, sum_to_shape};
use crate::tensor::{Backward, Tensor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Max,
    Min,
}

impl BinaryKind {
    #[inline(always)]
    fn apply(self, a: f32, b: f32) -> f32 {
        match self {
            BinaryKind::Add => a + b,
            BinaryKind::Sub => a - b,
            BinaryKind::Mul => a * b,
            BinaryKind::Div => a / b,
            BinaryKind::Max => a.max(b),
            BinaryKind::Min => a.min(b),
        }
    }
}

/// Elementwise loops above this size run on the thread pool.
pub(crate) const PARALLEL_ELEMS: usize = 1 << 15;

/// Applies `op` over two equal-length slices.
fn zip_map(a: &[f32], b: &[f32], out: &mut [f32], op: BinaryKind) {
    macro_rules! run {
        ($f:expr) => {
            if out.len() >= PARALLEL_ELEMS && !crate::kernels::inline::active() {
                out.par_chunks_mut(4096)
                    .zip(a.par_chunks(4096).zip(b.par_chunks(4096)))
                    .for_each(|(o, (x, y))| o.iter_mut().zip(x.iter().zip(y)).for_each(|(o, (x, y))| *o = $f(*x, *y)));
            } else {
                out.iter_mut().zip(a.iter().zip(b)).for_each(|(o, (x, y))| *o = $f(*x, *y));
            }
        };
    }
    // One monomorphised loop per kind so each vectorises.
    match op {
        BinaryKind::Add => run!(|x: f32, y: f32| x + y),
        BinaryKind::Sub => run!(|x: f32, y: f32| x - y),
        BinaryKind::Mul => run!(|x: f32, y: f32| x * y),
        BinaryKind::Div => run!(|x: f32, y: f32| x / y),
        BinaryKind::Max => run!(|x: f32, y: f32| x.max(y)),
        BinaryKind::Min => run!(|x: f32, y: f32| x.min(y)),
    }
}

/// Expands `src` (shape `from`) to shape `to` by broadcasting. Returns a new buffer.
pub(crate) fn broadcast_to_vec(src: &[f32], from: &[usize], to: &[usize]) -> Vec<f32> {
    if from == to {
        return src.to_vec();
    }
    let n = numel(to);
    if src.len() == 1 {
        return vec![src[0]; n];
    }
    let rank = to.len();
    let from_full: Vec<usize> = (0..rank)
        .map(|i| if i + from.len() >= rank { from[i + from.len() - rank] } else { 1 })
        .collect();
    // Suffix case ([B, N] from [N]): tile.
    let suffix = numel(&from_full);
    if from_full.iter().zip(to).skip_while(|(f, _)| **f == 1).all(|(f, t)| f == t) {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n / suffix {
            out.extend_from_slice(src);
        }
        return out;
    }
    let src_strides = strides_of(&from_full);
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; rank];
    for _ in 0..n {
        let mut o = 0;
        for d in 0..rank {
            if from_full[d] != 1 {
                o += index[d] * src_strides[d];
            }
        }
        out.push(src[o]);
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < to[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

struct BinaryBackward {
    kind: BinaryKind,
}

impl Backward for BinaryBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let shape = out.shape();
        let need_a = a.requires_grad();
        let need_b = b.requires_grad();
        // Gradients wrt the broadcast operands, then summed back to each input's shape.
        let (ga, gb): (Option<Vec<f32>>, Option<Vec<f32>>) = match self.kind {
            BinaryKind::Add => (need_a.then(|| g.to_vec()), need_b.then(|| g.to_vec())),
            BinaryKind::Sub => (need_a.then(|| g.to_vec()), need_b.then(|| g.iter().map(|x| -x).collect())),
            BinaryKind::Mul => {
                let av = broadcast_to_vec(&a.data(), a.shape(), shape);
                let bv = broadcast_to_vec(&b.data(), b.shape(), shape);
                (
                    need_a.then(|| g.iter().zip(&bv).map(|(g, b)| g * b).collect()),
                    need_b.then(|| g.iter().zip(&av).map(|(g, a)| g * a).collect()),
                )
            }
            BinaryKind::Div => {
                let bv = broadcast_to_vec(&b.data(), b.shape(), shape);
                let o = out.data();
                (
                    need_a.then(|| g.iter().zip(&bv).map(|(g, b)| g / b).collect()),
                    // d(a/b)/db = -(a/b)/b
                    need_b.then(|| g.iter().zip(o.iter().zip(&bv)).map(|(g, (o, b))| -g * o / b).collect()),
                )
            }
            BinaryKind::Max | BinaryKind::Min => {
                let av = broadcast_to_vec(&a.data(), a.shape(), shape);
                let o = out.data();
                // Where the output equals `a`, `a` was picked; ties send the gradient to `a`.
                let to_a: Vec<bool> = av.iter().zip(o.iter()).map(|(a, o)| a == o).collect();
                (
                    need_a.then(|| g.iter().zip(&to_a).map(|(g, &t)| if t { *g } else { 0.0 }).collect()),
                    need_b.then(|| g.iter().zip(&to_a).map(|(g, &t)| if t { 0.0 } else { *g }).collect()),
                )
            }
        };
        vec![
            ga.map(|g| sum_to_shape(&g, shape, a.shape())),
            gb.map(|g| sum_to_shape(&g, shape, b.shape())),
        ]
    }
    fn name(&self) -> &'static str {
        match self.kind {
            BinaryKind::Add => "add",
            BinaryKind::Sub => "sub",
            BinaryKind::Mul => "mul",
            BinaryKind::Div => "div",
            BinaryKind::Max => "maximum",
            BinaryKind::Min => "minimum",
        }
    }
}

fn binary(a: &Tensor, b: &Tensor, kind: BinaryKind) -> Tensor {
    let shape = broadcast_shapes(a.shape(), b.shape()).unwrap_or_else(|| {
        panic!("cannot broadcast shapes {:?} and {:?} in {:?}", a.shape(), b.shape(), kind)
    });
    let n = numel(&shape);
    let mut out = vec![0.0f32; n];
    {
        let (ad, bd) = (a.data(), b.data());
        if a.shape() == b.shape() {
            zip_map(&ad, &bd, &mut out, kind);
        } else if bd.len() == 1 {
            let y = bd[0];
            out.iter_mut().zip(ad.iter()).for_each(|(o, x)| *o = kind.apply(*x, y));
        } else if ad.len() == 1 {
            let x = ad[0];
            out.iter_mut().zip(bd.iter()).for_each(|(o, y)| *o = kind.apply(x, *y));
        } else if ad.len() == n && n % bd.len() == 0 && b.shape() == &shape[shape.len() - b.rank()..] {
            // [.., N] op [N]: the bias pattern, row by row.
            for (o, x) in out.chunks_mut(bd.len()).zip(ad.chunks(bd.len())) {
                zip_map(x, &bd, o, kind);
            }
        } else {
            let av = broadcast_to_vec(&ad, a.shape(), &shape);
            let bv = broadcast_to_vec(&bd, b.shape(), &shape);
            zip_map(&av, &bv, &mut out, kind);
        }
    }
    Tensor::from_op(out, &shape, &[a, b], BinaryBackward { kind })
}

impl Tensor {
    /// Elementwise `self + other`, broadcasting.
    pub fn add(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Add)
    }
    /// Elementwise `self - other`, broadcasting.
    pub fn sub(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Sub)
    }
    /// Elementwise `self * other`, broadcasting.
    pub fn mul(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Mul)
    }
    /// Elementwise `self / other`, broadcasting.
    pub fn div(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Div)
    }
    /// Elementwise maximum, broadcasting.
    pub fn maximum(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Max)
    }
    /// Elementwise minimum, broadcasting.
    pub fn minimum(&self, other: &Tensor) -> Tensor {
        binary(self, other, BinaryKind::Min)
    }
    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.add(&Tensor::scalar(s))
    }
    pub fn sub_scalar(&self, s: f32) -> Tensor {
        self.sub(&Tensor::scalar(s))
    }
    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.mul(&Tensor::scalar(s))
    }
    pub fn div_scalar(&self, s: f32) -> Tensor {
        self.div(&Tensor::scalar(s))
    }
    /// `s - self`.
    pub fn rsub_scalar(&self, s: f32) -> Tensor {
        Tensor::scalar(s).sub(self)
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use super::PARALLEL_ELEMS;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    fn pair(sa: &[usize], sb: &[usize], seed: u64) -> Vec<Tensor> {
        let mut rng = Rng::seed(seed);
        vec![Tensor::randn(sa, &mut rng), Tensor::randn(sb, &mut rng)]
    }

    #[test]
    fn grad_add_sub_mul_broadcasting() {
        for (sa, sb) in [(&[3, 4][..], &[3, 4][..]), (&[2, 3, 4], &[4]), (&[2, 1, 4], &[3, 1]), (&[3], &[])] {
            check_gradients("add", |x| x[0].add(&x[1]), &pair(sa, sb, 1));
            check_gradients("sub", |x| x[0].sub(&x[1]), &pair(sa, sb, 2));
            check_gradients("mul", |x| x[0].mul(&x[1]), &pair(sa, sb, 3));
        }
    }

    #[test]
    fn grad_div_broadcasting() {
        let mut inputs = pair(&[2, 3, 4], &[3, 1], 4);
        // Keep the divisor away from zero.
        inputs[1] = Tensor::from_vec(inputs[1].to_vec().iter().map(|v| v.abs() + 0.5).collect(), &[3, 1]);
        check_gradients("div", |x| x[0].div(&x[1]), &inputs);
    }

    #[test]
    fn grad_maximum_minimum() {
        check_gradients("maximum", |x| x[0].maximum(&x[1]), &pair(&[4, 5], &[4, 5], 5));
        check_gradients("minimum", |x| x[0].minimum(&x[1]), &pair(&[4, 5], &[5], 6));
    }

    /// Operands large enough for the thread-pool loop (PARALLEL_ELEMS), same shape and broadcast,
    /// with every `b` at least 0.1 from its `a` (off the kinks of maximum/minimum) and from 0.
    fn large_pairs() -> Vec<(Vec<Tensor>, &'static str)> {
        let mut rng = Rng::seed(21);
        let mut far = |a: &Tensor, shape: &[usize]| {
            let av = a.to_vec();
            let b: Vec<f32> = (0..shape.iter().product())
                .map(|i| {
                    let sign = if rng.uniform(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
                    let v = av[i] + sign * rng.uniform(0.1, 1.0);
                    // Away from 0 for div, moving further from `a`.
                    if v.abs() < 0.1 {
                        v + sign * 0.25
                    } else {
                        v
                    }
                })
                .collect();
            Tensor::from_vec(b, shape)
        };
        let a = Tensor::randn(&[180, 200], &mut Rng::seed(22));
        let same = far(&a, &[180, 200]);
        // [180, 200] op [180, 1]: the general broadcast path, also parallel at this size.
        let column = Tensor::randn(&[180, 1], &mut Rng::seed(23)).abs().add_scalar(0.5).detach();
        vec![(vec![a.clone(), same], "same shape"), (vec![a, column], "broadcast")]
    }

    fn every_binary() -> Vec<(&'static str, fn(&Tensor, &Tensor) -> Tensor)> {
        vec![("add", |a, b| a.add(b)), ("sub", |a, b| a.sub(b)), ("mul", |a, b| a.mul(b)), ("div", |a, b| a.div(b)), ("maximum", |a, b| a.maximum(b)), ("minimum", |a, b| a.minimum(b))]
    }

    #[test]
    fn grad_binary_on_the_parallel_path() {
        assert!(180 * 200 >= PARALLEL_ELEMS);
        for (xs, case) in large_pairs() {
            for (name, f) in every_binary() {
                check_gradients(&format!("{name} ({case}, parallel)"), |x| f(&x[0], &x[1]), &xs);
            }
        }
    }

    #[test]
    fn parallel_and_serial_paths_give_the_same_bits() {
        for (xs, case) in large_pairs() {
            let (a, b) = (&xs[0], &xs[1]);
            for (name, f) in every_binary() {
                let whole = f(a, b).to_vec();
                // Ten rows at a time (2000 values) stay below the threshold and run serially.
                let pieces: Vec<f32> = (0..18).flat_map(|r| f(&a.narrow(0, 10 * r, 10), &b.narrow(0, 10 * r, 10)).to_vec()).collect();
                assert!(whole.iter().map(|v| v.to_bits()).eq(pieces.iter().map(|v| v.to_bits())), "{name} ({case}): parallel and serial values differ");
            }
        }
    }

    #[test]
    fn forward_broadcast_values() {
        let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let b = Tensor::from_vec(vec![10.0, 20.0], &[2, 1]);
        assert_eq!(a.add(&b).to_vec(), vec![11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
        assert_eq!(a.mul_scalar(2.0).to_vec(), vec![2.0, 4.0, 6.0, 8.0, 10.0, 12.0]);
    }
}

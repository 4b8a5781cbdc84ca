//! Arithmetic on complex values held as (real, imaginary) tensors of one shape, the form
//! [`Tensor::rfft`] returns. Autoformer's auto-correlation multiplies one spectrum by the
//! conjugate of another (the Wiener–Khinchin route to a cross-correlation).

use crate::tensor::{Backward, Tensor};

struct MulConjBackward {
    /// Whether this output is the real (true) or imaginary part.
    real: bool,
}

impl Backward for MulConjBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // re = ar·br + ai·bi, im = ai·br − ar·bi: each input's gradient is the other factor of
        // the terms it appears in, with the sign it has there.
        let [ar, ai, br, bi] = [0, 1, 2, 3].map(|i| inputs[i].data());
        let grad = |i: usize, f: &dyn Fn(usize) -> f32| inputs[i].requires_grad().then(|| g.iter().enumerate().map(|(j, g)| g * f(j)).collect());
        if self.real {
            vec![grad(0, &|j| br[j]), grad(1, &|j| bi[j]), grad(2, &|j| ar[j]), grad(3, &|j| ai[j])]
        } else {
            vec![grad(0, &|j| -bi[j]), grad(1, &|j| br[j]), grad(2, &|j| ai[j]), grad(3, &|j| -ar[j])]
        }
    }
    fn name(&self) -> &'static str {
        "mul_conj"
    }
}

struct ComplexTanhBackward {
    real: bool,
}

/// `tanh(a + ib)` as (re, im), stable for any |a|: `(sinh 2a + i sin 2b) / (cosh 2a + cos 2b)`,
/// in f64, with the limit `±1` where cosh overflows.
fn tanh_c(a: f32, b: f32) -> (f32, f32) {
    let (a, b) = (a as f64, b as f64);
    if a.abs() > 20.0 {
        // cosh 2a > 1e17: the imaginary part is 2 sin 2b e^{−2|a|}, below f32's resolution of 1.
        return (a.signum() as f32, (2.0 * (2.0 * b).sin() * (-2.0 * a.abs()).exp()) as f32);
    }
    let d = (2.0 * a).cosh() + (2.0 * b).cos();
    (((2.0 * a).sinh() / d) as f32, ((2.0 * b).sin() / d) as f32)
}

impl Backward for ComplexTanhBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // tanh is holomorphic with f' = 1 − tanh², so for f = u + iv: u_a = v_b = Re f',
        // v_a = −u_b = Im f'. The real part's gradient is (Re f', −Im f') on (a, b), the
        // imaginary part's (Im f', Re f').
        let (ad, bd) = (inputs[0].data(), inputs[1].data());
        let derivative = |j: usize| {
            let (u, v) = tanh_c(ad[j], bd[j]);
            (1.0 - (u * u - v * v), -2.0 * u * v)
        };
        let (mut ga, mut gb) = (vec![0.0f32; g.len()], vec![0.0f32; g.len()]);
        for (j, g) in g.iter().enumerate() {
            let (re, im) = derivative(j);
            let (da, db) = if self.real { (re, -im) } else { (im, re) };
            ga[j] = g * da;
            gb[j] = g * db;
        }
        vec![inputs[0].requires_grad().then_some(ga), inputs[1].requires_grad().then_some(gb)]
    }
    fn name(&self) -> &'static str {
        "complex_tanh"
    }
}

impl Tensor {
    /// `tanh(z)` of complex `z = (re, im)` (PyTorch's `tanh` of a complex tensor): (re, im).
    pub fn complex_tanh(re: &Tensor, im: &Tensor) -> (Tensor, Tensor) {
        assert_eq!(re.shape(), im.shape(), "complex_tanh: real and imaginary parts differ in shape");
        let (out_re, out_im): (Vec<f32>, Vec<f32>) = re.data().iter().zip(im.data().iter()).map(|(a, b)| tanh_c(*a, *b)).unzip();
        let inputs = [re, im];
        (Tensor::from_op(out_re, re.shape(), &inputs, ComplexTanhBackward { real: true }), Tensor::from_op(out_im, re.shape(), &inputs, ComplexTanhBackward { real: false }))
    }

    /// The complex matrix product `a · b` of `a = (a_re, a_im)` and `b = (b_re, b_im)` (shapes as
    /// [`Tensor::matmul`]), by four real products.
    pub fn complex_matmul(a_re: &Tensor, a_im: &Tensor, b_re: &Tensor, b_im: &Tensor) -> (Tensor, Tensor) {
        (a_re.matmul(b_re).sub(&a_im.matmul(b_im)), a_re.matmul(b_im).add(&a_im.matmul(b_re)))
    }

    /// `a · conj(b)` for complex `a = (a_re, a_im)` and `b = (b_re, b_im)`, all of one shape:
    /// (`a_re·b_re + a_im·b_im`, `a_im·b_re − a_re·b_im`).
    ///
    /// ```
    /// use neuro_divergent::tensor::Tensor;
    /// // (1 + 2i) · conj(3 + 4i) = (1 + 2i)(3 − 4i) = 11 + 2i
    /// let t = |v: f32| Tensor::from_vec(vec![v], &[1]);
    /// let (re, im) = Tensor::mul_conj(&t(1.0), &t(2.0), &t(3.0), &t(4.0));
    /// assert_eq!((re.to_vec(), im.to_vec()), (vec![11.0], vec![2.0]));
    /// ```
    pub fn mul_conj(a_re: &Tensor, a_im: &Tensor, b_re: &Tensor, b_im: &Tensor) -> (Tensor, Tensor) {
        let shape = a_re.shape();
        assert!([a_im, b_re, b_im].iter().all(|t| t.shape() == shape), "mul_conj: the four parts differ in shape");
        let [ar, ai, br, bi] = [a_re, a_im, b_re, b_im].map(|t| t.data());
        let re = (0..ar.len()).map(|j| ar[j] * br[j] + ai[j] * bi[j]).collect();
        let im = (0..ar.len()).map(|j| ai[j] * br[j] - ar[j] * bi[j]).collect();
        drop((ar, ai, br, bi));
        let inputs = [a_re, a_im, b_re, b_im];
        (Tensor::from_op(re, shape, &inputs, MulConjBackward { real: true }), Tensor::from_op(im, shape, &inputs, MulConjBackward { real: false }))
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_mul_conj() {
        let mut rng = Rng::seed(77);
        let parts: Vec<Tensor> = (0..4).map(|_| Tensor::randn(&[2, 5], &mut rng)).collect();
        check_gradients("mul_conj re", |t| Tensor::mul_conj(&t[0], &t[1], &t[2], &t[3]).0, &parts);
        check_gradients("mul_conj im", |t| Tensor::mul_conj(&t[0], &t[1], &t[2], &t[3]).1, &parts);
    }

    #[test]
    fn complex_tanh_values_and_gradients() {
        // tanh(0.5 + 1i) = 1.0428 + 0.8069i; large real parts saturate to ±1.
        let t = |v: &[f32]| Tensor::from_vec(v.to_vec(), &[v.len()]);
        let (re, im) = Tensor::complex_tanh(&t(&[0.5, 30.0, -25.0]), &t(&[1.0, 0.3, 2.0]));
        let (re, im) = (re.to_vec(), im.to_vec());
        assert!((re[0] - 1.042_830_3).abs() < 1e-5 && (im[0] - 0.806_877_4).abs() < 1e-5, "{re:?} {im:?}");
        assert_eq!((re[1], re[2]), (1.0, -1.0));
        assert!(im[1].abs() < 1e-20 && im[2].abs() < 1e-20);
        let mut rng = Rng::seed(78);
        let z: Vec<Tensor> = (0..2).map(|_| Tensor::randn(&[3, 4], &mut rng)).collect();
        check_gradients("complex_tanh re", |t| Tensor::complex_tanh(&t[0], &t[1]).0, &z);
        check_gradients("complex_tanh im", |t| Tensor::complex_tanh(&t[0], &t[1]).1, &z);
    }

    #[test]
    fn spectrum_times_its_conjugate_is_the_circular_cross_correlation() {
        // irfft(rfft(q) · conj(rfft(k)))[τ] = Σ_t q[t + τ] k[t] (indices mod n).
        for n in [6, 8] {
            let mut rng = Rng::seed(n as u64);
            let (q, k) = (Tensor::randn(&[1, n], &mut rng), Tensor::randn(&[1, n], &mut rng));
            let ((qr, qi), (kr, ki)) = (q.rfft(), k.rfft());
            let (re, im) = Tensor::mul_conj(&qr, &qi, &kr, &ki);
            let corr = Tensor::irfft(&re, &im, n).to_vec();
            let (qv, kv) = (q.to_vec(), k.to_vec());
            for (tau, c) in corr.iter().enumerate() {
                let want: f32 = (0..n).map(|t| qv[(t + tau) % n] * kv[t]).sum();
                assert!((c - want).abs() < 1e-4, "n {n} τ {tau}: {c} vs {want}");
            }
        }
    }
}

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

impl Tensor {
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

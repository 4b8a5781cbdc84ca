//! Real FFT along the last axis and its inverse, through the `realfft` crate, with PyTorch's
//! `norm="backward"` convention (forward unscaled, inverse scaled by 1/n). Both are linear, so
//! each one's gradient is the other, with the half-spectrum weights derived below.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::tensor::{Backward, Tensor};

type Plans = (Arc<dyn RealToComplex<f32>>, Arc<dyn ComplexToReal<f32>>);

/// Plans are costly to make and reused for every batch of a given length.
fn plans(n: usize) -> Plans {
    static CACHE: OnceLock<Mutex<HashMap<usize, Plans>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(n)
        .or_insert_with(|| {
            let mut planner = RealFftPlanner::<f32>::new();
            (planner.plan_fft_forward(n), planner.plan_fft_inverse(n))
        })
        .clone()
}

/// Unscaled real-to-complex transform of each length-`n` row: (re, im), `n/2 + 1` bins per row.
fn forward_rows(x: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let (r2c, _) = plans(n);
    let bins = n / 2 + 1;
    let rows = x.len() / n;
    let (mut re, mut im) = (Vec::with_capacity(rows * bins), Vec::with_capacity(rows * bins));
    let mut input = r2c.make_input_vec();
    let mut spectrum = r2c.make_output_vec();
    for row in x.chunks(n) {
        input.copy_from_slice(row);
        r2c.process(&mut input, &mut spectrum).expect("buffer sizes come from the plan");
        re.extend(spectrum.iter().map(|c| c.re));
        im.extend(spectrum.iter().map(|c| c.im));
    }
    (re, im)
}

/// Unscaled complex-to-real transform of each row of `bins` bins to length `n` (the imaginary
/// parts of the DC and, for even n, Nyquist bins are ignored, as PyTorch does).
fn inverse_rows(re: &[f32], im: &[f32], n: usize) -> Vec<f32> {
    let (_, c2r) = plans(n);
    let bins = n / 2 + 1;
    let mut out = Vec::with_capacity(re.len() / bins * n);
    let mut spectrum = c2r.make_input_vec();
    let mut output = c2r.make_output_vec();
    for (r, i) in re.chunks(bins).zip(im.chunks(bins)) {
        for k in 0..bins {
            spectrum[k] = Complex::new(r[k], i[k]);
        }
        spectrum[0].im = 0.0;
        if n % 2 == 0 {
            spectrum[bins - 1].im = 0.0;
        }
        c2r.process(&mut spectrum, &mut output).expect("buffer sizes come from the plan");
        out.extend_from_slice(&output);
    }
    out
}

/// How often bin k appears in a full Hermitian spectrum: 1 for DC (and Nyquist when n is even), 2 otherwise.
fn multiplicity(k: usize, n: usize) -> f32 {
    if k == 0 || (n % 2 == 0 && k == n / 2) {
        1.0
    } else {
        2.0
    }
}

struct RfftBackward {
    n: usize,
    /// Whether this output is the real (true) or imaginary part.
    real: bool,
}

impl Backward for RfftBackward {
    fn backward(&self, _inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // re_k = Σ x_t cos θ, im_k = -Σ x_t sin θ (θ = 2πkt/n), so
        // dx_t = Σ_k (g_re cos θ - g_im sin θ) = n · irfft(G ⊙ 1/multiplicity).
        let (n, bins) = (self.n, self.n / 2 + 1);
        let scaled: Vec<f32> = g.iter().enumerate().map(|(i, v)| v / multiplicity(i % bins, n)).collect();
        let zeros = vec![0.0; g.len()];
        let (re, im) = if self.real { (&scaled, &zeros) } else { (&zeros, &scaled) };
        // Imaginary DC/Nyquist gradients contribute nothing (sin 0 = sin πt = 0): dropping them is exact.
        vec![Some(inverse_rows(re, im, n))]
    }
    fn name(&self) -> &'static str {
        "rfft"
    }
}

struct IrfftBackward {
    n: usize,
}

impl Backward for IrfftBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // y_t = (1/n) Σ_k m_k (re_k cos θ - im_k sin θ), so d re_k = (m_k/n) Re(rfft(g))_k and
        // d im_k = (m_k/n) Im(rfft(g))_k, except the DC/Nyquist imaginary parts, which are ignored.
        let (n, bins) = (self.n, self.n / 2 + 1);
        let (fr, fi) = forward_rows(g, n);
        let gre: Vec<f32> = fr.iter().enumerate().map(|(i, v)| v * multiplicity(i % bins, n) / n as f32).collect();
        let gim: Vec<f32> = fi
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let k = i % bins;
                if k == 0 || (n % 2 == 0 && k == bins - 1) {
                    0.0
                } else {
                    v * multiplicity(k, n) / n as f32
                }
            })
            .collect();
        vec![inputs[0].requires_grad().then_some(gre), inputs[1].requires_grad().then_some(gim)]
    }
    fn name(&self) -> &'static str {
        "irfft"
    }
}

struct ComplexAbsBackward;

impl Backward for ComplexAbsBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        // d|z|/d re = re/|z|, d|z|/d im = im/|z|; 0 at z = 0 (PyTorch's subgradient there).
        let m = out.data();
        let part = |t: &Tensor| {
            t.requires_grad().then(|| t.data().iter().zip(m.iter()).zip(g).map(|((v, m), g)| if *m > 0.0 { g * v / m } else { 0.0 }).collect())
        };
        vec![part(&inputs[0]), part(&inputs[1])]
    }
    fn name(&self) -> &'static str {
        "complex_abs"
    }
}

impl Tensor {
    /// The magnitude `sqrt(re² + im²)` of complex values held as (re, im) parts of one shape
    /// (PyTorch's `abs` of a complex tensor), computed without overflow by `hypot`.
    pub fn complex_abs(re: &Tensor, im: &Tensor) -> Tensor {
        assert_eq!(re.shape(), im.shape(), "complex_abs: real and imaginary parts differ in shape");
        let out = re.data().iter().zip(im.data().iter()).map(|(a, b)| a.hypot(*b)).collect();
        Tensor::from_op(out, re.shape(), &[re, im], ComplexAbsBackward)
    }

    /// Real FFT along the last axis: (real part, imaginary part), each `[.., n/2 + 1]`.
    pub fn rfft(&self) -> (Tensor, Tensor) {
        let n = self.dim(-1);
        assert!(n > 0, "rfft of an empty axis");
        let (re, im) = forward_rows(&self.data(), n);
        let mut shape = self.shape().to_vec();
        *shape.last_mut().unwrap() = n / 2 + 1;
        (
            Tensor::from_op(re, &shape, &[self], RfftBackward { n, real: true }),
            Tensor::from_op(im, &shape, &[self], RfftBackward { n, real: false }),
        )
    }

    /// Inverse real FFT along the last axis to length `n`, from real and imaginary parts `[.., n/2 + 1]`.
    pub fn irfft(re: &Tensor, im: &Tensor, n: usize) -> Tensor {
        assert_eq!(re.shape(), im.shape(), "irfft: real and imaginary parts differ in shape");
        assert_eq!(re.dim(-1), n / 2 + 1, "irfft: {} bins do not make length {n}", re.dim(-1));
        let scale = 1.0 / n as f32;
        let out: Vec<f32> = inverse_rows(&re.data(), &im.data(), n).into_iter().map(|v| v * scale).collect();
        let mut shape = re.shape().to_vec();
        *shape.last_mut().unwrap() = n;
        Tensor::from_op(out, &shape, &[re, im], IrfftBackward { n })
    }
}

#[cfg(test)]
mod tests {
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn round_trip_and_known_spectrum() {
        let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]);
        let (re, im) = x.rfft();
        // numpy.fft.rfft([1, 2, 3, 4]) = [10, -2+2j, -2]
        assert_eq!(re.to_vec(), vec![10.0, -2.0, -2.0]);
        assert_eq!(im.to_vec(), vec![0.0, 2.0, 0.0]);
        assert_eq!(Tensor::complex_abs(&re, &im).to_vec(), vec![10.0, 8f32.sqrt(), 2.0]);
        for n in [7, 8] {
            let x = Tensor::randn(&[3, n], &mut Rng::seed(n as u64));
            let (re, im) = x.rfft();
            let back = Tensor::irfft(&re, &im, n).to_vec();
            for (a, b) in back.iter().zip(x.to_vec()) {
                assert!((a - b).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn grad_rfft_irfft_even_and_odd() {
        for n in [6, 7] {
            let mut rng = Rng::seed(120 + n as u64);
            let x = vec![Tensor::randn(&[2, n], &mut rng)];
            check_gradients("rfft re", |x| x[0].rfft().0, &x);
            check_gradients("rfft im", |x| x[0].rfft().1, &x);
            let bins = n / 2 + 1;
            let z = vec![Tensor::randn(&[2, bins], &mut rng), Tensor::randn(&[2, bins], &mut rng)];
            check_gradients("irfft", |z| Tensor::irfft(&z[0], &z[1], n), &z);
            check_gradients("complex_abs", |z| Tensor::complex_abs(&z[0], &z[1]), &z);
            check_gradients("complex_abs∘rfft", |x| {
                let (re, im) = x[0].rfft();
                Tensor::complex_abs(&re, &im)
            }, &x);
        }
    }
}

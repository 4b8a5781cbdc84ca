//! Mixed-precision training as PyTorch's autocast does it, emulated on f32 hardware.
//!
//! Under `'bf16-mixed'` or `'16-mixed'` the products (matmul, linear, conv, the LSTM's gate
//! products, attention) read their operands rounded to 16 bits, accumulate in f32, and round
//! what they output to 16 bits; their backward rounds the incoming gradient and the gradients
//! they hand back the same way (in PyTorch those tensors are 16-bit, so a value past f16's 65504
//! becomes inf there too, which is what the loss scaler watches for). Elementwise ops, norms,
//! softmax and losses stay f32 (autocast's f32 lists), and the weights stay f32 (the master copy
//! the optimizer updates).
//!
//! The mode is per thread, set by the trainer around its steps ([`with_precision`]). An op reads
//! it once, on the calling thread, and keeps the answer in its backward rule, so the worker
//! threads an op fans out to, and a backward run later, compute exactly what the op's caller
//! asked for: the same bits for any thread count. In f32 mode every op takes its old path (one
//! thread-local read per op, no copy).

use std::borrow::Cow;
use std::cell::Cell;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::kernels::half::HalfKind;

/// Lightning's `precision` for training: f32, or mixed with bf16 or f16 products.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    #[default]
    F32,
    Bf16Mixed,
    F16Mixed,
}

impl Precision {
    /// The accepted values, as an error message lists them.
    pub const ACCEPTED: &'static str = "'32-true' (or 32, '32'), 'bf16-mixed' (or 'bf16'), '16-mixed' (or 16, '16')";

    /// Lightning's names and aliases (`_PRECISION_INPUT`, the ones a CPU trains with here).
    pub fn parse(v: &Value, option: &str) -> Result<Precision> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match text.as_str() {
            "32-true" | "32" => Ok(Precision::F32),
            "bf16-mixed" | "bf16" => Ok(Precision::Bf16Mixed),
            "16-mixed" | "16" => Ok(Precision::F16Mixed),
            _ => Err(Error::range(format!("option '{option}' must be one of {}, got {v}", Precision::ACCEPTED))),
        }
    }

    /// The canonical name, as saved.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "32-true",
            Precision::Bf16Mixed => "bf16-mixed",
            Precision::F16Mixed => "16-mixed",
        }
    }

    /// The 16-bit type of the products, None for f32.
    pub fn half(self) -> Option<HalfKind> {
        match self {
            Precision::F32 => None,
            Precision::Bf16Mixed => Some(HalfKind::Bf16),
            Precision::F16Mixed => Some(HalfKind::F16),
        }
    }
}

thread_local! {
    static AUTOCAST: Cell<Option<HalfKind>> = const { Cell::new(None) };
}

/// Runs `f` with `precision`'s products on this thread, restoring the previous mode after (also
/// on panic).
pub fn with_precision<T>(precision: Precision, f: impl FnOnce() -> T) -> T {
    let before = AUTOCAST.with(|a| a.replace(precision.half()));
    struct Restore(Option<HalfKind>);
    impl Drop for Restore {
        fn drop(&mut self) {
            AUTOCAST.with(|a| a.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// The 16-bit type products on this thread round to, None in f32 mode.
pub fn autocast() -> Option<HalfKind> {
    AUTOCAST.with(|a| a.get())
}

/// `data` rounded to `kind` (borrowed unchanged for None).
pub fn rounded(kind: Option<HalfKind>, data: &[f32]) -> Cow<'_, [f32]> {
    match kind {
        None => Cow::Borrowed(data),
        Some(_) => {
            let mut copy = data.to_vec();
            round_in_place(kind, &mut copy);
            Cow::Owned(copy)
        }
    }
}

/// Rounds `data` to `kind` in place (nothing for None), to nearest, ties to even, as
/// `HalfKind::encode`; the same values, at the speed of a copy.
pub fn round_in_place(kind: Option<HalfKind>, data: &mut [f32]) {
    match kind {
        None => {}
        Some(HalfKind::Bf16) => data.iter_mut().for_each(|v| *v = round_bf16(*v)),
        Some(HalfKind::F16) => {
            // `half`'s slice conversions use F16C when the CPU has it (its scalar ones detect
            // the feature on every call).
            use half::slice::HalfFloatSliceExt;
            let mut bits = [half::f16::ZERO; 256];
            for chunk in data.chunks_mut(bits.len()) {
                let bits = &mut bits[..chunk.len()];
                bits.convert_from_f32_slice(chunk);
                bits.convert_to_f32_slice(chunk);
            }
        }
    }
}

/// The nearest bf16 (ties to even) as branch-free bit arithmetic the compiler vectorizes.
fn round_bf16(v: f32) -> f32 {
    let b = v.to_bits();
    let r = f32::from_bits(b.wrapping_add(0x7fff + ((b >> 16) & 1)) & 0xffff_0000);
    if v.is_nan() {
        v
    } else {
        r
    }
}

/// Each gradient rounded to `kind` in place.
pub fn round_grads(kind: Option<HalfKind>, mut grads: Vec<Option<Vec<f32>>>) -> Vec<Option<Vec<f32>>> {
    if kind.is_some() {
        grads.iter_mut().flatten().for_each(|g| round_in_place(kind, g));
    }
    grads
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_lightnings_names_and_aliases() {
        for (v, p) in [
            (json!("32-true"), Precision::F32),
            (json!(32), Precision::F32),
            (json!("32"), Precision::F32),
            (json!("bf16-mixed"), Precision::Bf16Mixed),
            (json!("bf16"), Precision::Bf16Mixed),
            (json!("16-mixed"), Precision::F16Mixed),
            (json!(16), Precision::F16Mixed),
            (json!("16"), Precision::F16Mixed),
        ] {
            assert_eq!(Precision::parse(&v, "precision").unwrap(), p, "{v}");
            assert_eq!(Precision::parse(&json!(p.name()), "precision").unwrap(), p);
        }
        for v in [json!("bf16-true"), json!("64-true"), json!(64), json!(null), json!(true), json!("fp16")] {
            let e = Precision::parse(&v, "precision").unwrap_err();
            assert!(e.message.contains("'bf16-mixed'") && e.message.contains("precision"), "{}", e.message);
        }
    }

    #[test]
    fn fast_rounding_equals_the_half_crates() {
        let mut rng = crate::rng::Rng::seed(3);
        let mut values: Vec<f32> = (0..5000).map(|i| rng.normal() * 10f32.powi(i % 13 - 8)).collect();
        // Ties, the ends of both ranges, subnormals, infinities.
        values.extend([1.0 + 1.0 / 256.0, 1.0 + 3.0 / 256.0, 65504.0, 65520.0, 1e-8, 3e38, f32::MAX, f32::MIN_POSITIVE / 3.0, f32::INFINITY, -0.0]);
        for kind in [HalfKind::Bf16, HalfKind::F16] {
            let mut fast = values.clone();
            round_in_place(Some(kind), &mut fast);
            for (v, f) in values.iter().zip(&fast) {
                assert_eq!(f.to_bits(), kind.decode(kind.encode(*v)).to_bits(), "{kind:?} {v:e}");
            }
            let mut nan = [f32::NAN];
            round_in_place(Some(kind), &mut nan);
            assert!(nan[0].is_nan());
        }
    }

    #[test]
    fn the_mode_is_scoped_and_rounding_is_off_outside_it() {
        assert_eq!(autocast(), None);
        with_precision(Precision::F16Mixed, || {
            assert_eq!(autocast(), Some(HalfKind::F16));
            with_precision(Precision::F32, || assert_eq!(autocast(), None));
            assert_eq!(autocast(), Some(HalfKind::F16));
        });
        assert_eq!(autocast(), None);
        let x = [1.0 + 1.0 / 1024.0, 1e5];
        assert!(matches!(rounded(None, &x), Cow::Borrowed(_)));
        assert_eq!(*rounded(Some(HalfKind::Bf16), &x), [1.0, 99840.0]);
        assert_eq!(rounded(Some(HalfKind::F16), &x)[0], 1.0 + 1.0 / 1024.0);
        assert!(rounded(Some(HalfKind::F16), &x)[1].is_infinite(), "past f16's range");
    }
}

#[cfg(test)]
mod grad_tests {
    use super::*;
    use crate::rng::Rng;
    use crate::tensor::{Conv2dSpec, Tensor};

    /// In mixed precision, `op`'s output is the f32 op on rounded inputs, rounded; and its
    /// gradients are the f32 gradients of that computation, from the rounded output gradient,
    /// rounded: bit for bit.
    fn check_rounded(name: &str, op: impl Fn(&[Tensor]) -> Tensor, shapes: &[&[usize]]) {
        let mut rng = Rng::seed(71);
        for precision in [Precision::Bf16Mixed, Precision::F16Mixed] {
            let kind = precision.half();
            let values: Vec<Vec<f32>> = shapes.iter().map(|s| Tensor::randn(s, &mut rng).to_vec()).collect();
            let params = |round: bool| -> Vec<Tensor> {
                values.iter().zip(shapes).map(|(v, s)| Tensor::param(if round { rounded(kind, v).into_owned() } else { v.clone() }, s)).collect()
            };
            let (xs, xr) = (params(false), params(true));
            let y = with_precision(precision, || op(&xs));
            let r = Tensor::randn(y.shape(), &mut rng);
            let grads = with_precision(precision, || y.mul(&r).sum_all().backward());

            let y_ref = op(&xr);
            let mut want = y_ref.to_vec();
            round_in_place(kind, &mut want);
            assert!(y.to_vec() == want, "{name} {precision:?}: the forward is not the rounded f32 product");
            let r_rounded = Tensor::from_vec(rounded(kind, &r.to_vec()).into_owned(), r.shape());
            let grads_ref = y_ref.mul(&r_rounded).sum_all().backward();
            for (i, (x, x_ref)) in xs.iter().zip(&xr).enumerate() {
                let mut want = grads_ref.get(x_ref).unwrap().clone();
                round_in_place(kind, &mut want);
                assert!(grads.get(x).unwrap() == &want, "{name} {precision:?}: input {i}'s gradient is not the rounded computation's");
                // And it differs from the f32 gradient: the rounding is really there.
                assert!(with_precision(Precision::F32, || op(&xs)).mul(&r).sum_all().backward().get(x).unwrap() != &want, "{name} {precision:?}: input {i} is not rounded");
            }
        }
    }

    #[test]
    fn grad_mixed_precision_products_are_the_gradients_of_the_rounded_computation() {
        check_rounded("matmul", |x| x[0].matmul(&x[1]), &[&[6, 5], &[5, 7]]);
        check_rounded("batched matmul", |x| x[0].matmul(&x[1]), &[&[2, 3, 4, 5], &[2, 1, 5, 3]]);
        check_rounded("linear", |x| x[0].linear(&x[1], Some(&x[2])), &[&[2, 3, 8], &[6, 8], &[6]]);
        let spec = Conv2dSpec { stride: (1, 1), padding: (1, 1, 1, 1), dilation: (1, 1), groups: 1 };
        check_rounded("conv2d", move |x| x[0].conv2d(&x[1], Some(&x[2]), spec), &[&[2, 3, 5, 5], &[4, 3, 3, 3], &[4]]);
    }
}

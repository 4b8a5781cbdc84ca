//! Run-time CPU-feature dispatch: one place decides which instruction set the hot loops run with.
//!
//! The crate is compiled for each platform's baseline so the same binary loads on every CPU of
//! it. Hot loops are plain Rust over slices; [`vectorized`] runs them inside a function compiled
//! with AVX2 and FMA enabled when an x86-64 CPU has both, which lets LLVM use eight-lane vectors
//! there. On aarch64 NEON is part of the baseline, so the same loops are four-lane NEON code
//! without any dispatch. The few kernels written with intrinsics (the one-row dot products of
//! `gemm` and `half`) have one body, generic over [`F32Vector`], instantiated per instruction set.
//!
//! There is no AVX-512 path: no machine here can execute one (this CPU has no AVX-512, and
//! Debian's qemu-x86_64 7.2 reports "TCG doesn't support requested feature: avx512f" for every
//! AVX-512 CPU model), and an untested path is not shipped.

/// Whether this CPU has AVX2 and FMA (detected once; later calls read a cached flag).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !forced_scalar() && std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the NEON kernels run: always on aarch64, where NEON is baseline.
#[inline]
pub fn has_neon() -> bool {
    cfg!(target_arch = "aarch64") && !forced_scalar()
}

/// Runs `f`, compiled for AVX2+FMA when the CPU has them. `f` must be a closure over slice loops
/// of inlinable arithmetic: it is inlined into the feature-enabled function and vectorized
/// there. The arithmetic is the same either way (no contraction into fused multiply-adds), so
/// results do not depend on the CPU.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx2_fma() {
            // SAFETY: the CPU has the features `avx2` was compiled for.
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// One instruction set's f32 vector register, as the intrinsics kernels use it. The methods are
/// `unsafe` and always inlined: they are only called from functions compiled with the features
/// their intrinsics need.
pub(super) trait F32Vector: Copy {
    const LANES: usize;
    unsafe fn zero() -> Self;
    /// `LANES` values from `p`, which need no alignment.
    unsafe fn load(p: *const f32) -> Self;
    /// `self + a·b`, fused (one rounding).
    unsafe fn mul_add(self, a: Self, b: Self) -> Self;
    unsafe fn add(self, other: Self) -> Self;
    /// The lanes summed from the first to the last.
    unsafe fn sum(self) -> f32;
}

#[cfg(target_arch = "x86_64")]
impl F32Vector for std::arch::x86_64::__m256 {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        std::arch::x86_64::_mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        std::arch::x86_64::_mm256_loadu_ps(p)
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        std::arch::x86_64::_mm256_fmadd_ps(a, b, self)
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        std::arch::x86_64::_mm256_add_ps(self, other)
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        let mut lanes = [0.0f32; 8];
        std::arch::x86_64::_mm256_storeu_ps(lanes.as_mut_ptr(), self);
        lanes.iter().sum()
    }
}

#[cfg(target_arch = "aarch64")]
impl F32Vector for std::arch::aarch64::float32x4_t {
    const LANES: usize = 4;
    #[inline(always)]
    unsafe fn zero() -> Self {
        std::arch::aarch64::vdupq_n_f32(0.0)
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        std::arch::aarch64::vld1q_f32(p)
    }
    #[inline(always)]
    unsafe fn mul_add(self, a: Self, b: Self) -> Self {
        std::arch::aarch64::vfmaq_f32(self, a, b)
    }
    #[inline(always)]
    unsafe fn add(self, other: Self) -> Self {
        std::arch::aarch64::vaddq_f32(self, other)
    }
    #[inline(always)]
    unsafe fn sum(self) -> f32 {
        // Not `vaddvq_f32`, which adds pairwise: the lanes in order, as on x86.
        let mut lanes = [0.0f32; 4];
        std::arch::aarch64::vst1q_f32(lanes.as_mut_ptr(), self);
        lanes.iter().sum()
    }
}

#[cfg(test)]
thread_local! {
    static SCALAR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn forced_scalar() -> bool {
    SCALAR.get()
}

#[cfg(not(test))]
#[inline(always)]
fn forced_scalar() -> bool {
    false
}

/// Runs `f` on this thread with every dispatched kernel on its baseline path, so tests check
/// the plain-Rust kernels on a machine whose CPU would pick a SIMD one. Work `f` hands to other
/// threads is not affected: run it inline ([`super::inline::run`]).
#[cfg(test)]
pub fn scalar<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SCALAR.set(self.0);
        }
    }
    let _restore = Restore(SCALAR.replace(true));
    f()
}

/// The lengths kernel tests run at: empty, shorter than one vector, around one and two vectors
/// of both instruction sets' widths (4 and 8 lanes, two accumulators each), and a long one.
#[cfg(test)]
pub const ODD_LENGTHS: [usize; 9] = [0, 1, 3, 7, 8, 15, 16, 17, 1000];

/// The same value: equal bits, except that +0 and -0 are alike (an empty sum is -0 in Rust's
/// `sum` and +0 in a vector accumulator) and so are all NaNs (whose payloads the instruction
/// sets need not agree on).
#[cfg(test)]
pub fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dispatch_picks_this_machines_instruction_set_unless_told_not_to() {
        #[cfg(target_arch = "x86_64")]
        assert_eq!(has_avx2_fma(), std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"));
        #[cfg(target_arch = "aarch64")]
        assert!(has_neon());
        scalar(|| assert!(!has_avx2_fma() && !has_neon()));
        let _ = std::panic::catch_unwind(|| scalar(|| panic!("inside")));
        assert_eq!(has_neon(), cfg!(target_arch = "aarch64"), "the switch is reset after a panic");
    }
}

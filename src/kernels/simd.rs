//! Run-time CPU-feature dispatch: one place decides which instruction set the hot loops run with.
//!
//! The crate is compiled for each platform's baseline so the same binary loads on every CPU of
//! it. Hot loops are plain Rust over slices; [`vectorized`] runs them inside a function compiled
//! with AVX-512 (16 lanes) or AVX2 and FMA (8 lanes) enabled when an x86-64 CPU has them, which
//! lets LLVM vectorize them that wide. On aarch64 NEON is part of the baseline, so the same loops
//! are four-lane NEON code without any dispatch. The few kernels written with intrinsics (the
//! one-row dot products of `gemm` and `half`) have one body, generic over [`F32Vector`],
//! instantiated for AVX2 and for NEON; they have no AVX-512 instantiation (see `gemm::dot4`).

/// Whether this CPU has AVX2 and FMA (detected once; later calls read a cached flag).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ceiling() >= AVX2 && std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether this CPU has AVX-512 F (with AVX2 and FMA, which every AVX-512 CPU has).
#[inline]
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        ceiling() >= AVX512 && std::arch::is_x86_feature_detected!("avx512f") && has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the NEON kernels run: always on aarch64, where NEON is baseline.
#[inline]
pub fn has_neon() -> bool {
    cfg!(target_arch = "aarch64") && ceiling() > SCALAR
}

/// Runs `f`, compiled for AVX-512 or AVX2+FMA when the CPU has them. `f` must be a closure over
/// slice loops of inlinable arithmetic, inlined into the feature-enabled function and vectorized
/// there: write it `#[inline(always)] || ...` unless it is tiny. Called from three builds, a
/// larger closure is otherwise compiled once, out of line, for the baseline, and every path
/// runs that (`objdump -d` shows a `vectorized::avx2` that is one `jmp` to the closure). The arithmetic is the same either way (element by element, no
/// reassociation, no contraction into fused multiply-adds), so results do not depend on the CPU.
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f,avx2,fma")]
        unsafe fn avx512<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx512() {
            // SAFETY: the CPU has the features `avx512` was compiled for.
            return unsafe { avx512(f) };
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

// The widest instruction set dispatched to; tests lower it on their thread.
const SCALAR: u8 = 0;
const AVX2: u8 = 1;
const AVX512: u8 = 2;

#[cfg(test)]
thread_local! {
    static CEILING: std::cell::Cell<u8> = const { std::cell::Cell::new(AVX512) };
}

#[cfg(test)]
fn ceiling() -> u8 {
    CEILING.get()
}

#[cfg(not(test))]
#[inline(always)]
fn ceiling() -> u8 {
    AVX512
}

#[cfg(test)]
fn capped<R>(level: u8, f: impl FnOnce() -> R) -> R {
    struct Restore(u8);
    impl Drop for Restore {
        fn drop(&mut self) {
            CEILING.set(self.0);
        }
    }
    let _restore = Restore(CEILING.replace(level.min(CEILING.get())));
    f()
}

/// Runs `f` on this thread with every dispatched kernel on its baseline path, so tests check
/// the plain-Rust kernels on a machine whose CPU would pick a SIMD one. Work `f` hands to other
/// threads is not affected: run it inline ([`super::inline::run`]).
#[cfg(test)]
pub fn scalar<R>(f: impl FnOnce() -> R) -> R {
    capped(SCALAR, f)
}

/// As [`scalar`], with AVX2 and FMA still allowed: the AVX2 build of the loops, on a CPU with
/// AVX-512. (NEON is unaffected.)
#[cfg(test)]
pub fn avx2<R>(f: impl FnOnce() -> R) -> R {
    capped(AVX2, f)
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
        #[cfg(target_arch = "x86_64")]
        assert_eq!(has_avx512(), std::arch::is_x86_feature_detected!("avx512f"));
        avx2(|| {
            #[cfg(target_arch = "x86_64")]
            assert!(!has_avx512() && has_avx2_fma() == std::arch::is_x86_feature_detected!("avx2"));
            scalar(|| assert!(!has_avx2_fma() && !has_neon()));
            assert!(!has_avx512(), "an inner switch restores the outer one");
        });
        let _ = std::panic::catch_unwind(|| scalar(|| panic!("inside")));
        assert_eq!(has_neon(), cfg!(target_arch = "aarch64"), "the switch is reset after a panic");
        #[cfg(target_arch = "x86_64")]
        assert_eq!(has_avx512(), std::arch::is_x86_feature_detected!("avx512f"));
    }
}

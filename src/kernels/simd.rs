//! Run-time CPU-feature dispatch: one place decides whether the AVX2+FMA build of a loop runs.
//!
//! The crate is compiled for baseline x86-64 (SSE2) so the same binary loads on every CPU of its
//! platform. Hot loops are plain Rust over slices; [`vectorized`] runs them inside a function
//! compiled with AVX2 and FMA enabled when the CPU has both, which lets LLVM use eight-lane
//! vectors there. Other architectures run the baseline build.

/// Whether this CPU has AVX2 and FMA (detected once; later calls read a cached flag).
#[inline]
pub fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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

//! Engine work run on the calling thread, for calls smaller than the hop to a pool.
//!
//! Handing a call to a pool worker and its result back costs two cross-thread wake-ups, 40-90 µs
//! on our virtual machines: as much as a whole one-series forecast. [`run`] runs a call where it
//! is asked instead, with every parallel loop inside it sequential: a loop that split here would
//! hand its chunks to rayon's global pool and wait for them, the very hop this avoids (and the
//! calling thread, JS's, must not wait on other threads). Which calls may run inline is the
//! caller's decision (`forecast::inline` for predict): only calls whose work is bounded by a small
//! constant, since the thread it blocks is the event loop.
//!
//! Parallel loops consult this module: thresholded ones split over [`threads`] threads, the others
//! pass [`min_len`] to rayon's `with_min_len`, which keeps an inline loop in one piece. The one
//! exception is a large one-row product ([`split_row`]): inline, it shares its columns with the
//! engine's spinning helper thread (`kernels::helper`) when that one is awake, which costs no
//! wake-up and never makes this thread wait for one.

use std::cell::Cell;

use crate::tensor::with_grad_mode;

thread_local! {
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// Runs the engine call `f` on this thread, its parallel loops sequential, with autograd on (as
/// [`super::threads::on_worker`] does). Engine calls made inside it stay on this thread.
pub fn run<T>(f: impl FnOnce() -> T) -> T {
    let before = INLINE.with(|c| c.replace(true));
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            INLINE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    with_grad_mode(true, f)
}

/// Whether this thread is inside [`run`].
#[inline]
pub fn active() -> bool {
    INLINE.with(|c| c.get())
}

/// The threads a parallel loop here may split over: 1 inside [`run`], else the pool's.
#[inline]
pub fn threads() -> usize {
    if active() {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// For rayon's `with_min_len`: inside [`run`] no piece is split off, so the loop runs on this
/// thread without entering a pool.
#[inline]
pub fn min_len() -> usize {
    if active() {
        usize::MAX
    } else {
        1
    }
}

/// One-row products with fewer multiply-adds stay on one thread inside [`run`]: posting half to
/// the helper costs about a µs of cache-line traffic.
const HELPER_MACS: usize = 1 << 15;

/// Blocks a one-row product inside [`run`] is cut into: enough that the caller rarely waits long
/// for the helper's last one, few enough that claiming them costs little.
const HELPER_BLOCKS: usize = 16;

/// Outside [`run`], products with fewer multiply-adds stay on one thread.
const PARALLEL_MACS: usize = 1 << 18;

/// Fills one output row `c` of a product with inner size `k` by column blocks: `block(j0, out)`
/// computes columns `j0..j0 + out.len()` (`j0` a multiple of 4), each column from its own weights
/// alone, so the split never changes a value. Large products split: inside [`run`] with the
/// helper thread, elsewhere (if `allow_threads`) over the pool's threads.
pub fn split_row(c: &mut [f32], k: usize, allow_threads: bool, block: impl Fn(usize, &mut [f32]) + Sync) {
    let n = c.len();
    let macs = n.saturating_mul(k);
    if active() {
        if macs >= HELPER_MACS {
            let chunk = n.div_ceil(HELPER_BLOCKS).next_multiple_of(4);
            return super::helper::for_blocks(c, chunk, &|i, out| block(i * chunk, out));
        }
    } else if allow_threads && macs >= PARALLEL_MACS && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        let chunk = n.div_ceil(rayon::current_num_threads()).next_multiple_of(4);
        return c.par_chunks_mut(chunk).enumerate().for_each(|(i, out)| block(i * chunk, out));
    }
    block(0, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{grad_enabled, no_grad};
    use rayon::prelude::*;

    #[test]
    fn loops_inside_run_stay_on_the_calling_thread() {
        let me = std::thread::current().id();
        let mut out = vec![None; 64];
        run(|| out.par_chunks_mut(1).with_min_len(min_len()).for_each(|c| c[0] = Some(std::thread::current().id())));
        assert!(out.iter().all(|t| *t == Some(me)));
        assert_eq!(run(threads), 1);
        assert!(!active() && min_len() == 1, "the flag is restored");
    }

    #[test]
    fn run_sets_autograd_on_and_restores_the_callers_state_after_a_panic() {
        let inside = no_grad(|| run(grad_enabled));
        assert!(inside);
        let r = std::panic::catch_unwind(|| run(|| panic!("boom")));
        assert!(r.is_err());
        assert!(!active());
    }
}

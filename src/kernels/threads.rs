//! Where engine work runs.

/// Runs `f` on one of rayon's worker threads and waits for it.
///
/// Called from a thread outside the pool (libuv's, for a JS call), every parallel loop inside
/// `f` would otherwise be injected into the pool from outside and wait on a wake-up: hundreds
/// of times per training step. From a worker they split and join cheaply, so the pool gets the
/// whole task once.
pub fn on_worker<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    rayon::join(f, || ()).0
}

//! Where engine work runs.

/// Runs `f` on one of rayon's worker threads and waits for it.
///
/// Called from a thread outside the pool (libuv's, for a JS call), every parallel loop inside
/// `f` would otherwise be injected into the pool from outside and wait on a wake-up: hundreds
/// of times per training step. From a worker they split and join cheaply, so the pool gets the
/// whole task once. (AirPassengers, 100 steps from JS: LSTM fit 5.2 -> 4.2-4.6 s, MLP 1.2 ->
/// 0.9-1.1 s, PatchTST 2.6 -> 1.9 s.)
pub fn on_worker<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    rayon::join(f, || ()).0
}

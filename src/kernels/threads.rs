//! Where engine work runs.
//!
//! Every engine call (a fit, a predict, a cross-validation) runs on a rayon pool of its own, taken
//! from a cache of idle pools and given back when the call ends. Calls never share a pool, because
//! in a shared work-stealing pool a worker that waits inside one call (for the other half of a
//! `join`) runs whatever job is queued next, which may be another call's whole body: that call then
//! inherits the waiting one's thread state (its autograd mode: a fit stolen inside a predict's
//! `no_grad` trained nothing), its stack (a one-series predict stolen by a fit waited for that fit
//! to finish), and the stolen call's cancellation could not be seen until the outer one ended.
//! With a pool per call, a worker only ever steals chunks of its own call, and the operating system,
//! not rayon, shares the cores between calls. A pool has as many threads as rayon's global pool
//! would (`RAYON_NUM_THREADS` or the core count) unless the call asks for another count (a
//! `NeuralForecast`'s `threads` option: several searches' trials side by side, one thread each).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use rayon::{ThreadPool, ThreadPoolBuilder};

/// The engine's pool threads are named this and a number (the Node binding knows its own
/// threads' panics by it).
pub const THREAD_PREFIX: &str = "neuro-divergent-";

use crate::tensor::with_grad_mode;

/// Idle pools kept for the next calls (more concurrent calls than this build and drop their own).
const KEEP_IDLE: usize = 8;

/// The most threads one call may ask for: far above any core count, low enough that a typo
/// (`threads: 1e6`) is refused instead of starting a million threads.
pub const MAX_THREADS: usize = 1024;

/// Calls started with [`spawn`] that run at once; later ones wait in line and start, in order, as
/// running ones end. Without a bound, a burst of calls (a loop of un-awaited predicts) would start
/// a pool of threads each until the process ran out of threads or memory; with it, at most this
/// many pools exist and the rest is a queue of closures.
pub const MAX_RUNNING: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

struct Pools {
    idle: Vec<Arc<ThreadPool>>,
    running: usize,
    /// Each with the pool size it asked for.
    waiting: VecDeque<(usize, Job)>,
}

static POOLS: Mutex<Pools> = Mutex::new(Pools { idle: Vec::new(), running: 0, waiting: VecDeque::new() });

fn pools() -> MutexGuard<'static, Pools> {
    POOLS.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Set on the threads of the pools this module hands out.
    static CALL_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The pool size of a call that asks for none: what rayon's global pool would have
/// (`RAYON_NUM_THREADS`, else the core count). Read without rayon, whose `current_num_threads`
/// inside a pool is that pool's size.
pub fn default_threads() -> usize {
    static DEFAULT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *DEFAULT.get_or_init(|| {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
            .min(MAX_THREADS)
    })
}

/// `threads` as a pool size: 0 asks for the default.
fn pool_size(threads: usize) -> usize {
    if threads == 0 { default_threads() } else { threads.min(MAX_THREADS) }
}

fn build_pool(threads: usize) -> Result<Arc<ThreadPool>, String> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("{THREAD_PREFIX}{i}"))
        .start_handler(|_| CALL_WORKER.with(|c| c.set(true)))
        // A panic escaping a spawned job would abort the process; callers catch their own, this
        // is the last line.
        .panic_handler(|_| ())
        .build()
        .map(Arc::new)
        .map_err(|e| format!("could not start the engine's threads: {e}"))
}

fn take_pool(p: &mut Pools, threads: usize) -> Result<Arc<ThreadPool>, String> {
    let size = pool_size(threads);
    match p.idle.iter().rposition(|pool| pool.current_num_threads() == size) {
        Some(i) => Ok(p.idle.remove(i)),
        None => build_pool(size),
    }
}

fn give_back(p: &mut Pools, pool: Arc<ThreadPool>) {
    if p.idle.len() >= KEEP_IDLE {
        // The oldest idle pool makes room: the sizes in use now are the likelier next ones.
        p.idle.remove(0);
    }
    p.idle.push(pool);
}

/// Gives the pool back when a synchronous call ends, also when it panics.
struct Lease(Option<Arc<ThreadPool>>);

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            give_back(&mut pools(), pool);
        }
    }
}

/// Runs the engine call `f` on a worker of a pool of its own and waits for it, with autograd on
/// (the training steps record a graph; inference turns it off in scoped `no_grad`s).
///
/// Parallel loops inside `f` then split among that pool's workers without a cross-thread wake-up
/// each: from a thread outside any pool (libuv's, for a JS call) every one of them would be injected
/// and waited for, hundreds of times per training step. A call made from inside a call (one engine
/// method using another) stays on its caller's pool, and one inside [`super::inline::run`] on its
/// caller's thread.
///
/// Panics if no thread can be started (Rust callers; the Node binding uses [`spawn`]).
pub fn on_worker<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    on_threads(0, f)
}

/// [`on_worker`] on a pool of `threads` threads (0: the default size).
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    if CALL_WORKER.with(|c| c.get()) || super::inline::active() {
        return with_grad_mode(true, f);
    }
    let pool = take_pool(&mut pools(), threads).unwrap_or_else(|e| panic!("{e}"));
    let _lease = Lease(Some(pool.clone()));
    pool.install(|| with_grad_mode(true, f))
}

/// Starts the engine call `f` on a pool of its own and returns at once (or queues it behind
/// [`MAX_RUNNING`] running calls); `f` reports its result itself (the Node binding settles a
/// promise). No thread waits for it: not the caller, and not one of libuv's, which Node needs for
/// files, DNS and crypto, and whose running work an exiting environment would wait for. `f` must
/// not panic (the binding catches panics inside it). Fails only if no thread can be started.
/// `threads` is the size of its pool (0: the default).
pub fn spawn(threads: usize, f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    let mut p = pools();
    if p.running >= MAX_RUNNING {
        p.waiting.push_back((threads, Box::new(f)));
        return Ok(());
    }
    let pool = take_pool(&mut p, threads)?;
    p.running += 1;
    drop(p);
    run(pool, Box::new(f));
    Ok(())
}

/// Runs `job` on `pool`, then the next waiting job (on a pool of the size it asked for), until none
/// waits.
fn run(pool: Arc<ThreadPool>, job: Job) {
    let done = pool.clone();
    pool.spawn(move || {
        // The queue must move on even if a job broke its promise not to panic.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_grad_mode(true, job)));
        let mut p = pools();
        let Some((threads, next)) = p.waiting.pop_front() else {
            p.running -= 1;
            give_back(&mut p, done);
            return;
        };
        let next_pool = if pool_size(threads) == done.current_num_threads() {
            done
        } else {
            match take_pool(&mut p, threads) {
                Ok(fresh) => {
                    give_back(&mut p, done);
                    fresh
                }
                // No thread for a pool of that size: the job runs on this one rather than never.
                Err(_) => done,
            }
        };
        drop(p);
        run(next_pool, next);
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    use super::*;
    use crate::tensor::{grad_enabled, no_grad};

    /// The steal behind issue 18 item 1, staged on rayon's global pool: a worker waits inside a
    /// `no_grad` join whose other half is blocked, so it takes the next queued job. An engine call
    /// started then must neither run with that worker's autograd mode nor wait behind its stack.
    #[test]
    fn an_engine_call_is_not_run_by_a_worker_waiting_in_no_grad() {
        let release = Arc::new(AtomicBool::new(false));
        let blocked = Arc::new(AtomicUsize::new(0));
        // Each staged job holds two workers: one blocked, one waiting for it (and so stealing).
        let jobs = (rayon::current_num_threads() / 2).max(1);
        let (done_tx, done_rx) = mpsc::channel();
        for _ in 0..jobs {
            let (release, blocked, done_tx) = (release.clone(), blocked.clone(), done_tx.clone());
            rayon::spawn(move || {
                no_grad(|| {
                    let started = AtomicBool::new(false);
                    rayon::join(
                        || {
                            // Wait until the other half is taken by another worker (or give up and
                            // block here, where this worker cannot steal).
                            while !started.load(Ordering::Acquire) && !release.load(Ordering::Acquire) {
                                std::thread::yield_now();
                            }
                        },
                        || {
                            started.store(true, Ordering::Release);
                            blocked.fetch_add(1, Ordering::AcqRel);
                            while !release.load(Ordering::Acquire) {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                        },
                    );
                });
                done_tx.send(()).ok();
            });
        }
        // Let the workers settle into their waits.
        for _ in 0..200 {
            if blocked.load(Ordering::Acquire) == jobs {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            tx.send(on_worker(|| (grad_enabled(), no_grad(grad_enabled), grad_enabled()))).ok();
        });
        let got = rx.recv_timeout(Duration::from_secs(5));
        release.store(true, Ordering::Release);
        for _ in 0..jobs {
            done_rx.recv_timeout(Duration::from_secs(10)).expect("the staged workers finish");
        }
        let modes = got.expect("the engine call ran while the global pool's workers were busy");
        assert_eq!(modes, (true, false, true), "autograd mode inside the call, inside its no_grad, after it");
    }

    #[test]
    fn calls_inside_a_call_stay_on_its_pool_and_set_their_mode() {
        let outer = on_worker(|| {
            let name = std::thread::current().name().map(str::to_string);
            let inner = no_grad(|| on_worker(|| (grad_enabled(), std::thread::current().name().map(str::to_string))));
            (name, inner)
        });
        assert!(outer.0.as_deref().is_some_and(|n| n.starts_with("neuro-divergent-")), "{outer:?}");
        assert_eq!(outer.1 .0, true);
        assert_eq!(outer.1 .1, outer.0);
    }

    #[test]
    fn a_call_runs_on_a_pool_of_the_size_it_asks_for() {
        assert_eq!(on_threads(1, rayon::current_num_threads), 1);
        assert_eq!(on_threads(3, rayon::current_num_threads), 3);
        assert_eq!(on_threads(0, rayon::current_num_threads), default_threads());
        let (tx, rx) = mpsc::channel();
        for n in [1, 3, 1] {
            let tx = tx.clone();
            spawn(n, move || tx.send((n, rayon::current_num_threads())).unwrap()).unwrap();
        }
        let mut got: Vec<_> = (0..3).map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap()).collect();
        got.sort();
        assert_eq!(got, [(1, 1), (1, 1), (3, 3)]);
    }

    #[test]
    fn a_panicking_call_gives_its_pool_back_and_the_next_call_works() {
        let r = std::panic::catch_unwind(|| on_worker(|| panic!("boom")));
        assert!(r.is_err());
        assert_eq!(on_worker(|| rayon::current_num_threads()), rayon::current_num_threads());
        assert!(on_worker(grad_enabled));
    }

    #[test]
    fn spawned_calls_run_at_once_beside_a_busy_call() {
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let (busy_tx, busy_rx) = mpsc::channel();
        spawn(0, move || {
            // Occupies every thread of its pool until released.
            rayon::broadcast(|_| {
                while !r.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            });
            busy_tx.send(()).ok();
        })
        .unwrap();
        let (tx, rx) = mpsc::channel();
        spawn(0, move || {
            tx.send(grad_enabled()).ok();
        })
        .unwrap();
        let got = rx.recv_timeout(Duration::from_secs(5));
        release.store(true, Ordering::Release);
        busy_rx.recv_timeout(Duration::from_secs(10)).expect("the busy call ends");
        assert_eq!(got, Ok(true));
    }

    #[test]
    fn a_burst_of_calls_runs_at_most_max_running_at_once_and_all_finish() {
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (tx, rx) = mpsc::channel();
        let calls = 3 * MAX_RUNNING;
        for i in 0..calls {
            let (now, most, tx) = (now.clone(), most.clone(), tx.clone());
            spawn(0, move || {
                let n = now.fetch_add(1, Ordering::AcqRel) + 1;
                most.fetch_max(n, Ordering::AcqRel);
                std::thread::sleep(Duration::from_millis(5));
                now.fetch_sub(1, Ordering::AcqRel);
                tx.send(i).ok();
            })
            .unwrap();
        }
        let mut done: Vec<usize> = (0..calls).map(|_| rx.recv_timeout(Duration::from_secs(20)).expect("every queued call runs")).collect();
        done.sort();
        assert_eq!(done, (0..calls).collect::<Vec<_>>());
        // Other tests may run calls of their own at the same time, never more than the bound.
        assert!(most.load(Ordering::Acquire) <= MAX_RUNNING, "{} at once", most.load(Ordering::Acquire));
        assert!(pools().idle.len() <= KEEP_IDLE);
    }
}

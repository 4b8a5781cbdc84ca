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
//! not rayon, shares the cores between calls. Each pool has as many threads as rayon's global pool
//! would (`RAYON_NUM_THREADS` or the core count), so a call gives the same bits alone or among others.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::tensor::with_grad_mode;

/// Idle pools kept for the next calls (more concurrent calls than this build and drop their own).
const KEEP_IDLE: usize = 8;

/// Calls started with [`spawn`] that run at once; later ones wait in line and start, in order, as
/// running ones end. Without a bound, a burst of calls (a loop of un-awaited predicts) would start
/// a pool of threads each until the process ran out of threads or memory; with it, at most this
/// many pools exist and the rest is a queue of closures.
pub const MAX_RUNNING: usize = 32;

type Job = Box<dyn FnOnce() + Send>;

struct Pools {
    idle: Vec<Arc<ThreadPool>>,
    running: usize,
    waiting: VecDeque<Job>,
}

static POOLS: Mutex<Pools> = Mutex::new(Pools { idle: Vec::new(), running: 0, waiting: VecDeque::new() });

fn pools() -> MutexGuard<'static, Pools> {
    POOLS.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// Set on the threads of the pools this module hands out.
    static CALL_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn build_pool() -> Result<Arc<ThreadPool>, String> {
    ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads())
        .thread_name(|i| format!("neuro-divergent-{i}"))
        .start_handler(|_| CALL_WORKER.with(|c| c.set(true)))
        // A panic escaping a spawned job would abort the process; callers catch their own, this
        // is the last line.
        .panic_handler(|_| ())
        .build()
        .map(Arc::new)
        .map_err(|e| format!("could not start the engine's threads: {e}"))
}

fn take_pool(p: &mut Pools) -> Result<Arc<ThreadPool>, String> {
    match p.idle.pop() {
        Some(pool) => Ok(pool),
        None => build_pool(),
    }
}

fn give_back(p: &mut Pools, pool: Arc<ThreadPool>) {
    if p.idle.len() < KEEP_IDLE {
        p.idle.push(pool);
    }
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
    if CALL_WORKER.with(|c| c.get()) || super::inline::active() {
        return with_grad_mode(true, f);
    }
    let pool = take_pool(&mut pools()).unwrap_or_else(|e| panic!("{e}"));
    let _lease = Lease(Some(pool.clone()));
    pool.install(|| with_grad_mode(true, f))
}

/// Starts the engine call `f` on a pool of its own and returns at once (or queues it behind
/// [`MAX_RUNNING`] running calls); `f` reports its result itself (the Node binding settles a
/// promise). No thread waits for it: not the caller, and not one of libuv's, which Node needs for
/// files, DNS and crypto, and whose running work an exiting environment would wait for. `f` must
/// not panic (the binding catches panics inside it). Fails only if no thread can be started.
pub fn spawn(f: impl FnOnce() + Send + 'static) -> Result<(), String> {
    let mut p = pools();
    if p.running >= MAX_RUNNING {
        p.waiting.push_back(Box::new(f));
        return Ok(());
    }
    let pool = take_pool(&mut p)?;
    p.running += 1;
    drop(p);
    run(pool, Box::new(f));
    Ok(())
}

/// Runs `job` on `pool`, then the next waiting job on the same pool, until none waits.
fn run(pool: Arc<ThreadPool>, job: Job) {
    let next_pool = pool.clone();
    pool.spawn(move || {
        // The queue must move on even if a job broke its promise not to panic.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| with_grad_mode(true, job)));
        let mut p = pools();
        match p.waiting.pop_front() {
            Some(next) => {
                drop(p);
                run(next_pool, next);
            }
            None => {
                p.running -= 1;
                give_back(&mut p, next_pool);
            }
        }
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
        spawn(move || {
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
        spawn(move || {
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
            spawn(move || {
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

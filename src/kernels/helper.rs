//! One engine thread that shares the large one-row products of a call run inline
//! ([`super::inline::run`]: a small predict on the JS thread), without a wake-up on the way.
//!
//! Waking a parked thread costs 30-90 µs on our virtual machines, as much as the whole forecast, so
//! a pool cannot split one. This helper instead spins for a while ([`spin`], 200 µs by default)
//! after the last job it saw, then parks: back-to-back predicts find it awake and hand it half of
//! every large product through one shared word, while an idle process costs nothing. The calling
//! thread never waits for it to wake: it posts a job of chunks and works through them itself; the
//! helper, if awake, claims chunks too (one atomic add each). The caller waits only, at the end,
//! for a chunk the helper is computing (a few µs of work; longer only if the OS deschedules the
//! helper in the middle of one). A parked helper is woken at the first job after it parked and
//! helps from the next ones on.
//!
//! The trade-off: while predicts come faster than the spin window, the helper keeps one core busy
//! (it spins by yielding, so a thread that shares its core, the caller's included, gets the core at
//! once, but an otherwise idle core is kept busy); `NEURO_DIVERGENT_SPIN_US` sets the window
//! in µs (`0`: no helper, the calling thread does all the work). With one thread allowed
//! (`RAYON_NUM_THREADS=1` or one core) there is no helper either.
//!
//! Determinism is the caller's: each chunk is computed by one thread, by the same code whichever
//! thread that is, so the results do not depend on who computed what.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::OnceLock;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// The spin window when `NEURO_DIVERGENT_SPIN_US` is not set: four back-to-back forecasts.
const DEFAULT_SPIN: Duration = Duration::from_micros(200);

/// The longest spin window the variable may ask for (1 s): a typo must not make a thread spin
/// for minutes after each predict.
const MAX_SPIN_US: u64 = 1_000_000;

/// How long the caller spins for the helper's last chunk before it yields its core instead.
const YIELD_AFTER: Duration = Duration::from_micros(5);

/// Work posted to the helper: chunks `0..chunks`, claimed one at a time by whoever is free.
struct Job<'a> {
    seq: u64,
    next: AtomicUsize,
    chunks: usize,
    run: &'a (dyn Fn(usize) + Sync),
    panicked: AtomicBool,
}

impl Job<'_> {
    /// Runs unclaimed chunks until none is left.
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Relaxed);
            if i >= self.chunks {
                return;
            }
            (self.run)(i);
        }
    }
}

/// The posted job (null: none). It lives on its owner's stack: the helper touches it only while
/// counted in [`USERS`] after seeing it still posted, and the owner, after retracting it, waits
/// for [`USERS`] to drop to zero before it returns.
static SLOT: AtomicPtr<Job<'static>> = AtomicPtr::new(std::ptr::null_mut());
/// Helpers inside a job (0 or 1).
static USERS: AtomicUsize = AtomicUsize::new(0);
/// Set while a thread owns the slot: a second calling thread (a Node worker's event loop)
/// then works alone rather than wait.
static OWNED: AtomicBool = AtomicBool::new(false);
/// The sequence number of the last job posted, so the helper skips one it already served with
/// plain loads (no writes to shared lines while it spins).
static POSTED: AtomicU64 = AtomicU64::new(0);
/// Set by the helper before it parks; whoever clears it unparks it.
static PARKED: AtomicBool = AtomicBool::new(false);

/// The spin window, from `NEURO_DIVERGENT_SPIN_US` (None: no helper).
pub fn spin() -> Option<Duration> {
    static SPIN: OnceLock<Option<Duration>> = OnceLock::new();
    *SPIN.get_or_init(|| {
        let window = match std::env::var("NEURO_DIVERGENT_SPIN_US") {
            Ok(v) => v.trim().parse::<u64>().ok().map(|us| Duration::from_micros(us.min(MAX_SPIN_US))).unwrap_or(DEFAULT_SPIN),
            Err(_) => DEFAULT_SPIN,
        };
        (!window.is_zero() && super::threads::default_threads() > 1).then_some(window)
    })
}

/// The helper thread, started at the first job (None: disabled, or no thread could start).
fn helper() -> Option<&'static Thread> {
    static HELPER: OnceLock<Option<Thread>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let window = spin()?;
            let name = format!("{}helper", super::threads::THREAD_PREFIX);
            std::thread::Builder::new().name(name).stack_size(256 << 10).spawn(move || serve(window)).ok().map(|h| h.thread().clone())
        })
        .as_ref()
}

/// The helper's loop: serve posted jobs, spin `window` after the last one, then park.
fn serve(window: Duration) {
    let mut served = 0u64;
    let mut idle_since = Instant::now();
    loop {
        if POSTED.load(Acquire) != served {
            let p = SLOT.load(Acquire);
            if !p.is_null() {
                USERS.fetch_add(1, SeqCst);
                if SLOT.load(SeqCst) == p {
                    // SAFETY: counted in USERS and the job still posted: its owner has not
                    // retracted it, and will wait for USERS to drop before freeing it.
                    let job = unsafe { &*p };
                    served = job.seq;
                    if catch_unwind(AssertUnwindSafe(|| job.work())).is_err() {
                        job.panicked.store(true, Relaxed);
                    }
                }
                USERS.fetch_sub(1, Release);
                idle_since = Instant::now();
                continue;
            }
        }
        if idle_since.elapsed() < window {
            // Yield rather than spin: on a machine with more runnable threads than cores the
            // helper may share one with the calling thread, and a pure spin would take its time.
            std::thread::yield_now();
            continue;
        }
        PARKED.store(true, SeqCst);
        // A job posted before the flag was seen set would find no one to wake: look once more.
        if SLOT.load(SeqCst).is_null() {
            while PARKED.load(SeqCst) {
                std::thread::park();
            }
        } else {
            PARKED.store(false, SeqCst);
        }
        idle_since = Instant::now();
    }
}

/// Retracts a posted job and waits for the helper to leave it; releases the slot. Runs on
/// unwinding too, so a panicking chunk never leaves the helper reading a freed job.
struct Retract;

impl Drop for Retract {
    fn drop(&mut self) {
        SLOT.store(std::ptr::null_mut(), SeqCst);
        let start = Instant::now();
        while USERS.load(SeqCst) != 0 {
            // A chunk takes µs; longer, the helper was descheduled, maybe for this thread's core.
            if start.elapsed() < YIELD_AFTER {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        OWNED.store(false, Release);
    }
}

/// Runs `run(i)` for every `i` in `0..chunks`, each exactly once, on this thread and, when it is
/// awake and free, the helper; returns when all have run. A chunk that panicked on the helper
/// panics here.
pub fn for_chunks(chunks: usize, run: &(dyn Fn(usize) + Sync)) {
    let solo = || (0..chunks).for_each(run);
    if chunks < 2 {
        return solo();
    }
    let Some(helper) = helper() else { return solo() };
    if OWNED.swap(true, Acquire) {
        return solo();
    }
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let job = Job { seq: SEQ.fetch_add(1, Relaxed) + 1, next: AtomicUsize::new(0), chunks, run, panicked: AtomicBool::new(false) };
    let retract = Retract;
    // SAFETY (of the helper's later dereference): `Retract` keeps the job alive while it is seen.
    SLOT.store(&job as *const Job<'_> as *mut Job<'static>, SeqCst);
    POSTED.store(job.seq, Release);
    if PARKED.load(SeqCst) && PARKED.swap(false, SeqCst) {
        // Not in time for this job, most likely: awake for the next ones.
        helper.unpark();
    }
    job.work();
    drop(retract);
    if job.panicked.load(Relaxed) {
        panic!("a chunk of an inline product panicked on the helper thread");
    }
}

/// Fills `out` by blocks of `chunk` values: `f(i, block)` for block `i` (values `i·chunk..`), each
/// block by one thread, as [`for_chunks`].
pub fn for_blocks(out: &mut [f32], chunk: usize, f: &(dyn Fn(usize, &mut [f32]) + Sync)) {
    struct Base(*mut f32);
    // SAFETY: the blocks are disjoint and each is handed to one thread once.
    unsafe impl Sync for Base {}
    impl Base {
        // A method, so that the closure below captures the whole (Sync) wrapper, not its field.
        fn at(&self, i: usize) -> *mut f32 {
            self.0.wrapping_add(i)
        }
    }
    let (n, base) = (out.len(), Base(out.as_mut_ptr()));
    let chunk = chunk.max(1);
    for_chunks(n.div_ceil(chunk), &|i| {
        let start = i * chunk;
        // SAFETY: `start..start + len` lies inside `out`, which `for_chunks` outlives no block
        // of: it returns only after every block ran, and no two blocks overlap.
        let block = unsafe { std::slice::from_raw_parts_mut(base.at(start), chunk.min(n - start)) };
        f(i, block)
    });
}

/// Whether the helper is spinning now (tests: it parks when idle).
pub fn awake() -> bool {
    helper().is_some() && !PARKED.load(SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_runs_once_whoever_runs_it() {
        for chunks in [0, 1, 2, 7, 64] {
            let hits: Vec<AtomicUsize> = (0..chunks).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..50 {
                for_chunks(chunks, &|i| {
                    hits[i].fetch_add(1, Relaxed);
                });
            }
            assert!(hits.iter().all(|h| h.load(Relaxed) == 50), "{chunks} chunks");
        }
    }

    #[test]
    fn the_helper_takes_chunks_when_awake_and_parks_when_idle() {
        if helper().is_none() {
            return; // one thread allowed here: nothing to test
        }
        let me = std::thread::current().id();
        let mut helped = false;
        for _ in 0..200 {
            let others = AtomicUsize::new(0);
            for_chunks(16, &|_| {
                if std::thread::current().id() != me {
                    others.fetch_add(1, Relaxed);
                }
                std::thread::sleep(Duration::from_micros(50));
            });
            if others.load(Relaxed) > 0 {
                helped = true;
                break;
            }
        }
        assert!(helped, "the helper never took a chunk");
        // Other tests' inline predicts may keep it awake for a while; a loaded machine may not
        // run it for a while either.
        let start = Instant::now();
        while awake() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(!awake(), "the helper still spins long after its last job");
    }

    #[test]
    fn a_chunk_that_panics_on_either_thread_panics_the_caller_and_the_next_job_works() {
        for _ in 0..20 {
            let r = catch_unwind(|| for_chunks(8, &|i| assert!(i != 5, "chunk 5")));
            assert!(r.is_err());
        }
        let sum = AtomicUsize::new(0);
        for_chunks(8, &|i| {
            sum.fetch_add(i, Relaxed);
        });
        assert_eq!(sum.load(Relaxed), 28);
    }
}

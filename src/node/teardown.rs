//! Work started from a Node environment (the main thread, or a worker thread) is aborted when that
//! environment tears down: `worker.terminate()`, `process.exit()` in a worker, the end of a
//! worker or of the process. A cleanup hook raises the cancel flag of every call the environment
//! started (the flag `AbortSignal` raises too), so the engine stops at its next check (every
//! training step, every inference batch) instead of computing for nobody. The environment does
//! not wait for that: engine calls hold no libuv request (`tasks`), and their promises are dropped
//! with it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use napi::Env;

/// Per environment (by its `napi_env` address, unique while it lives): the cancel flags of its
/// calls. An entry exists from an environment's first call until its teardown.
static RUNNING: Mutex<Vec<(usize, Vec<Weak<AtomicBool>>)>> = Mutex::new(Vec::new());

/// Raises `cancel` when `env` tears down.
pub fn watch(env: &Env, cancel: &Arc<AtomicBool>) -> napi::Result<()> {
    let key = env.raw() as usize;
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    match running.iter_mut().find(|(k, _)| *k == key) {
        Some((_, flags)) => {
            flags.retain(|f| f.strong_count() > 0);
            flags.push(Arc::downgrade(cancel));
        }
        None => {
            env.add_env_cleanup_hook(key, abort_all)?;
            running.push((key, vec![Arc::downgrade(cancel)]));
        }
    }
    Ok(())
}

fn abort_all(key: usize) {
    let flags = {
        let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
        match running.iter().position(|(k, _)| *k == key) {
            Some(i) => running.swap_remove(i).1,
            None => return,
        }
    };
    for flag in flags.iter().filter_map(Weak::upgrade) {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Keeps this library loaded for the life of the process. Node unloads an addon when the last
/// environment that loaded it ends (a worker thread, when the main thread never required it), but
/// engine threads outlive environments: a terminated worker's call finishes its step, idle pools
/// wait for the next call. Unmapping their code under them crashed the next worker.
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[napi_derive::module_init]
fn pin_library() {
    use std::os::raw::{c_char, c_int, c_void};
    #[repr(C)]
    struct DlInfo {
        fname: *const c_char,
        fbase: *mut c_void,
        sname: *const c_char,
        saddr: *mut c_void,
    }
    extern "C" {
        fn dladdr(addr: *const c_void, info: *mut DlInfo) -> c_int;
        fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    }
    #[cfg(target_os = "linux")]
    const FLAGS: c_int = 0x1 | 0x4 | 0x1000; // RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE
    #[cfg(target_os = "macos")]
    const FLAGS: c_int = 0x1 | 0x10 | 0x80; // RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE
    let mut info = DlInfo { fname: std::ptr::null(), fbase: std::ptr::null_mut(), sname: std::ptr::null(), saddr: std::ptr::null_mut() };
    // SAFETY: dladdr fills `info` for an address inside this library; dlopen with RTLD_NOLOAD only
    // marks the already-loaded library (its name from dladdr) as never to be unloaded. On failure
    // nothing changes and the library is merely unloadable as before.
    unsafe {
        if dladdr(pin_library as *const c_void, &mut info) != 0 && !info.fname.is_null() {
            dlopen(info.fname, FLAGS);
        }
    }
}

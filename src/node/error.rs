//! The one mapping from engine errors (and panics) to JS errors. The kind travels as a message
//! prefix `[nd:Kind] `, which index.js turns into the right class (TypeError, RangeError,
//! AbortError, ...), so async rejections and sync throws are treated alike.

use std::cell::Cell;
use std::sync::{Mutex, Once};

use crate::error::{Error, ErrorKind};

pub fn to_js(e: Error) -> napi::Error {
    let kind = match e.kind {
        ErrorKind::Type => "TypeError",
        ErrorKind::Range => "RangeError",
        ErrorKind::Value => "Error",
        ErrorKind::Aborted => "AbortError",
        ErrorKind::Io => "IoError",
        ErrorKind::Format => "FormatError",
    };
    napi::Error::new(napi::Status::GenericFailure, format!("[nd:{kind}] {}", e.message))
}

thread_local! {
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Where the last contained panic happened, for the error that reports it.
static LAST_PANIC_AT: Mutex<Option<String>> = Mutex::new(None);

/// Rust's default hook prints every panic to stderr, which is the host's: a contained panic
/// (inside `guarded`, or on the engine's pool threads, whose panics reach a `guarded` caller)
/// becomes a JS error instead, so it only leaves its location for that error. Any other panic
/// goes to the hook that was there before.
fn quiet_contained_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let pool = std::thread::current().name().is_some_and(|n| n.starts_with(crate::kernels::threads::THREAD_PREFIX));
            if GUARDED.with(Cell::get) || pool {
                *LAST_PANIC_AT.lock().unwrap_or_else(|p| p.into_inner()) = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            } else {
                previous(info)
            }
        }));
    });
}

/// Runs `f`, turning a panic into an error instead of unwinding into Node.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> crate::Result<T>) -> napi::Result<T> {
    quiet_contained_panics();
    let outer = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    match result {
        Ok(r) => r.map_err(to_js),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            let at = LAST_PANIC_AT.lock().unwrap_or_else(|p| p.into_inner()).take().map_or(String::new(), |l| format!(" at {l}"));
            Err(to_js(Error::value(format!("internal error in {what}: {msg} (this is a bug in neuro-divergent{at}; please report it)"))))
        }
    }
}

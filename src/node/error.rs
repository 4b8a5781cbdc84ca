//! The one mapping from engine errors (and panics) to JS errors. The kind travels as a message
//! prefix `[nd:Kind] `, which index.js turns into the right class (TypeError, RangeError,
//! AbortError, ...), so async rejections and sync throws are treated alike.

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

/// Runs `f`, turning a panic into an error instead of unwinding into Node.
pub fn guarded<T>(what: &str, f: impl FnOnce() -> crate::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_js),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(to_js(Error::value(format!("internal error in {what}: {msg} (this is a bug in neuro-divergent; please report it)"))))
        }
    }
}

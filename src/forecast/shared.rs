//! A NeuralForecast shared by concurrent calls (the JS object behind `new NeuralForecast`).
//!
//! Readers (predict, save) take the committed state, an `Arc`, and run without holding any lock.
//! A writer (fit, crossValidation) trains from it into a new state and swaps that in when it
//! succeeds, so a predict during a refit serves the previous model and never waits. One writer at
//! a time: a second fit or crossValidation while one runs is refused at once with a clear error
//! rather than queued (a queued refit would train on data the caller has moved past, and its
//! caller could not tell it from a running one).
//!
//! The lock below is held only to clone or replace the `Arc`, which cannot panic, so a poisoned
//! lock still holds an intact state and is recovered. A panic inside a fit happens outside it,
//! before the commit, and leaves the previous state as it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::NeuralForecast;
use crate::error::{Error, Result};

pub struct Shared {
    committed: Mutex<Arc<NeuralForecast>>,
    writing: AtomicBool,
    /// The caller's metadata (given to `save`, read back after `load`); it belongs to the object,
    /// not to one fitted state.
    extra: Mutex<serde_json::Value>,
}

fn recover<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(nf: NeuralForecast) -> Arc<Shared> {
        let extra = nf.extra.clone();
        Arc::new(Shared { committed: Mutex::new(Arc::new(nf)), writing: AtomicBool::new(false), extra: Mutex::new(extra) })
    }

    /// The committed state, for a reader.
    pub fn current(&self) -> Arc<NeuralForecast> {
        recover(&self.committed).clone()
    }

    /// Claims the right to write, or says why not. `what` names the call ("fit", ...).
    pub fn begin_write(self: &Arc<Self>, what: &str) -> Result<Writer> {
        if self.writing.swap(true, Ordering::AcqRel) {
            return Err(Error::value(format!(
                "{what}: this NeuralForecast is already running a fit or crossValidation; await it (or abort it with its signal) before starting another. predict() and save() work meanwhile, on the models fitted before"
            )));
        }
        Ok(Writer { shared: Some(self.clone()) })
    }

    pub fn extra(&self) -> serde_json::Value {
        recover(&self.extra).clone()
    }

    pub fn set_extra(&self, extra: serde_json::Value) {
        *recover(&self.extra) = extra;
    }
}

/// The one running writer of a [`Shared`]. Dropping it (done, failed, panicked, or never started)
/// lets the next writer in.
pub struct Writer {
    shared: Option<Arc<Shared>>,
}

impl Writer {
    /// The state the writer starts from.
    pub fn current(&self) -> Arc<NeuralForecast> {
        self.shared.as_ref().expect("a live writer").current()
    }

    /// Makes `next` the state every later call sees, and lets the next writer in.
    pub fn commit(mut self, next: NeuralForecast) {
        if let Some(shared) = self.shared.take() {
            *recover(&shared.committed) = Arc::new(next);
            shared.writing.store(false, Ordering::Release);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.writing.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::forecast::{FreqSpec, ModelSpec};

    fn tiny(seed: u64) -> NeuralForecast {
        let spec = ModelSpec { class: "MLP".into(), options: json!({"h": 2, "inputSize": 4, "maxSteps": 1, "randomSeed": seed}) };
        NeuralForecast::new(vec![spec], FreqSpec::Step(1.0)).unwrap()
    }

    fn seed_of(nf: &NeuralForecast) -> serde_json::Value {
        nf.configs[0].options_json()["randomSeed"].clone()
    }

    #[test]
    fn one_writer_at_a_time_readers_see_the_committed_state() {
        let shared = Shared::new(tiny(1));
        let w = shared.begin_write("fit").unwrap();
        let err = shared.begin_write("crossValidation").err().expect("a second writer is refused");
        assert!(err.message.starts_with("crossValidation: this NeuralForecast is already running"), "{err}");
        let before = shared.current();
        w.commit(tiny(2));
        assert_eq!(seed_of(&before), json!(1), "a reader keeps the state it took");
        assert_eq!(seed_of(&shared.current()), json!(2));
        drop(shared.begin_write("fit").unwrap()); // free again, and dropping frees it
        assert!(shared.begin_write("fit").is_ok());
    }

    #[test]
    fn a_panic_inside_a_write_leaves_the_state_usable_and_unchanged() {
        let shared = Shared::new(tiny(1));
        let s = shared.clone();
        // Injected panic, as a bug in training would raise, with the writer held and the state
        // locked once before it (a reader in the middle of the write).
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let w = s.begin_write("fit").unwrap();
            let _started_from = w.current();
            panic!("injected");
        }));
        assert!(r.is_err());
        assert_eq!(seed_of(&shared.current()), json!(1));
        shared.begin_write("fit").expect("the writer was released by the panic").commit(tiny(3));
        assert_eq!(seed_of(&shared.current()), json!(3));
        // Even a panic while the lock itself is held (poisoning it) leaves the state readable.
        let s = shared.clone();
        let _ = std::thread::spawn(move || {
            let _g = s.committed.lock().unwrap();
            panic!("poison");
        })
        .join();
        assert!(shared.committed.is_poisoned());
        assert_eq!(seed_of(&shared.current()), json!(3));
        shared.begin_write("fit").unwrap().commit(tiny(4));
        assert_eq!(seed_of(&shared.current()), json!(4));
    }
}

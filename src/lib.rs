//! neuro-divergent: neural time-series forecasting (NeuralForecast's models) in Rust for Node.js.
//! See docs/ARCHITECTURE.md for the module map.

pub mod data;
pub mod error;
pub mod forecast;
pub mod kernels;
pub mod llm;
pub mod loss;
pub mod models;
pub mod nn;
#[cfg(feature = "node")]
pub mod node;
pub mod optim;
pub mod rng;
pub mod sched;
pub mod tensor;
pub mod train;

pub use error::{Error, ErrorKind, Result};

/// Training allocates and frees the same few buffer sizes (megabytes each) hundreds of times per
/// step. glibc's malloc hands blocks that large back to the kernel on every free, so each op paid
/// page faults and zeroing (~15% of a PatchTST step in perf); mimalloc keeps them for reuse.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

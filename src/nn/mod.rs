//! Layers. Each owns its parameter tensors and implements [`Module`] for stable names.

pub mod init;
mod linear;
mod module;

pub use linear::Linear;
pub use module::{join, named_params, param_count, Ctx, Module};

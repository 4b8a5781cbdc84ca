//! Tensor ops, one family per file. Each file holds the forward computation as `impl Tensor`
//! methods and the matching [`Backward`](super::Backward) rules.

pub(crate) mod binary;
mod layout;
mod matmul;
mod reduce;
mod softmax;
pub(crate) mod unary;

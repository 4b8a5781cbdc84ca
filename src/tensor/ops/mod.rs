//! Tensor ops, one family per file. Each file holds the forward computation as `impl Tensor`
//! methods and the matching [`Backward`](super::Backward) rules.

mod attention;
pub(crate) mod binary;
mod complex;
mod conv;
mod dropout;
mod fft;
mod gru;
mod index;
mod interp;
mod layout;
mod lstm;
mod norm;
mod pad;
mod matmul;
mod moving_average;
mod pool;
mod recurrence;
mod reduce;
mod rnn;
mod roll;
mod scatter;
mod softmax;
pub(crate) mod unary;

pub use attention::AttentionSpec;
pub use conv::Conv2dSpec;
pub use interp::interpolation_matrix;
pub use pad::PadMode;

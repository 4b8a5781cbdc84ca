//! Layers. Each owns its parameter tensors and implements [`Module`] for stable names.

mod attention;
pub mod autocorrelation;
mod conv;
pub mod decomp_transformer;
mod decomposition;
mod embedding;
pub mod fourier;
pub mod init;
mod linear;
mod module;
mod norm;
mod revin;
mod rnn;
pub mod tft;
#[cfg(test)]
mod rnn_reference;
pub mod transformer;

pub use attention::{AttentionMask, MultiHeadAttention};
pub use conv::{Conv1d, Conv2d};
pub use decomposition::{SeasonalLayerNorm, SeriesDecomp};
pub use embedding::{sinusoidal_positions, Embedding, LearnedPositions};
pub use linear::Linear;
pub use module::{join, named_buffers, named_params, param_count, Ctx, Module};
pub use norm::{BatchNorm1d, LayerNorm};
pub use revin::{RevinMultivariate, RevinStats};
pub use rnn::{Cell, Recurrent, RecurrentRun, RecurrentState};

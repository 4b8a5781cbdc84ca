//! Raw f32 kernels with no autodiff: the code that decides speed.

pub mod activation;
pub mod gemm;
pub mod half;
pub mod helper;
pub mod inline;
pub mod simd;
pub mod threads;

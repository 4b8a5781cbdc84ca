//! Tensors and reverse-mode autodiff (being written).

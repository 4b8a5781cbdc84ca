//! Long-format frames, frequencies, window sampling and scalers. Pure data: no tensors.

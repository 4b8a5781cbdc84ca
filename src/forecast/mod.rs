//! NeuralForecast orchestration: fit / predict / cross-validation / save / load over many models.

pub mod file;

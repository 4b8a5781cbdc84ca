//! The activations NeuralForecast's MLP-style models accept by name.

use crate::error::{Error, Result};
use crate::nn::{join, Module};
use crate::tensor::Tensor;

pub const NAMES: [&str; 7] = ["ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "PReLU", "Sigmoid"];

/// An activation function; PReLU carries its learnable slope (PyTorch init 0.25).
pub enum Activation {
    Relu,
    Softplus,
    Tanh,
    Selu,
    LeakyRelu,
    Prelu(Tensor),
    Sigmoid,
}

impl Activation {
    pub fn parse(name: &str, model: &str) -> Result<Activation> {
        Ok(match name {
            "ReLU" => Activation::Relu,
            "Softplus" => Activation::Softplus,
            "Tanh" => Activation::Tanh,
            "SELU" => Activation::Selu,
            "LeakyReLU" => Activation::LeakyRelu,
            "PReLU" => Activation::Prelu(Tensor::param(vec![0.25], &[1])),
            "Sigmoid" => Activation::Sigmoid,
            _ => return Err(Error::range(format!("{model} option 'activation' must be one of {}, got '{name}'", NAMES.join(", ")))),
        })
    }

    /// Learnable values of the activation `name` (PReLU's slope), for footprints.
    pub fn params(name: &str) -> f64 {
        if name == "PReLU" { 1.0 } else { 0.0 }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Activation::Relu => x.relu(),
            Activation::Softplus => x.softplus(),
            Activation::Tanh => x.tanh(),
            // SELU = λ·ELU_α with PyTorch's constants.
            Activation::Selu => x.elu(1.673_263_2).mul_scalar(1.050_701),
            Activation::LeakyRelu => x.leaky_relu(0.01),
            // PReLU(x) = max(0, x) - a·max(0, -x)
            Activation::Prelu(a) => x.relu().sub(&x.neg().relu().mul(a)),
            Activation::Sigmoid => x.sigmoid(),
        }
    }
}

impl Module for Activation {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Activation::Prelu(a) = self {
            f(join(prefix, "weight"), a);
        }
    }
}

//! The activations NeuralForecast's models accept by name: NBEATS, NBEATSx and NHITS take the seven
//! of their own `ACTIVATIONS`; the MLP decoders and TCN convolutions take the longer list of
//! `common._modules.ACTIVATIONS` (any `torch.nn` class built with its defaults).

use crate::error::{Error, Result};
use crate::nn::{join, Module};
use crate::tensor::Tensor;

pub const NAMES: [&str; 7] = ["ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "PReLU", "Sigmoid"];

/// `common._modules.ACTIVATIONS` less the three that cannot work as NeuralForecast builds them
/// (refused by [`check_module_name`] with the reason).
pub const MODULE_NAMES: [&str; 19] = [
    "ReLU", "Softplus", "Tanh", "SELU", "LeakyReLU", "PReLU", "Sigmoid", "GELU", "ELU", "SiLU", "Mish", "Softsign",
    "Hardshrink", "Softshrink", "CELU", "LogSigmoid", "Hardtanh", "Hardswish", "Identity",
];

/// Refuses the names of `common._modules.ACTIVATIONS` that NeuralForecast accepts but cannot run,
/// with the reason.
pub fn check_module_name(model: &str, option: &str, name: &str) -> Result<()> {
    let why = match name {
        "GLU" => "it halves the features it gets, so the next layer's input width no longer matches (NeuralForecast fails on the first batch)",
        "Threshold" => "torch.nn.Threshold has no defaults (NeuralForecast's constructor raises a TypeError)",
        "RReLU" => "its random training slope is not implemented",
        _ => return Ok(()),
    };
    Err(Error::range(format!("{model} option '{option}': '{name}' is not supported: {why}")))
}

/// An activation function; PReLU carries its learnable slope (PyTorch init 0.25).
pub enum Activation {
    Relu,
    Softplus,
    Tanh,
    Selu,
    LeakyRelu,
    Prelu(Tensor),
    Sigmoid,
    Gelu,
    /// ELU with α = 1, which is also CELU with its default α = 1.
    Elu,
    Silu,
    Mish,
    Softsign,
    Hardshrink,
    Softshrink,
    LogSigmoid,
    Hardtanh,
    Hardswish,
    Identity,
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
            "GELU" => Activation::Gelu,
            "ELU" | "CELU" => Activation::Elu,
            "SiLU" => Activation::Silu,
            "Mish" => Activation::Mish,
            "Softsign" => Activation::Softsign,
            "Hardshrink" => Activation::Hardshrink,
            "Softshrink" => Activation::Softshrink,
            "LogSigmoid" => Activation::LogSigmoid,
            "Hardtanh" => Activation::Hardtanh,
            "Hardswish" => Activation::Hardswish,
            "Identity" => Activation::Identity,
            _ => return Err(Error::range(format!("{model} option 'activation' must be one of {}, got '{name}'", MODULE_NAMES.join(", ")))),
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
            Activation::Gelu => x.gelu(),
            Activation::Elu => x.elu(1.0),
            Activation::Silu => x.silu(),
            Activation::Mish => x.mul(&x.softplus().tanh()),
            Activation::Softsign => x.softsign(),
            // PyTorch's default λ = 0.5 for both shrinks.
            Activation::Hardshrink => x.hardshrink(0.5),
            Activation::Softshrink => x.sub(&x.clamp(-0.5, 0.5)),
            Activation::LogSigmoid => x.neg().softplus().neg(),
            Activation::Hardtanh => x.clamp(-1.0, 1.0),
            // x · ReLU6(x + 3) / 6
            Activation::Hardswish => x.mul(&x.add_scalar(3.0).clamp(0.0, 6.0)).mul_scalar(1.0 / 6.0),
            Activation::Identity => x.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    /// `torch.nn.<name>()(x)` for x = -2, -0.25, 0.75, 3 (the NeuralForecast venv's torch, float64, rounded to 1e-6).
    #[test]
    fn module_activations_match_pytorch() {
        let x = Tensor::from_vec(vec![-2.0, -0.25, 0.75, 3.0], &[4]);
        let expect: [(&str, [f32; 4]); 12] = [
            ("GELU", [-0.0455, -0.100323, 0.580029, 2.99595]),
            ("ELU", [-0.864665, -0.221199, 0.75, 3.0]),
            ("SiLU", [-0.238406, -0.109456, 0.509384, 2.857722]),
            ("Mish", [-0.252501, -0.129927, 0.610018, 2.986535]),
            ("Softsign", [-0.666667, -0.2, 0.428571, 0.75]),
            ("Hardshrink", [-2.0, 0.0, 0.75, 3.0]),
            ("Softshrink", [-1.5, 0.0, 0.25, 2.5]),
            ("LogSigmoid", [-2.126928, -0.825939, -0.386871, -0.048587]),
            ("Hardtanh", [-1.0, -0.25, 0.75, 1.0]),
            ("Hardswish", [-0.333333, -0.114583, 0.46875, 3.0]),
            ("Identity", [-2.0, -0.25, 0.75, 3.0]),
            ("CELU", [-0.864665, -0.221199, 0.75, 3.0]),
        ];
        for (name, want) in expect {
            let got = Activation::parse(name, "test").unwrap().forward(&x).to_vec();
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 2e-5, "{name}: got {got:?}, want {want:?}");
            }
        }
    }

    #[test]
    fn every_module_name_parses_and_the_unrunnable_ones_say_why() {
        for name in MODULE_NAMES {
            assert!(Activation::parse(name, "test").is_ok(), "{name}");
            assert!(check_module_name("TCN", "decoderActivation", name).is_ok());
        }
        for name in ["GLU", "Threshold", "RReLU"] {
            let e = check_module_name("TCN", "decoderActivation", name).unwrap_err().to_string();
            assert!(e.contains("decoderActivation") && e.contains(name), "{e}");
        }
    }

    /// The activations built from several ops, through `Activation::forward`.
    #[test]
    fn grad_composed_activations() {
        // Off the kinks at 0, ±0.5, ±1 and -3, 3.
        let x = vec![Tensor::from_vec(vec![-3.4, -2.1, -0.8, -0.3, 0.2, 0.7, 1.3, 2.6, 3.5], &[9])];
        for name in ["Mish", "Softshrink", "LogSigmoid", "Hardtanh", "Hardswish", "Identity"] {
            let a = Activation::parse(name, "test").unwrap();
            check_gradients(name, |x| a.forward(&x[0]), &x);
        }
    }
}

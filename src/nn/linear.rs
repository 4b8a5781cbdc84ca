//! Fully connected layer, `y = x·Wᵀ + b`, with PyTorch's layout and default initialisation.

use super::init;
use super::module::{join, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

pub struct Linear {
    /// `[out_features, in_features]`
    pub weight: Tensor,
    /// `[out_features]`
    pub bias: Option<Tensor>,
}

impl Linear {
    /// PyTorch's default init: weight and bias U(±1/√in_features).
    pub fn new(in_features: usize, out_features: usize, bias: bool, rng: &mut Rng) -> Linear {
        let weight = init::kaiming_uniform_default(&[out_features, in_features], in_features, rng);
        let bias = bias.then(|| init::uniform(&[out_features], 1.0 / (in_features.max(1) as f32).sqrt(), rng));
        Linear { weight, bias }
    }

    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }

    /// Applies the layer over the last axis of `x`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, self.bias.as_ref())
    }
}

impl Module for Linear {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(join(prefix, "bias"), b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::named_params;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn names_are_stable() {
        let layers = vec![Linear::new(3, 4, true, &mut Rng::seed(1)), Linear::new(4, 2, false, &mut Rng::seed(2))];
        let names: Vec<String> = named_params(&layers).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["0.weight", "0.bias", "1.weight"]);
    }

    #[test]
    fn grad_linear_layer() {
        let mut rng = Rng::seed(5);
        let layer = Linear::new(4, 3, true, &mut rng);
        let x = Tensor::randn(&[2, 5, 4], &mut rng);
        let inputs = vec![x, layer.weight.detach(), layer.bias.as_ref().unwrap().detach()];
        // The layer with the probe tensors as its weights, so its own wiring is what is checked.
        check_gradients("Linear", |t| Linear { weight: t[1].clone(), bias: Some(t[2].clone()) }.forward(&t[0]), &inputs);
        check_gradients("Linear (no bias)", |t| Linear { weight: t[1].clone(), bias: None }.forward(&t[0]), &inputs[..2]);
    }
}

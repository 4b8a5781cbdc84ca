//! Convolution layers with PyTorch's parameter names and default init (U(±1/√fan_in)).

use super::init;
use super::module::{join, Module};
use crate::rng::Rng;
use crate::tensor::{Conv2dSpec, Tensor};

/// 1-d convolution over `[B, C, L]`; `causal` pads (K-1)·dilation on the left only, so an output
/// never sees later inputs (TCN, BiTCN).
pub struct Conv1d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub stride: usize,
    pub padding: (usize, usize),
    pub dilation: usize,
    pub groups: usize,
}

impl Conv1d {
    #[allow(clippy::too_many_arguments)]
    pub fn new(in_ch: usize, out_ch: usize, kernel: usize, stride: usize, padding: usize, dilation: usize, groups: usize, bias: bool, rng: &mut Rng) -> Conv1d {
        let fan_in = in_ch / groups * kernel;
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        Conv1d {
            weight: init::kaiming_uniform_default(&[out_ch, in_ch / groups, kernel], fan_in, rng),
            bias: bias.then(|| init::uniform(&[out_ch], bound, rng)),
            stride,
            padding: (padding, padding),
            dilation,
            groups,
        }
    }

    /// A causal convolution (stride 1): left padding (kernel-1)·dilation.
    pub fn causal(in_ch: usize, out_ch: usize, kernel: usize, dilation: usize, rng: &mut Rng) -> Conv1d {
        let mut c = Conv1d::new(in_ch, out_ch, kernel, 1, 0, dilation, 1, true, rng);
        c.padding = ((kernel - 1) * dilation, 0);
        c
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv1d(&self.weight, self.bias.as_ref(), self.stride, self.padding, self.dilation, self.groups)
    }
}

/// 2-d convolution over `[B, C, H, W]` (TimesNet's Inception blocks).
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub spec: Conv2dSpec,
}

impl Conv2d {
    /// Symmetric `padding` on both spatial axes.
    pub fn new(in_ch: usize, out_ch: usize, kernel: (usize, usize), padding: (usize, usize), bias: bool, rng: &mut Rng) -> Conv2d {
        let fan_in = in_ch * kernel.0 * kernel.1;
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        Conv2d {
            weight: init::kaiming_uniform_default(&[out_ch, in_ch, kernel.0, kernel.1], fan_in, rng),
            bias: bias.then(|| init::uniform(&[out_ch], bound, rng)),
            spec: Conv2dSpec { padding: (padding.0, padding.0, padding.1, padding.1), ..Conv2dSpec::default() },
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.conv2d(&self.weight, self.bias.as_ref(), self.spec)
    }
}

macro_rules! conv_module {
    ($t:ty) => {
        impl Module for $t {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
                f(join(prefix, "weight"), &self.weight);
                if let Some(b) = &self.bias {
                    f(join(prefix, "bias"), b);
                }
            }
        }
    };
}
conv_module!(Conv1d);
conv_module!(Conv2d);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn causal_output_never_sees_the_future() {
        let c = Conv1d::causal(1, 1, 3, 2, &mut Rng::seed(3));
        let x = Tensor::from_vec(vec![0.0; 10], &[1, 1, 10]);
        let mut bumped = vec![0.0; 10];
        bumped[6] = 1.0;
        let a = c.forward(&x).to_vec();
        let b = c.forward(&Tensor::from_vec(bumped, &[1, 1, 10])).to_vec();
        assert_eq!(a.len(), 10);
        assert_eq!(&a[..6], &b[..6], "outputs before t=6 are unchanged");
    }

    #[test]
    fn grad_conv_layers() {
        let mut rng = Rng::seed(4);
        // Each layer with the probe tensors as its weights, so its own wiring (padding, stride,
        // dilation, groups, bias) is what is checked.
        let weights = |c: &Conv1d, x: Tensor| vec![x, c.weight.detach(), c.bias.as_ref().unwrap().detach()];
        for c in [Conv1d::new(2, 4, 3, 2, 1, 1, 2, true, &mut rng), Conv1d::causal(2, 3, 3, 2, &mut rng)] {
            let inputs = weights(&c, Tensor::randn(&[2, 2, 7], &mut rng));
            check_gradients("Conv1d", |t| Conv1d { weight: t[1].clone(), bias: Some(t[2].clone()), ..c }.forward(&t[0]), &inputs);
        }
        let c2 = Conv2d::new(2, 2, (3, 3), (1, 1), true, &mut rng);
        let inputs = vec![Tensor::randn(&[1, 2, 4, 5], &mut rng), c2.weight.detach(), c2.bias.as_ref().unwrap().detach()];
        check_gradients("Conv2d", |t| Conv2d { weight: t[1].clone(), bias: Some(t[2].clone()), spec: c2.spec }.forward(&t[0]), &inputs);
        assert_eq!(c2.forward(&inputs[0]).shape(), &[1, 2, 4, 5]);
    }
}

//! One Elman RNN layer over a whole sequence as a single op, fused as the LSTM's is (see
//! [`lstm`](super::lstm) for why). PyTorch's `nn.RNN`, from a zero initial state or a given one:
//!   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or ReLU
//! Both derivatives are functions of the output alone (`1 - h²`, `h > 0`), so the backward pass
//! needs nothing kept beyond the outputs.

use super::recurrence::{input_grads, layer_output, project_initial, project_inputs, project_state, state_grad, summed_bias, Dims};
use crate::kernels::activation;
use crate::kernels::simd::vectorized;
use crate::tensor::{Backward, Tensor};

struct RnnBackward {
    dims: Dims,
    relu: bool,
    /// Started from a given state `h0` (the input after the biases).
    from_state: bool,
}

impl Backward for RnnBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g_out: &[f32]) -> Vec<Option<Vec<f32>>> {
        let d = self.dims;
        let (b, t, h) = (d.b, d.t, d.h);
        let hs = out.data();
        let w_hh = inputs[2].data();

        let mut dz = vec![0.0f32; b * t * h];
        let mut dh_next = vec![0.0f32; b * h];
        for k in (0..t).rev() {
            let step = d.time(k);
            for r in 0..b {
                let at = (r * t + step) * h;
                let (dz, hs, g_out, dh_next) = (&mut dz[at..at + h], &hs[at..at + h], &g_out[at..at + h], &dh_next[r * h..][..h]);
                vectorized(#[inline(always)] || {
                    for j in 0..h {
                        let slope = if self.relu { (hs[j] > 0.0) as u8 as f32 } else { 1.0 - hs[j] * hs[j] };
                        dz[j] = (g_out[j] + dh_next[j]) * slope;
                    }
                });
            }
            // After the first step, this is the gradient into h0.
            if d.previous(step).is_some() || self.from_state {
                state_grad(&d, &dz, step, &w_hh, &mut dh_next, false);
            }
        }
        let h0 = self.from_state.then(|| inputs[d.state_input()].data());
        let mut grads = input_grads(&d, inputs, &hs, h0.as_deref().map(|h0| &h0[..]), &dz, &dz);
        if self.from_state {
            grads.push(inputs[d.state_input()].requires_grad().then_some(dh_next));
        }
        grads
    }
    fn name(&self) -> &'static str {
        "rnn_layer"
    }
}

impl Tensor {
    /// One Elman RNN layer over `self` `[B, T, F]` from a zero state: the hidden state of every
    /// step, `[B, T, H]`, with tanh or (`relu`) ReLU. Weights as PyTorch stores them:
    /// `w_ih [H, F]`, `w_hh [H, H]`, and the two biases `[H]` (both or neither). `reverse` runs
    /// from the last step to the first (the backward direction of a bidirectional layer); outputs
    /// stay in time order.
    pub fn rnn_layer(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, relu: bool, reverse: bool) -> Tensor {
        self.rnn_run(w_ih, w_hh, biases, relu, reverse, None)
    }

    /// [`rnn_layer`](Tensor::rnn_layer) from the state `h0` `[B, H]`, with gradients into it.
    pub fn rnn_layer_from(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, relu: bool, reverse: bool, h0: &Tensor) -> Tensor {
        self.rnn_run(w_ih, w_hh, biases, relu, reverse, Some(h0))
    }

    fn rnn_run(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, relu: bool, reverse: bool, state: Option<&Tensor>) -> Tensor {
        let d = Dims::of("rnn_layer", 1, self, w_ih, w_hh, biases, reverse);
        if let Some(h0) = state {
            d.check_state("rnn_layer_from", "h0", h0);
        }
        let h0 = state.map(|h0| h0.to_vec());
        let (b, t, h) = (d.b, d.t, d.h);
        // The pre-activations of every step, turned into the outputs in place, step by step.
        let mut hs = project_inputs(self, w_ih, summed_bias(biases).as_deref());
        let mut hp = vec![0.0f32; b * h];
        let w_hh_data = w_hh.data();
        for k in 0..t {
            let step = d.time(k);
            let prev = d.previous(step);
            match (prev, &h0) {
                (Some(p), _) => project_state(&d, &hs, p, &w_hh_data, &mut hp, false),
                (None, Some(h0)) => project_initial(&d, h0, &w_hh_data, &mut hp, false),
                (None, None) => {}
            }
            for r in 0..b {
                let row = &mut hs[(r * t + step) * h..][..h];
                if prev.is_some() || h0.is_some() {
                    row.iter_mut().zip(&hp[r * h..][..h]).for_each(|(a, v)| *a += v);
                }
                if relu {
                    row.iter_mut().for_each(|v| *v = v.max(0.0));
                } else {
                    activation::tanh_in_place(row);
                }
            }
        }
        drop(w_hh_data);
        layer_output(hs, &d, t, self, w_ih, w_hh, biases, state.as_slice(), RnnBackward { dims: d, relu, from_state: state.is_some() })
    }
}

#[cfg(test)]
mod tests {
    use super::super::recurrence::{check_layer, check_layer_from_state};

    #[test]
    fn grad_rnn_layer_tanh_and_relu_forward_and_reverse_with_and_without_bias() {
        check_layer("rnn_layer", 1, |t, biases, reverse| t[0].rnn_layer(&t[1], &t[2], biases, false, reverse));
        check_layer("rnn_layer (relu)", 1, |t, biases, reverse| t[0].rnn_layer(&t[1], &t[2], biases, true, reverse));
    }

    #[test]
    fn grad_rnn_layer_from_a_state_into_h0() {
        check_layer_from_state("rnn_layer_from", 1, 1, |t, biases, s, reverse| t[0].rnn_layer_from(&t[1], &t[2], biases, false, reverse, &s[0]));
    }
}

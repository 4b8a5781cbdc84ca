//! One LSTM layer over a whole sequence as a single op, the way cuDNN runs it.
//!
//! Unrolled into elementary ops, a 2-layer LSTM over 24 steps records ~2,400 graph nodes per
//! training step, each with its own allocation and backward call; at NeuralForecast's sizes
//! (batch 128, hidden 128) that bookkeeping costs more than the arithmetic. Fused, the input
//! projection of every step is one GEMM, each step is one `[B, H]·[H, 4H]` GEMM plus a pass of
//! gate arithmetic, and the backward pass computes the weight gradients of all steps at once:
//! `dW_hh = Σ_t dZ_tᵀ h_{t-1}` and `dW_ih = dZᵀ X` are single GEMMs over `B·T` rows.
//!
//! Gate order and equations are PyTorch's (`nn.LSTM`), with zero initial states:
//!   z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh = [z_i, z_f, z_g, z_o]
//!   i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
//!   c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)

use super::recurrence::{input_grads, layer_output, project_inputs, project_state, state_grad, summed_bias, Dims};
use crate::kernels::activation;
use crate::kernels::simd::vectorized;
use crate::tensor::{Backward, Tensor};

/// One sequence's cell at one step, for the backward pass: its gate activations `[4H]`, tanh of
/// its cell state, the previous cell state, and the gradient arriving at its output.
struct CellGrad<'a> {
    gate: &'a [f32],
    tanh_c: &'a [f32],
    c_prev: &'a [f32],
    g_out: &'a [f32],
}

impl CellGrad<'_> {
    /// Writes the pre-activation gradients `dz [4H]` from `dh_next` (the recurrent gradient into
    /// h_t) and `dc_next` (into c_t), and replaces `dc_next` with the gradient into c_{t-1}.
    fn backward(&self, dz: &mut [f32], dh_next: &[f32], dc_next: &mut [f32]) {
        vectorized(|| self.backward_body(dz, dh_next, dc_next))
    }

    #[inline(always)]
    fn backward_body(&self, dz: &mut [f32], dh_next: &[f32], dc_next: &mut [f32]) {
        let h = self.tanh_c.len();
        let (gi, rest) = self.gate.split_at(h);
        let (gf, rest) = rest.split_at(h);
        let (gg, go) = rest.split_at(h);
        let (dzi, rest) = dz.split_at_mut(h);
        let (dzf, rest) = rest.split_at_mut(h);
        let (dzg, dzo) = rest.split_at_mut(h);
        let (c_prev, tanh_c, g_out) = (&self.c_prev[..h], self.tanh_c, &self.g_out[..h]);
        let (dh_next, dc_next, go, dzo) = (&dh_next[..h], &mut dc_next[..h], &go[..h], &mut dzo[..h]);
        for j in 0..h {
            let (i, f, g, o, tc) = (gi[j], gf[j], gg[j], go[j], tanh_c[j]);
            let dh = g_out[j] + dh_next[j];
            let dc = dh * o * (1.0 - tc * tc) + dc_next[j];
            dzi[j] = dc * g * i * (1.0 - i);
            dzf[j] = dc * c_prev[j] * f * (1.0 - f);
            dzg[j] = dc * i * (1.0 - g * g);
            dzo[j] = dh * tc * o * (1.0 - o);
            dc_next[j] = dc * f;
        }
    }
}

struct LstmBackward {
    dims: Dims,
    /// Gate activations `[B, T, 4H]` (i, f, g, o after their nonlinearities).
    gates: Vec<f32>,
    /// Cell states `[B, T, H]`.
    cells: Vec<f32>,
}

impl Backward for LstmBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g_out: &[f32]) -> Vec<Option<Vec<f32>>> {
        let d = self.dims;
        let (b, t, h) = (d.b, d.t, d.h);
        let g4 = 4 * h;
        let hs = out.data();
        let w_hh = inputs[2].data();

        // Back through time: dZ [B, T, 4H] holds the gradient at every step's pre-activations.
        let mut dz = vec![0.0f32; b * t * g4];
        let mut dh_next = vec![0.0f32; b * h];
        let mut dc_next = vec![0.0f32; b * h];
        let mut tanh_c = vec![0.0f32; h];
        let zeros = vec![0.0f32; h];
        for k in (0..t).rev() {
            let step = d.time(k);
            let prev = d.previous(step);
            for r in 0..b {
                let at = (r * t + step) * h;
                let c = &self.cells[at..at + h];
                tanh_c.copy_from_slice(c);
                activation::tanh_in_place(&mut tanh_c);
                let cell = CellGrad {
                    gate: &self.gates[(r * t + step) * g4..][..g4],
                    tanh_c: &tanh_c,
                    c_prev: prev.map_or(&zeros[..], |p| &self.cells[(r * t + p) * h..][..h]),
                    g_out: &g_out[at..at + h],
                };
                cell.backward(&mut dz[(r * t + step) * g4..][..g4], &mut dh_next[r * h..][..h], &mut dc_next[r * h..][..h]);
            }
            if prev.is_some() {
                state_grad(&d, &dz, step, &w_hh, &mut dh_next, false);
            }
        }
        input_grads(&d, inputs, &hs, &dz, &dz)
    }
    fn name(&self) -> &'static str {
        "lstm_layer"
    }
}

impl Tensor {
    /// One LSTM layer over `self` `[B, T, F]` from zero states: the hidden state of every step,
    /// `[B, T, H]`. Weights as PyTorch stores them: `w_ih [4H, F]`, `w_hh [4H, H]`, and the two
    /// biases `[4H]` (both or neither). `reverse` runs from the last step to the first (the
    /// backward direction of a bidirectional layer); outputs stay in time order.
    pub fn lstm_layer(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool) -> Tensor {
        let d = Dims::of("lstm_layer", 4, self, w_ih, w_hh, biases, reverse);
        let (b, t, h) = (d.b, d.t, d.h);
        let g4 = 4 * h;
        // Input projections of all steps at once: Z = X W_ihᵀ + b_ih + b_hh, [B, T, 4H].
        let mut z = project_inputs(self, w_ih, summed_bias(biases).as_deref());

        let mut hs = vec![0.0f32; b * t * h];
        let mut cells = vec![0.0f32; b * t * h];
        let mut hp = vec![0.0f32; b * g4];
        let (zeros, mut c_new) = (vec![0.0f32; h], vec![0.0f32; h]);
        {
            let w_hh_t = w_hh.data();
            for k in 0..t {
                let step = d.time(k);
                let prev = d.previous(step);
                if let Some(p) = prev {
                    project_state(&d, &hs, p, &w_hh_t, &mut hp, false);
                }
                for r in 0..b {
                    let zr = &mut z[(r * t + step) * g4..][..g4];
                    if prev.is_some() {
                        zr.iter_mut().zip(&hp[r * g4..][..g4]).for_each(|(a, v)| *a += v);
                    }
                    // Keep the activations (not the pre-activations) for the backward pass.
                    activation::sigmoid_in_place(&mut zr[..2 * h]);
                    activation::tanh_in_place(&mut zr[2 * h..3 * h]);
                    activation::sigmoid_in_place(&mut zr[3 * h..]);
                    let at = (r * t + step) * h;
                    // c_t = f ⊙ c_{t-1} + i ⊙ g
                    let c_prev = prev.map_or(&zeros[..], |p| &cells[(r * t + p) * h..][..h]);
                    c_new.iter_mut().zip(c_prev).zip(&zr[h..2 * h]).for_each(|((c, cp), f)| *c = f * cp);
                    c_new.iter_mut().zip(&zr[..h]).zip(&zr[2 * h..3 * h]).for_each(|((c, i), g)| *c += i * g);
                    cells[at..at + h].copy_from_slice(&c_new);
                    let out = &mut hs[at..at + h];
                    out.copy_from_slice(&cells[at..at + h]);
                    activation::tanh_in_place(out);
                    out.iter_mut().zip(&zr[3 * h..]).for_each(|(v, o)| *v *= o);
                }
            }
        }
        layer_output(hs, &d, self, w_ih, w_hh, biases, LstmBackward { dims: d, gates: z, cells })
    }
}

#[cfg(test)]
mod tests {
    use super::super::recurrence::check_layer;

    #[test]
    fn grad_lstm_layer_forward_and_reverse_with_and_without_bias() {
        check_layer("lstm_layer", 4, |t, biases, reverse| t[0].lstm_layer(&t[1], &t[2], biases, reverse));
    }
}

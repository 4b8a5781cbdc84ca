//! One LSTM layer over a whole sequence as a single op, the way cuDNN runs it.
//!
//! Unrolled into elementary ops, a 2-layer LSTM over 24 steps records ~2,400 graph nodes per
//! training step, each with its own allocation and backward call; at NeuralForecast's sizes
//! (batch 128, hidden 128) that bookkeeping costs more than the arithmetic. Fused, the input
//! projection of every step is one GEMM, each step is one `[B, H]·[H, 4H]` GEMM plus a pass of
//! gate arithmetic, and the backward pass computes the weight gradients of all steps at once:
//! `dW_hh = Σ_t dZ_tᵀ h_{t-1}` and `dW_ih = dZᵀ X` are single GEMMs over `B·T` rows.
//!
//! Gate order and equations are PyTorch's (`nn.LSTM`), from zero initial states or given ones:
//!   z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh = [z_i, z_f, z_g, z_o]
//!   i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g)
//!   c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)

use super::recurrence::{input_grads, layer_output, project_initial, project_inputs, project_state, state_grad, summed_bias, Dims};
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
        vectorized(#[inline(always)] || self.backward_body(dz, dh_next, dc_next))
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
    /// Started from given states `h0, c0` (inputs after the biases); the output then has a
    /// last row per sequence, the final cell state.
    from_state: bool,
}

impl Backward for LstmBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g_out: &[f32]) -> Vec<Option<Vec<f32>>> {
        let d = self.dims;
        let (b, t, h) = (d.b, d.t, d.h);
        let g4 = 4 * h;
        let rows = if self.from_state { t + 1 } else { t };
        let out_data = out.data();
        let hs_kept;
        let hs: &[f32] = if self.from_state {
            hs_kept = out_data.chunks(rows * h).flat_map(|seq| &seq[..t * h]).copied().collect::<Vec<f32>>();
            &hs_kept
        } else {
            &out_data
        };
        let w_hh = inputs[2].data();
        let states = self.from_state.then(|| (inputs[d.state_input()].data(), inputs[d.state_input() + 1].data()));

        // Back through time: dZ [B, T, 4H] holds the gradient at every step's pre-activations.
        let mut dz = vec![0.0f32; b * t * g4];
        let mut dh_next = vec![0.0f32; b * h];
        // Into the last step's cell state comes the gradient of the final cell state, if kept.
        let mut dc_next = vec![0.0f32; b * h];
        if self.from_state {
            for r in 0..b {
                dc_next[r * h..][..h].copy_from_slice(&g_out[(r * rows + t) * h..][..h]);
            }
        }
        let mut tanh_c = vec![0.0f32; h];
        let zeros = vec![0.0f32; b * h];
        let c0: &[f32] = states.as_ref().map_or(&zeros, |(_, c0)| c0);
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
                    c_prev: prev.map_or(&c0[r * h..][..h], |p| &self.cells[(r * t + p) * h..][..h]),
                    g_out: &g_out[(r * rows + step) * h..][..h],
                };
                cell.backward(&mut dz[(r * t + step) * g4..][..g4], &mut dh_next[r * h..][..h], &mut dc_next[r * h..][..h]);
            }
            // After the first step, this is the gradient into h0.
            if prev.is_some() || self.from_state {
                state_grad(&d, &dz, step, &w_hh, &mut dh_next, false);
            }
        }
        let mut grads = input_grads(&d, inputs, hs, states.as_ref().map(|(h0, _)| &h0[..]), &dz, &dz);
        if self.from_state {
            grads.push(inputs[d.state_input()].requires_grad().then_some(dh_next));
            grads.push(inputs[d.state_input() + 1].requires_grad().then_some(dc_next));
        }
        grads
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
        self.lstm_run(w_ih, w_hh, biases, reverse, None)
    }

    /// [`lstm_layer`](Tensor::lstm_layer) from the states `h0` and `c0` (`[B, H]` each), with
    /// gradients into both: `[B, T + 1, H]`, the hidden state of every step (in time order)
    /// followed by the final cell state, the one after the last step processed.
    pub fn lstm_layer_from(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool, h0: &Tensor, c0: &Tensor) -> Tensor {
        self.lstm_run(w_ih, w_hh, biases, reverse, Some((h0, c0)))
    }

    fn lstm_run(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool, state: Option<(&Tensor, &Tensor)>) -> Tensor {
        let d = Dims::of("lstm_layer", 4, self, w_ih, w_hh, biases, reverse);
        if let Some((h0, c0)) = state {
            d.check_state("lstm_layer_from", "h0", h0);
            d.check_state("lstm_layer_from", "c0", c0);
        }
        let (h0, c0) = (state.map(|(h0, _)| h0.to_vec()), state.map(|(_, c0)| c0.to_vec()));
        let (b, t, h) = (d.b, d.t, d.h);
        let g4 = 4 * h;
        // Input projections of all steps at once: Z = X W_ihᵀ + b_ih + b_hh, [B, T, 4H].
        let mut z = project_inputs(self, w_ih, summed_bias(biases).as_deref());

        let mut hs = vec![0.0f32; b * t * h];
        let mut cells = vec![0.0f32; b * t * h];
        let mut hp = vec![0.0f32; b * g4];
        let (zeros, mut c_new) = (vec![0.0f32; b * h], vec![0.0f32; h]);
        let c0 = c0.as_deref().unwrap_or(&zeros);
        {
            let w_hh_t = w_hh.data();
            for k in 0..t {
                let step = d.time(k);
                let prev = d.previous(step);
                match (prev, &h0) {
                    (Some(p), _) => project_state(&d, &hs, p, &w_hh_t, &mut hp, false),
                    (None, Some(h0)) => project_initial(&d, h0, &w_hh_t, &mut hp, false),
                    (None, None) => {}
                }
                for r in 0..b {
                    let zr = &mut z[(r * t + step) * g4..][..g4];
                    if prev.is_some() || h0.is_some() {
                        zr.iter_mut().zip(&hp[r * g4..][..g4]).for_each(|(a, v)| *a += v);
                    }
                    // Keep the activations (not the pre-activations) for the backward pass.
                    activation::sigmoid_in_place(&mut zr[..2 * h]);
                    activation::tanh_in_place(&mut zr[2 * h..3 * h]);
                    activation::sigmoid_in_place(&mut zr[3 * h..]);
                    let at = (r * t + step) * h;
                    // c_t = f ⊙ c_{t-1} + i ⊙ g
                    let c_prev = prev.map_or(&c0[r * h..][..h], |p| &cells[(r * t + p) * h..][..h]);
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
        let Some((h0_in, c0_in)) = state else {
            return layer_output(hs, &d, t, self, w_ih, w_hh, biases, &[], LstmBackward { dims: d, gates: z, cells, from_state: false });
        };
        let mut out = Vec::with_capacity(b * (t + 1) * h);
        for r in 0..b {
            out.extend_from_slice(&hs[r * t * h..][..t * h]);
            match t.checked_sub(1).map(|k| d.time(k)) {
                Some(last) => out.extend_from_slice(&cells[(r * t + last) * h..][..h]),
                None => out.extend_from_slice(&c0[r * h..][..h]),
            }
        }
        layer_output(out, &d, t + 1, self, w_ih, w_hh, biases, &[h0_in, c0_in], LstmBackward { dims: d, gates: z, cells, from_state: true })
    }
}

#[cfg(test)]
mod tests {
    use super::super::recurrence::{check_layer, check_layer_from_state};

    #[test]
    fn grad_lstm_layer_forward_and_reverse_with_and_without_bias() {
        check_layer("lstm_layer", 4, |t, biases, reverse| t[0].lstm_layer(&t[1], &t[2], biases, reverse));
    }

    #[test]
    fn grad_lstm_layer_from_a_state_into_h0_c0_and_from_the_final_cell() {
        check_layer_from_state("lstm_layer_from", 4, 2, |t, biases, s, reverse| t[0].lstm_layer_from(&t[1], &t[2], biases, reverse, &s[0], &s[1]));
    }
}

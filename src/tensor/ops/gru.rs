//! One GRU layer over a whole sequence as a single op, fused as the LSTM's is (see
//! [`lstm`](super::lstm) for why): one GEMM for the input projections of every step, one
//! `[B, H]·[H, 3H]` GEMM and a pass of gate arithmetic per step, and the weight gradients of all
//! steps as single GEMMs.
//!
//! Gate order and equations are PyTorch's (`nn.GRU`), from a zero initial state or a given one:
//!   [x_r, x_z, x_n] = W_ih x_t + b_ih;  [h_r, h_z, h_n] = W_hh h_{t-1} + b_hh
//!   r = σ(x_r + h_r);  z = σ(x_z + h_z);  n = tanh(x_n + r ⊙ h_n)
//!   h_t = n + z ⊙ (h_{t-1} - n)
//! Because `b_hn` sits inside `r ⊙ (·)`, the two projections stay apart: the backward pass keeps
//! `h_n` of every step, and the state projection gets its own gradient `[dr, dz, r ⊙ dn]`.

use super::recurrence::{input_grads, layer_output, project_initial, project_inputs, project_state, state_grad, Dims};
use crate::kernels::activation;
use crate::kernels::simd::vectorized;
use crate::tensor::{Backward, Tensor};

/// One sequence's cell at one step, for the backward pass: its gates `r, z, n` `[3H]`, its state
/// projection `h_n`, the state it read, and the gradient arriving at its output.
struct CellGrad<'a> {
    gate: &'a [f32],
    hn: &'a [f32],
    h_prev: &'a [f32],
    g_out: &'a [f32],
}

impl CellGrad<'_> {
    /// Writes the gradients at the input projection `dxp [3H]` and the state projection
    /// `dhp [3H]` from `dh_next` (the recurrent gradient into h_t), and replaces `dh_next` with
    /// the part of the gradient into h_{t-1} that bypasses `W_hh`.
    fn backward(&self, dxp: &mut [f32], dhp: &mut [f32], dh_next: &mut [f32]) {
        vectorized(#[inline(always)] || self.backward_body(dxp, dhp, dh_next))
    }

    #[inline(always)]
    fn backward_body(&self, dxp: &mut [f32], dhp: &mut [f32], dh_next: &mut [f32]) {
        let h = self.hn.len();
        let (gr, rest) = self.gate.split_at(h);
        let (gz, gn) = rest.split_at(h);
        let (dxr, rest) = dxp.split_at_mut(h);
        let (dxz, dxn) = rest.split_at_mut(h);
        let (dhr, rest) = dhp.split_at_mut(h);
        let (dhz, dhn) = rest.split_at_mut(h);
        let (hn, h_prev, g_out, dh_next, gn, dxn, dhn) = (self.hn, &self.h_prev[..h], &self.g_out[..h], &mut dh_next[..h], &gn[..h], &mut dxn[..h], &mut dhn[..h]);
        for j in 0..h {
            let (r, z, n) = (gr[j], gz[j], gn[j]);
            let dh = g_out[j] + dh_next[j];
            let dn = dh * (1.0 - z) * (1.0 - n * n);
            let dr = dn * hn[j] * r * (1.0 - r);
            let dz = dh * (h_prev[j] - n) * z * (1.0 - z);
            (dxr[j], dxz[j], dxn[j]) = (dr, dz, dn);
            (dhr[j], dhz[j], dhn[j]) = (dr, dz, dn * r);
            dh_next[j] = dh * z;
        }
    }
}

struct GruBackward {
    dims: Dims,
    /// Gate activations `[B, T, 3H]` (r, z, n).
    gates: Vec<f32>,
    /// `W_hn h_{t-1} + b_hn` of every step, `[B, T, H]`.
    hn: Vec<f32>,
    /// Started from a given state `h0` (the input after the biases).
    from_state: bool,
}

impl Backward for GruBackward {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, g_out: &[f32]) -> Vec<Option<Vec<f32>>> {
        let d = self.dims;
        let (b, t, h) = (d.b, d.t, d.h);
        let g3 = 3 * h;
        let hs = out.data();
        let w_hh = inputs[2].data();

        let mut dxp = vec![0.0f32; b * t * g3];
        let mut dhp = vec![0.0f32; b * t * g3];
        let mut dh_next = vec![0.0f32; b * h];
        let zeros = vec![0.0f32; b * h];
        let h0 = self.from_state.then(|| inputs[d.state_input()].data());
        let h_start: &[f32] = h0.as_deref().map_or(&zeros, |h0| h0);
        for k in (0..t).rev() {
            let step = d.time(k);
            let prev = d.previous(step);
            for r in 0..b {
                let (at, gat) = ((r * t + step) * h, (r * t + step) * g3);
                let cell = CellGrad {
                    gate: &self.gates[gat..][..g3],
                    hn: &self.hn[at..at + h],
                    h_prev: prev.map_or(&h_start[r * h..][..h], |p| &hs[(r * t + p) * h..][..h]),
                    g_out: &g_out[at..at + h],
                };
                cell.backward(&mut dxp[gat..][..g3], &mut dhp[gat..][..g3], &mut dh_next[r * h..][..h]);
            }
            // After the first step, this is the gradient into h0.
            if prev.is_some() || self.from_state {
                state_grad(&d, &dhp, step, &w_hh, &mut dh_next, true);
            }
        }
        let mut grads = input_grads(&d, inputs, &hs, h0.as_deref().map(|h0| &h0[..]), &dxp, &dhp);
        if self.from_state {
            grads.push(inputs[d.state_input()].requires_grad().then_some(dh_next));
        }
        grads
    }
    fn name(&self) -> &'static str {
        "gru_layer"
    }
}

impl Tensor {
    /// One GRU layer over `self` `[B, T, F]` from a zero state: the hidden state of every step,
    /// `[B, T, H]`. Weights as PyTorch stores them: `w_ih [3H, F]`, `w_hh [3H, H]`, and the two
    /// biases `[3H]` (both or neither). `reverse` runs from the last step to the first (the
    /// backward direction of a bidirectional layer); outputs stay in time order.
    pub fn gru_layer(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool) -> Tensor {
        self.gru_run(w_ih, w_hh, biases, reverse, None)
    }

    /// [`gru_layer`](Tensor::gru_layer) from the state `h0` `[B, H]`, with gradients into it.
    pub fn gru_layer_from(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool, h0: &Tensor) -> Tensor {
        self.gru_run(w_ih, w_hh, biases, reverse, Some(h0))
    }

    fn gru_run(&self, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool, state: Option<&Tensor>) -> Tensor {
        let d = Dims::of("gru_layer", 3, self, w_ih, w_hh, biases, reverse);
        if let Some(h0) = state {
            d.check_state("gru_layer_from", "h0", h0);
        }
        let (b, t, h) = (d.b, d.t, d.h);
        let g3 = 3 * h;
        let b_ih = biases.map(|(bi, _)| bi.to_vec());
        let b_hh = biases.map(|(_, bh)| bh.to_vec());
        // Becomes the gates r, z, n in place, step by step.
        let mut gates = project_inputs(self, w_ih, b_ih.as_deref());

        let mut hs = vec![0.0f32; b * t * h];
        let mut hn = vec![0.0f32; b * t * h];
        let mut hp = vec![0.0f32; b * g3];
        let mut h_new = vec![0.0f32; h];
        let h_start = state.map_or_else(|| vec![0.0f32; b * h], |h0| h0.to_vec());
        let w_hh_data = w_hh.data();
        for k in 0..t {
            let step = d.time(k);
            let prev = d.previous(step);
            // hp = W_hh h_{t-1} + b_hh, which is b_hh alone at the first step from zeros.
            match &b_hh {
                Some(bias) => hp.chunks_mut(g3).for_each(|row| row.copy_from_slice(bias)),
                None => hp.fill(0.0),
            }
            match prev {
                Some(p) => project_state(&d, &hs, p, &w_hh_data, &mut hp, true),
                None if state.is_some() => project_initial(&d, &h_start, &w_hh_data, &mut hp, true),
                None => {}
            }
            for r in 0..b {
                let (at, gat) = ((r * t + step) * h, (r * t + step) * g3);
                let g = &mut gates[gat..][..g3];
                let hpr = &hp[r * g3..][..g3];
                g[..2 * h].iter_mut().zip(&hpr[..2 * h]).for_each(|(a, v)| *a += v);
                activation::sigmoid_in_place(&mut g[..2 * h]);
                hn[at..at + h].copy_from_slice(&hpr[2 * h..]);
                let (rz, n) = g.split_at_mut(2 * h);
                n.iter_mut().zip(&rz[..h]).zip(&hpr[2 * h..]).for_each(|((n, r), v)| *n += r * v);
                activation::tanh_in_place(n);
                let h_prev = prev.map_or(&h_start[r * h..][..h], |p| &hs[(r * t + p) * h..][..h]);
                h_new.iter_mut().zip(n.iter().zip(&rz[h..]).zip(h_prev)).for_each(|(o, ((n, z), hp))| *o = n + z * (hp - n));
                hs[at..at + h].copy_from_slice(&h_new);
            }
        }
        drop(w_hh_data);
        let rule = GruBackward { dims: d, gates, hn, from_state: state.is_some() };
        layer_output(hs, &d, t, self, w_ih, w_hh, biases, state.as_slice(), rule)
    }
}

#[cfg(test)]
mod tests {
    use super::super::recurrence::{check_layer, check_layer_from_state};

    #[test]
    fn grad_gru_layer_forward_and_reverse_with_and_without_bias() {
        check_layer("gru_layer", 3, |t, biases, reverse| t[0].gru_layer(&t[1], &t[2], biases, reverse));
    }

    #[test]
    fn grad_gru_layer_from_a_state_into_h0() {
        check_layer_from_state("gru_layer_from", 3, 1, |t, biases, s, reverse| t[0].gru_layer_from(&t[1], &t[2], biases, reverse, &s[0]));
    }
}

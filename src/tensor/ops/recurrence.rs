//! What the fused recurrent layers ([`lstm`](super::lstm), [`gru`](super::gru),
//! [`rnn`](super::rnn)) share: their shapes and direction, the input projection of every step as
//! one GEMM, and the backward GEMMs over all `B·T` rows at once.
//!
//! Every cell computes `W_ih x_t + b_ih` and `W_hh h_{t-1} + b_hh` (PyTorch's layout, `G` gate
//! blocks of `H` rows each) and mixes them in its own gate arithmetic; what differs between
//! cells is only that arithmetic and what its backward pass needs kept.
//!
//! A layer starts from zero states or from given ones (`h0 [B, H]`, and an LSTM's `c0`): those
//! are then inputs of the op after the weights, and the first step reads them where later steps
//! read the previous step's.

use crate::kernels::gemm::{matmul_into, MatRef};
use crate::tensor::{Backward, Tensor};

/// Shapes of one fused layer: batch, steps, input features, hidden size, and the direction.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub b: usize,
    pub t: usize,
    pub f: usize,
    pub h: usize,
    pub reverse: bool,
    /// Whether the biases are inputs 3 and 4.
    pub bias: bool,
}

impl Dims {
    /// Checks the shapes of a layer of `gates` blocks: `x [B, T, F]`, `w_ih [G·H, F]`,
    /// `w_hh [G·H, H]` and both biases `[G·H]`.
    pub fn of(op: &str, gates: usize, x: &Tensor, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, reverse: bool) -> Dims {
        assert_eq!(x.rank(), 3, "{op} input must be [B, T, F], got {:?}", x.shape());
        let (b, t, f) = (x.dim(0), x.dim(1), x.dim(2));
        let h = w_hh.dim(1);
        let g = gates * h;
        assert_eq!(w_ih.shape(), &[g, f], "{op} w_ih must be [{gates}H, F]");
        assert_eq!(w_hh.shape(), &[g, h], "{op} w_hh must be [{gates}H, H]");
        if let Some((bi, bh)) = biases {
            assert_eq!(bi.shape(), &[g], "{op} b_ih must be [{gates}H]");
            assert_eq!(bh.shape(), &[g], "{op} b_hh must be [{gates}H]");
        }
        Dims { b, t, f, h, reverse, bias: biases.is_some() }
    }
    /// Checks an initial state `[B, H]` (`what` names it in the message).
    pub fn check_state(&self, op: &str, what: &str, s: &Tensor) {
        assert_eq!(s.shape(), &[self.b, self.h], "{op} {what} must be [B, H] = [{}, {}]", self.b, self.h);
    }
    /// Where the initial states start among the op's inputs.
    pub fn state_input(&self) -> usize {
        if self.bias {
            5
        } else {
            3
        }
    }
    /// Time index of the `k`-th step processed.
    pub fn time(&self, k: usize) -> usize {
        if self.reverse {
            self.t - 1 - k
        } else {
            k
        }
    }
    /// Time index of the state step `t` reads, if any.
    pub fn previous(&self, t: usize) -> Option<usize> {
        if self.reverse {
            (t + 1 < self.t).then_some(t + 1)
        } else {
            t.checked_sub(1)
        }
    }
    /// The `[B, cols]` slice of step `t` in a batch-major `[B, T, cols]` buffer, as a matrix view.
    pub fn step_view<'a>(&self, data: &'a [f32], t: usize, cols: usize) -> MatRef<'a> {
        MatRef { data: &data[t * cols..], rows: self.b, cols, row_stride: (self.t * cols) as isize, col_stride: 1 }
    }
}

/// `X W_ihᵀ + bias` for every step at once, `[B, T, G·H]`.
pub(super) fn project_inputs(x: &Tensor, w_ih: &Tensor, bias: Option<&[f32]>) -> Vec<f32> {
    let (rows, g) = (x.dim(0) * x.dim(1), w_ih.dim(0));
    let mut z = vec![0.0f32; rows * g];
    if let Some(bias) = bias {
        z.chunks_mut(g).for_each(|row| row.copy_from_slice(bias));
    }
    matmul_into(MatRef::new(&x.data(), rows, x.dim(2)), MatRef::new(&w_ih.data(), g, x.dim(2)).t(), &mut z, bias.is_some());
    z
}

/// `b_ih + b_hh`, for cells that add both projections before any gate (so one bias serves).
pub(super) fn summed_bias(biases: Option<(&Tensor, &Tensor)>) -> Option<Vec<f32>> {
    biases.map(|(bi, bh)| bi.data().iter().zip(bh.data().iter()).map(|(x, y)| x + y).collect())
}

/// `out [B, G·H] (+)= h_p W_hhᵀ`: the state projection for the step that reads the state of step
/// `p` out of the `[B, T, H]` outputs `hs`.
pub(super) fn project_state(d: &Dims, hs: &[f32], p: usize, w_hh: &[f32], out: &mut [f32], accumulate: bool) {
    let g = out.len() / d.b;
    matmul_into(d.step_view(hs, p, d.h), MatRef::new(w_hh, g, d.h).t(), out, accumulate);
}

/// `out [B, G·H] (+)= h0 W_hhᵀ`: the state projection of the first step, from the initial state.
pub(super) fn project_initial(d: &Dims, h0: &[f32], w_hh: &[f32], out: &mut [f32], accumulate: bool) {
    let g = out.len() / d.b;
    matmul_into(MatRef::new(h0, d.b, d.h), MatRef::new(w_hh, g, d.h).t(), out, accumulate);
}

/// `dh_next [B, H] (+)= dZ_t W_hh`: the gradient into the state step `t` read, from the gradient
/// `dhp [B, T, G·H]` at its state projection.
pub(super) fn state_grad(d: &Dims, dhp: &[f32], t: usize, w_hh: &[f32], dh_next: &mut [f32], accumulate: bool) {
    let g = dhp.len() / (d.b * d.t);
    matmul_into(d.step_view(dhp, t, g), MatRef::new(w_hh, g, d.h), dh_next, accumulate);
}

/// The gradients of `inputs` (`x, w_ih, w_hh` and optionally `b_ih, b_hh`) from those of every
/// step's input projection `dxp` and state projection `dhp` (both `[B, T, G·H]`; the same buffer
/// for cells that add the two before any gate), given the layer's outputs `hs [B, T, H]` and
/// its initial state `h0 [B, H]` (zeros when `None`).
pub(super) fn input_grads(d: &Dims, inputs: &[Tensor], hs: &[f32], h0: Option<&[f32]>, dxp: &[f32], dhp: &[f32]) -> Vec<Option<Vec<f32>>> {
    let (b, t, f, h) = (d.b, d.t, d.f, d.h);
    let g = dxp.len() / (b * t);
    let (x, w_ih, w_hh) = (&inputs[0], &inputs[1], &inputs[2]);
    let all_dxp = MatRef::new(dxp, b * t, g);
    let gx = x.requires_grad().then(|| {
        let mut gx = vec![0.0; b * t * f];
        matmul_into(all_dxp, MatRef::new(&w_ih.data(), g, f), &mut gx, false);
        gx
    });
    let gw_ih = w_ih.requires_grad().then(|| {
        let mut gw = vec![0.0; g * f];
        matmul_into(all_dxp.t(), MatRef::new(&x.data(), b * t, f), &mut gw, false);
        gw
    });
    let gw_hh = w_hh.requires_grad().then(|| {
        // Row (r, t) of h_prev is h_{t-1} of sequence r (h0, or zero, at the first step).
        let mut h_prev = vec![0.0f32; b * t * h];
        for r in 0..b {
            for step in 0..t {
                let row = &mut h_prev[(r * t + step) * h..][..h];
                match (d.previous(step), h0) {
                    (Some(p), _) => row.copy_from_slice(&hs[(r * t + p) * h..][..h]),
                    (None, Some(h0)) => row.copy_from_slice(&h0[r * h..][..h]),
                    (None, None) => {}
                }
            }
        }
        let mut gw = vec![0.0; g * h];
        matmul_into(MatRef::new(dhp, b * t, g).t(), MatRef::new(&h_prev, b * t, h), &mut gw, false);
        gw
    });
    let mut grads = vec![gx, gw_ih, gw_hh];
    if d.bias {
        let column_sums = |dz: &[f32]| {
            let mut gb = vec![0.0f32; g];
            dz.chunks(g).for_each(|row| gb.iter_mut().zip(row).for_each(|(a, v)| *a += v));
            gb
        };
        grads.push(inputs[3].requires_grad().then(|| column_sums(dxp)));
        grads.push(inputs[4].requires_grad().then(|| column_sums(dhp)));
    }
    grads
}

/// The layer's output (`[B, T, H]`, or `steps` rows per sequence) as a tensor recorded against
/// its inputs: `x, w_ih, w_hh`, the biases when given, then the initial states when given.
#[allow(clippy::too_many_arguments)]
pub(super) fn layer_output(out: Vec<f32>, d: &Dims, steps: usize, x: &Tensor, w_ih: &Tensor, w_hh: &Tensor, biases: Option<(&Tensor, &Tensor)>, state: &[&Tensor], rule: impl Backward + 'static) -> Tensor {
    let mut inputs = vec![x, w_ih, w_hh];
    if let Some((bi, bh)) = biases {
        inputs.extend([bi, bh]);
    }
    inputs.extend_from_slice(state);
    Tensor::from_op(out, &[d.b, steps, d.h], &inputs, rule)
}

/// Inputs for a layer's gradient check: `x [B, T, F]`, the weights of `gates` blocks and both
/// biases, small enough that no gate saturates.
#[cfg(test)]
pub(super) fn test_inputs(gates: usize, b: usize, t: usize, f: usize, h: usize) -> Vec<Tensor> {
    let mut rng = crate::rng::Rng::seed(3);
    let g = gates * h;
    vec![
        Tensor::randn(&[b, t, f], &mut rng),
        Tensor::rand_uniform(&[g, f], -0.5, 0.5, &mut rng),
        Tensor::rand_uniform(&[g, h], -0.5, 0.5, &mut rng),
        Tensor::rand_uniform(&[g], -0.5, 0.5, &mut rng),
        Tensor::rand_uniform(&[g], -0.5, 0.5, &mut rng),
    ]
}

/// Checks a layer's gradients forward and reverse, with both biases and with none.
#[cfg(test)]
pub(super) fn check_layer(op: &str, gates: usize, layer: impl Fn(&[Tensor], Option<(&Tensor, &Tensor)>, bool) -> Tensor) {
    use crate::tensor::gradcheck::check_gradients;
    for reverse in [false, true] {
        check_gradients(op, |t| layer(t, Some((&t[3], &t[4])), reverse), &test_inputs(gates, 2, 5, 3, 4));
        check_gradients(&format!("{op} (no bias)"), |t| layer(t, None, reverse), &test_inputs(gates, 3, 4, 2, 3)[..3]);
    }
}

/// Checks a layer from an initial state (`states` tensors `[B, H]`, passed after the weights and
/// biases), forward and reverse, with both biases and with none.
#[cfg(test)]
pub(super) fn check_layer_from_state(op: &str, gates: usize, states: usize, layer: impl Fn(&[Tensor], Option<(&Tensor, &Tensor)>, &[Tensor], bool) -> Tensor) {
    use crate::tensor::gradcheck::check_gradients;
    let with_states = |mut inputs: Vec<Tensor>, b: usize, h: usize| {
        let mut rng = crate::rng::Rng::seed(4);
        inputs.extend((0..states).map(|_| Tensor::rand_uniform(&[b, h], -0.8, 0.8, &mut rng)));
        inputs
    };
    for reverse in [false, true] {
        check_gradients(&format!("{op} from a state"), |t| layer(t, Some((&t[3], &t[4])), &t[5..], reverse), &with_states(test_inputs(gates, 2, 5, 3, 4), 2, 4));
        let no_bias = test_inputs(gates, 3, 4, 2, 3)[..3].to_vec();
        check_gradients(&format!("{op} from a state (no bias)"), |t| layer(t, None, &t[3..], reverse), &with_states(no_bias, 3, 3));
    }
}

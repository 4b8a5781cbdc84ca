//! Recurrent layers (Elman RNN, LSTM, GRU) with PyTorch's gate order, parameter names
//! (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `weight_hr_l0` for a projected
//! LSTM, `_reverse` for the backward direction) and init U(±1/√hidden). Inputs are batch-first
//! `[B, T, F]`.
//!
//! Every run is one fused op per layer and direction ([`Tensor::lstm_layer`],
//! [`Tensor::gru_layer`], [`Tensor::rnn_layer`], and their `_from` forms, which start from a
//! given state and differentiate with respect to it), except a projected LSTM's: its hidden
//! state is `W_hr (o ⊙ tanh c)`, which the fused LSTM does not compute, so it is unrolled step by
//! step, each step one input and one hidden-state matmul plus the gate arithmetic.

use super::init;
use super::module::{join, Ctx, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Which recurrence, with its number of gate blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// `h' = act(W_ih x + b_ih + W_hh h + b_hh)`; `relu` picks ReLU over tanh.
    Rnn { relu: bool },
    /// Gates i, f, g, o.
    Lstm,
    /// Gates r, z, n.
    Gru,
}

impl Cell {
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn { .. } => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }
}

/// The weights of one direction of one layer.
struct Direction {
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Option<Tensor>,
    b_hh: Option<Tensor>,
    /// PyTorch's `weight_hr` `[P, H]`: a projected LSTM's hidden state is `W_hr (o ⊙ tanh c)`.
    w_hr: Option<Tensor>,
    suffix: String,
}

/// A multi-layer, optionally bidirectional recurrent network.
pub struct Recurrent {
    pub cell: Cell,
    pub hidden: usize,
    /// PyTorch's `proj_size` (LSTM only): the size of the hidden state and of the outputs.
    pub proj: Option<usize>,
    pub layers: usize,
    pub bidirectional: bool,
    /// Dropout between layers (training only), as PyTorch's `dropout`.
    pub dropout: f32,
    weights: Vec<Direction>,
}

/// The state between two runs, PyTorch's `(h_n, c_n)`: one `[B, out]` hidden state per layer and
/// direction (layer-major, as PyTorch orders them), and for an LSTM one `[B, H]` cell state each
/// (empty for RNN and GRU).
#[derive(Clone)]
pub struct RecurrentState {
    pub h: Vec<Tensor>,
    pub c: Vec<Tensor>,
}

/// Outputs of every step `[B, T, out·dirs]` and the state after the last step.
pub struct RecurrentRun {
    pub output: Tensor,
    pub state: RecurrentState,
}

impl Recurrent {
    pub fn new(cell: Cell, input: usize, hidden: usize, layers: usize, bidirectional: bool, bias: bool, dropout: f32, rng: &mut Rng) -> Recurrent {
        Recurrent::build(cell, input, hidden, None, layers, bidirectional, bias, dropout, rng)
    }

    /// An LSTM whose hidden state is projected to `proj` features (PyTorch's `proj_size`).
    #[allow(clippy::too_many_arguments)]
    pub fn with_projection(input: usize, hidden: usize, proj: usize, layers: usize, bidirectional: bool, bias: bool, dropout: f32, rng: &mut Rng) -> Recurrent {
        Recurrent::build(Cell::Lstm, input, hidden, Some(proj), layers, bidirectional, bias, dropout, rng)
    }

    #[allow(clippy::too_many_arguments)]
    fn build(cell: Cell, input: usize, hidden: usize, proj: Option<usize>, layers: usize, bidirectional: bool, bias: bool, dropout: f32, rng: &mut Rng) -> Recurrent {
        let dirs = if bidirectional { 2 } else { 1 };
        let out = proj.unwrap_or(hidden);
        let bound = 1.0 / (hidden as f32).sqrt();
        let g = cell.gates() * hidden;
        let mut weights = Vec::new();
        for layer in 0..layers {
            let fan_in = if layer == 0 { input } else { out * dirs };
            for d in 0..dirs {
                let suffix = format!("l{layer}{}", if d == 1 { "_reverse" } else { "" });
                weights.push(Direction {
                    w_ih: init::uniform(&[g, fan_in], bound, rng),
                    w_hh: init::uniform(&[g, out], bound, rng),
                    b_ih: bias.then(|| init::uniform(&[g], bound, rng)),
                    b_hh: bias.then(|| init::uniform(&[g], bound, rng)),
                    w_hr: proj.map(|p| init::uniform(&[p, hidden], bound, rng)),
                    suffix,
                });
            }
        }
        Recurrent { cell, hidden, proj, layers, bidirectional, dropout, weights }
    }

    /// Features of each step's output per direction (and of the hidden state).
    pub fn out_size(&self) -> usize {
        self.proj.unwrap_or(self.hidden)
    }

    /// One step of the cell: from this step's input projection `[B, G·H]` and the state.
    fn step(&self, w: &Direction, xp: &Tensor, h: &Tensor, c: &Tensor) -> (Tensor, Tensor) {
        let hp = h.linear(&w.w_hh, w.b_hh.as_ref());
        let hs = self.hidden;
        let gate = |t: &Tensor, k: usize| t.narrow(1, k * hs, hs);
        match self.cell {
            Cell::Rnn { relu } => {
                let z = xp.add(&hp);
                (if relu { z.relu() } else { z.tanh() }, c.clone())
            }
            Cell::Lstm => {
                let z = xp.add(&hp);
                let (i, f, g, o) = (gate(&z, 0).sigmoid(), gate(&z, 1).sigmoid(), gate(&z, 2).tanh(), gate(&z, 3).sigmoid());
                let c2 = f.mul(c).add(&i.mul(&g));
                let h2 = o.mul(&c2.tanh());
                (if let Some(w_hr) = &w.w_hr { h2.linear(w_hr, None) } else { h2 }, c2)
            }
            Cell::Gru => {
                let r = gate(xp, 0).add(&gate(&hp, 0)).sigmoid();
                let z = gate(xp, 1).add(&gate(&hp, 1)).sigmoid();
                let n = gate(xp, 2).add(&r.mul(&gate(&hp, 2))).tanh();
                // h' = (1 - z)·n + z·h
                (n.add(&z.mul(&h.sub(&n))), c.clone())
            }
        }
    }

    /// Runs the network over `x` `[B, T, F]` from zero initial states and returns the outputs of
    /// every step `[B, T, out·dirs]`.
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        if self.proj.is_none() {
            self.forward_fused(x, None, ctx).0
        } else {
            self.forward_unrolled(x, None, ctx).output
        }
    }

    /// One fused op per layer and direction, from `state` (zeros when `None`); with a state, also
    /// the state after the last step.
    fn forward_fused(&self, x: &Tensor, state: Option<&RecurrentState>, ctx: &mut Ctx) -> (Tensor, Option<RecurrentState>) {
        let dirs = self.directions();
        let t = x.dim(1);
        let mut seq = x.clone();
        let mut last = RecurrentState { h: Vec::new(), c: Vec::new() };
        for layer in 0..self.layers {
            let outs: Vec<Tensor> = (0..dirs)
                .map(|d| {
                    let at = layer * dirs + d;
                    let w = &self.weights[at];
                    let biases = w.b_ih.as_ref().zip(w.b_hh.as_ref());
                    let reverse = d == 1;
                    let Some(state) = state else {
                        return match self.cell {
                            Cell::Lstm => seq.lstm_layer(&w.w_ih, &w.w_hh, biases, reverse),
                            Cell::Gru => seq.gru_layer(&w.w_ih, &w.w_hh, biases, reverse),
                            Cell::Rnn { relu } => seq.rnn_layer(&w.w_ih, &w.w_hh, biases, relu, reverse),
                        };
                    };
                    let h0 = &state.h[at];
                    let out = match self.cell {
                        Cell::Lstm => {
                            // Every step's hidden state, then the final cell state.
                            let both = seq.lstm_layer_from(&w.w_ih, &w.w_hh, biases, reverse, h0, &state.c[at]);
                            last.c.push(both.narrow(1, t, 1).reshape(&[x.dim(0), self.hidden]));
                            both.narrow(1, 0, t)
                        }
                        Cell::Gru => seq.gru_layer_from(&w.w_ih, &w.w_hh, biases, reverse, h0),
                        Cell::Rnn { relu } => seq.rnn_layer_from(&w.w_ih, &w.w_hh, biases, relu, reverse, h0),
                    };
                    // The hidden state after the last step processed (the first, in reverse).
                    last.h.push(match t {
                        0 => h0.clone(),
                        _ => out.narrow(1, if reverse { 0 } else { t - 1 }, 1).reshape(&[x.dim(0), self.hidden]),
                    });
                    out
                })
                .collect();
            seq = if dirs == 1 { outs.into_iter().next().unwrap() } else { Tensor::concat(&outs, 2) };
            if layer + 1 < self.layers {
                seq = seq.dropout(self.dropout, ctx.train, ctx.rng);
            }
        }
        (seq, state.map(|_| last))
    }

    fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Zero states for a batch of `b`, what a run without a state starts from.
    pub fn zero_state(&self, b: usize) -> RecurrentState {
        let n = self.layers * self.directions();
        let c = if self.cell == Cell::Lstm { (0..n).map(|_| Tensor::zeros(&[b, self.hidden])).collect() } else { Vec::new() };
        RecurrentState { h: (0..n).map(|_| Tensor::zeros(&[b, self.out_size()])).collect(), c }
    }

    /// Runs the network over `x` `[B, T, F]` from `state` (zeros when `None`); returns every
    /// step's output and the state after the last step, so that running two halves of a sequence
    /// carrying the state equals one run over it (for one direction). Gradients flow into the
    /// initial state.
    pub fn forward_from(&self, x: &Tensor, state: Option<&RecurrentState>, ctx: &mut Ctx) -> RecurrentRun {
        if self.proj.is_some() {
            return self.forward_unrolled(x, state, ctx);
        }
        let zeros;
        let start = match state {
            Some(s) => s,
            None => {
                zeros = self.zero_state(x.dim(0));
                &zeros
            }
        };
        let (output, last) = self.forward_fused(x, Some(start), ctx);
        RecurrentRun { output, state: last.expect("a run from a state returns the final one") }
    }

    /// [`forward_from`](Recurrent::forward_from) unrolled over time, one op per gate operation:
    /// the projected LSTM's path, and the reference the fused ops are tested against.
    ///
    /// Each layer's sequence is kept as one tensor per time step: slicing a time step out of a
    /// `[B, T, ·]` tensor would make every step's backward pass carry a gradient the size of the
    /// whole sequence, which turns training quadratic in T.
    fn forward_unrolled(&self, x: &Tensor, state: Option<&RecurrentState>, ctx: &mut Ctx) -> RecurrentRun {
        let (b, t) = (x.dim(0), x.dim(1));
        let dirs = self.directions();
        let zeros;
        let start = match state {
            Some(s) => s,
            None => {
                zeros = self.zero_state(b);
                &zeros
            }
        };
        let lstm = self.cell == Cell::Lstm;
        let no_cell = Tensor::zeros(&[0]);
        let mut seq: Vec<Tensor> = (0..t).map(|k| x.narrow(1, k, 1).reshape(&[b, usize::MAX])).collect();
        let mut last = RecurrentState { h: Vec::new(), c: Vec::new() };
        for layer in 0..self.layers {
            let mut outs: Vec<Vec<Tensor>> = Vec::with_capacity(dirs);
            for d in 0..dirs {
                let at = layer * dirs + d;
                let w = &self.weights[at];
                let mut h = start.h[at].clone();
                let mut c = if lstm { start.c[at].clone() } else { no_cell.clone() };
                let mut steps = vec![Tensor::zeros(&[0]); t];
                for k in 0..t {
                    let time = if d == 0 { k } else { t - 1 - k };
                    let xp = seq[time].linear(&w.w_ih, w.b_ih.as_ref());
                    let (h2, c2) = self.step(w, &xp, &h, &c);
                    h = h2;
                    c = c2;
                    steps[time] = h.clone();
                }
                outs.push(steps);
                last.h.push(h);
                if lstm {
                    last.c.push(c);
                }
            }
            seq = (0..t)
                .map(|k| {
                    let at = if dirs == 1 { outs[0][k].clone() } else { Tensor::concat(&[outs[0][k].clone(), outs[1][k].clone()], 1) };
                    if layer + 1 < self.layers {
                        at.dropout(self.dropout, ctx.train, ctx.rng)
                    } else {
                        at
                    }
                })
                .collect();
        }
        RecurrentRun { output: Tensor::stack(&seq, 1), state: last }
    }
}

impl Module for Recurrent {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for w in &self.weights {
            f(join(prefix, &format!("weight_ih_{}", w.suffix)), &w.w_ih);
            f(join(prefix, &format!("weight_hh_{}", w.suffix)), &w.w_hh);
            if let (Some(bi), Some(bh)) = (&w.b_ih, &w.b_hh) {
                f(join(prefix, &format!("bias_ih_{}", w.suffix)), bi);
                f(join(prefix, &format!("bias_hh_{}", w.suffix)), bh);
            }
            if let Some(w_hr) = &w.w_hr {
                f(join(prefix, &format!("weight_hr_{}", w.suffix)), w_hr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{named_params, param_count};
    use crate::tensor::gradcheck::check_gradients;

    /// A network of `cell` (projected to 2 when `proj`), input 3, hidden 4.
    fn net(cell: Cell, layers: usize, bidirectional: bool, proj: bool, seed: u64) -> Recurrent {
        let mut rng = Rng::seed(seed);
        if proj {
            Recurrent::with_projection(3, 4, 2, layers, bidirectional, true, 0.0, &mut rng)
        } else {
            Recurrent::new(cell, 3, 4, layers, bidirectional, true, 0.0, &mut rng)
        }
    }

    /// Swaps the network's weights for the probe tensors `t[from..]`, in `visit` order.
    fn probe(cell: Cell, layers: usize, bidirectional: bool, proj: bool, t: &[Tensor]) -> Recurrent {
        let mut probe = net(cell, layers, bidirectional, proj, 7);
        let mut k = 0;
        for w in probe.weights.iter_mut() {
            w.w_ih = t[k].clone();
            w.w_hh = t[k + 1].clone();
            w.b_ih = Some(t[k + 2].clone());
            w.b_hh = Some(t[k + 3].clone());
            k += 4;
            if proj {
                w.w_hr = Some(t[k].clone());
                k += 1;
            }
        }
        probe
    }

    fn check(cell: Cell, layers: usize, bidirectional: bool) {
        let mut rng = Rng::seed(7);
        let network = net(cell, layers, bidirectional, false, 7);
        let x = Tensor::randn(&[2, 5, 3], &mut rng);
        let mut inputs = vec![x];
        inputs.extend(named_params(&network).iter().map(|(_, p)| p.detach()));
        check_gradients(&format!("{cell:?}"), |t| probe(cell, layers, bidirectional, false, &t[1..]).forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))), &inputs);
    }

    /// Gradients through the initial state and into the final one: the checked output is every
    /// step's output followed by the final state.
    fn check_from_state(cell: Cell, layers: usize, proj: bool) {
        let mut rng = Rng::seed(8);
        let network = net(cell, layers, false, proj, 7);
        let start = network.zero_state(2);
        let h0: Vec<Tensor> = start.h.iter().map(|h| Tensor::randn(h.shape(), &mut rng)).collect();
        let c0: Vec<Tensor> = start.c.iter().map(|c| Tensor::randn(c.shape(), &mut rng)).collect();
        let (nh, nc) = (h0.len(), c0.len());
        let mut inputs = vec![Tensor::randn(&[2, 4, 3], &mut rng)];
        inputs.extend(h0);
        inputs.extend(c0);
        inputs.extend(named_params(&network).iter().map(|(_, p)| p.detach()));
        check_gradients(
            &format!("{cell:?} from a state{}", if proj { ", projected" } else { "" }),
            |t| {
                let state = RecurrentState { h: t[1..1 + nh].to_vec(), c: t[1 + nh..1 + nh + nc].to_vec() };
                let run = probe(cell, layers, false, proj, &t[1 + nh + nc..]).forward_from(&t[0], Some(&state), &mut Ctx::eval(&mut Rng::seed(0)));
                let mut parts = vec![run.output.reshape(&[usize::MAX])];
                parts.extend(run.state.h.iter().chain(&run.state.c).map(|s| s.reshape(&[usize::MAX])));
                Tensor::concat(&parts, 0)
            },
            &inputs,
        );
    }

    #[test]
    fn grad_lstm_two_layers_bidirectional() {
        check(Cell::Lstm, 2, true);
    }

    #[test]
    fn grad_gru_two_layers_bidirectional() {
        check(Cell::Gru, 2, true);
    }

    #[test]
    fn grad_rnn() {
        check(Cell::Rnn { relu: false }, 1, false);
    }

    #[test]
    fn grad_through_initial_and_final_states() {
        check_from_state(Cell::Rnn { relu: false }, 2, false);
        check_from_state(Cell::Gru, 2, false);
        check_from_state(Cell::Lstm, 2, false);
        check_from_state(Cell::Lstm, 2, true);
    }

    #[test]
    fn grad_projected_lstm_bidirectional() {
        let network = net(Cell::Lstm, 2, true, true, 7);
        let mut inputs = vec![Tensor::randn(&[2, 5, 3], &mut Rng::seed(3))];
        inputs.extend(named_params(&network).iter().map(|(_, p)| p.detach()));
        check_gradients("projected LSTM", |t| probe(Cell::Lstm, 2, true, true, &t[1..]).forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))), &inputs);
    }

    #[test]
    fn two_halves_carrying_the_state_equal_one_run() {
        for (cell, proj) in [(Cell::Rnn { relu: false }, false), (Cell::Gru, false), (Cell::Lstm, false), (Cell::Lstm, true)] {
            let network = net(cell, 2, false, proj, 5);
            let x = Tensor::randn(&[3, 7, 3], &mut Rng::seed(6));
            let mut r = Rng::seed(0);
            let whole = network.forward_from(&x, None, &mut Ctx::eval(&mut r));
            let first = network.forward_from(&x.narrow(1, 0, 4), None, &mut Ctx::eval(&mut r));
            let second = network.forward_from(&x.narrow(1, 4, 3), Some(&first.state), &mut Ctx::eval(&mut r));
            let joined = Tensor::concat(&[first.output, second.output], 1);
            let close = |a: &[f32], b: &[f32], what: &str| {
                assert_eq!(a.len(), b.len());
                for (p, q) in a.iter().zip(b) {
                    assert!((p - q).abs() <= 1e-6, "{cell:?} (projected: {proj}) {what}: {p} vs {q}");
                }
            };
            close(&joined.to_vec(), &whole.output.to_vec(), "outputs");
            for (a, b) in second.state.h.iter().chain(&second.state.c).zip(whole.state.h.iter().chain(&whole.state.c)) {
                close(&a.to_vec(), &b.to_vec(), "final state");
            }
            assert_eq!(whole.state.h.len(), 2);
            assert_eq!(whole.state.c.len(), if cell == Cell::Lstm { 2 } else { 0 });
            // From zeros is the same as from no state.
            let from_zero = network.forward_from(&x, Some(&network.zero_state(3)), &mut Ctx::eval(&mut r));
            close(&from_zero.output.to_vec(), &whole.output.to_vec(), "zero state");
        }
    }

    /// The fused layers against the unrolled composition, 2 layers bidirectional, from zero states
    /// and from random ones: outputs, final states, and the gradients of the input, of the
    /// initial states and of every parameter.
    fn fused_matches_unrolled(cell: Cell) {
        let mut rng = Rng::seed(11);
        let net = Recurrent::new(cell, 3, 6, 2, true, true, 0.0, &mut rng);
        let x = Tensor::param(Tensor::randn(&[4, 7, 3], &mut rng).to_vec(), &[4, 7, 3]);
        let weights = Tensor::randn(&[4, 7, 12], &mut rng);
        let zero = net.zero_state(4);
        let random = |s: &Tensor, rng: &mut Rng| Tensor::param(Tensor::randn(s.shape(), rng).to_vec(), s.shape());
        let start = RecurrentState { h: zero.h.iter().map(|s| random(s, &mut rng)).collect(), c: zero.c.iter().map(|s| random(s, &mut rng)).collect() };
        let state_weights: Vec<Tensor> = start.h.iter().chain(&start.c).map(|s| Tensor::randn(s.shape(), &mut rng)).collect();
        let run = |fused: bool, from: Option<&RecurrentState>| {
            let mut r = Rng::seed(0);
            let mut ctx = Ctx::eval(&mut r);
            let (out, last) = match (fused, from) {
                (true, None) => (net.forward(&x, &mut ctx), None),
                (true, Some(s)) => {
                    let run = net.forward_from(&x, Some(s), &mut ctx);
                    (run.output, Some(run.state))
                }
                (false, s) => {
                    let run = net.forward_unrolled(&x, s, &mut ctx);
                    (run.output, s.map(|_| run.state))
                }
            };
            let mut loss = out.mul(&weights).sum_all();
            if let Some(last) = &last {
                for (s, w) in last.h.iter().chain(&last.c).zip(&state_weights) {
                    loss = loss.add(&s.mul(w).sum_all());
                }
            }
            let grads = loss.backward();
            let mut all = out.to_vec();
            all.extend(last.iter().flat_map(|l| l.h.iter().chain(&l.c)).flat_map(|s| s.to_vec()));
            all.extend(grads.get(&x).unwrap().iter().copied());
            for s in from.iter().flat_map(|s| s.h.iter().chain(&s.c)) {
                all.extend(grads.get(s).unwrap().iter().copied());
            }
            for (_, p) in named_params(&net) {
                all.extend(grads.get(&p).unwrap().iter().copied());
            }
            all
        };
        for from in [None, Some(&start)] {
            let (fused, unrolled) = (run(true, from), run(false, from));
            assert_eq!(fused.len(), unrolled.len());
            for (k, (a, b)) in fused.iter().zip(&unrolled).enumerate() {
                assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "{cell:?} from a state: {}, element {k}: fused {a} vs unrolled {b}", from.is_some());
            }
        }
    }

    #[test]
    fn fused_lstm_matches_the_unrolled_one_in_values_and_gradients() {
        fused_matches_unrolled(Cell::Lstm);
    }

    #[test]
    fn fused_gru_matches_the_unrolled_one_in_values_and_gradients() {
        fused_matches_unrolled(Cell::Gru);
    }

    #[test]
    fn fused_rnn_matches_the_unrolled_one_in_values_and_gradients() {
        fused_matches_unrolled(Cell::Rnn { relu: false });
        fused_matches_unrolled(Cell::Rnn { relu: true });
    }

    #[test]
    fn shapes_names_and_pytorch_parameter_counts() {
        let mut rng = Rng::seed(1);
        let lstm = Recurrent::new(Cell::Lstm, 1, 128, 2, false, true, 0.0, &mut rng);
        // torch.nn.LSTM(1, 128, 2): 4·128·(1 + 128 + 2) + 4·128·(128 + 128 + 2) = 199168
        assert_eq!(param_count(&lstm), 199_168);
        let names: Vec<String> = named_params(&lstm).into_iter().map(|(n, _)| n).take(4).collect();
        assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
        // torch.nn.LSTM(1, 128, 2, proj_size=1): 2·(4·128·(1 + 1 + 2) + 128) = 4352
        let projected = Recurrent::with_projection(1, 128, 1, 2, false, true, 0.0, &mut rng);
        assert_eq!(param_count(&projected), 4352);
        let names: Vec<String> = named_params(&projected).into_iter().map(|(n, _)| n).take(6).collect();
        assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l1"]);
        let out = projected.forward(&Tensor::randn(&[2, 4, 1], &mut rng), &mut Ctx::eval(&mut rng));
        assert_eq!(out.shape(), &[2, 4, 1]);
        let gru = Recurrent::new(Cell::Gru, 3, 8, 1, true, true, 0.0, &mut rng);
        let run = gru.forward_from(&Tensor::randn(&[2, 4, 3], &mut rng), None, &mut Ctx::eval(&mut rng));
        assert_eq!(run.output.shape(), &[2, 4, 16]);
        assert_eq!(run.state.h.len(), 2);
        assert_eq!(run.state.h[1].shape(), &[2, 8]);
    }
}

//! Recurrent layers (Elman RNN, LSTM, GRU) with PyTorch's gate order, parameter names
//! (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, `_reverse` for the backward
//! direction) and init U(±1/√hidden). Inputs are batch-first `[B, T, F]`.
//!
//! LSTM layers run as one fused op per layer and direction ([`Tensor::lstm_layer`]); RNN and GRU
//! are unrolled step by step, each step one input and one hidden-state matmul plus the gate
//! arithmetic.

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
    suffix: String,
}

/// A multi-layer, optionally bidirectional recurrent network.
pub struct Recurrent {
    pub cell: Cell,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    /// Dropout between layers (training only), as PyTorch's `dropout`.
    pub dropout: f32,
    weights: Vec<Direction>,
}

/// Outputs of every step `[B, T, H·dirs]`, and the last hidden state per layer and direction,
/// each `[B, H]`.
pub struct RecurrentOutput {
    pub output: Tensor,
    pub h_n: Vec<Tensor>,
}

impl Recurrent {
    pub fn new(cell: Cell, input: usize, hidden: usize, layers: usize, bidirectional: bool, bias: bool, dropout: f32, rng: &mut Rng) -> Recurrent {
        let dirs = if bidirectional { 2 } else { 1 };
        let bound = 1.0 / (hidden as f32).sqrt();
        let g = cell.gates() * hidden;
        let mut weights = Vec::new();
        for layer in 0..layers {
            let fan_in = if layer == 0 { input } else { hidden * dirs };
            for d in 0..dirs {
                let suffix = format!("l{layer}{}", if d == 1 { "_reverse" } else { "" });
                weights.push(Direction {
                    w_ih: init::uniform(&[g, fan_in], bound, rng),
                    w_hh: init::uniform(&[g, hidden], bound, rng),
                    b_ih: bias.then(|| init::uniform(&[g], bound, rng)),
                    b_hh: bias.then(|| init::uniform(&[g], bound, rng)),
                    suffix,
                });
            }
        }
        Recurrent { cell, hidden, layers, bidirectional, dropout, weights }
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
                (o.mul(&c2.tanh()), c2)
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

    /// Runs the network over `x` `[B, T, F]`, from zero initial states.
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> RecurrentOutput {
        match self.cell {
            Cell::Lstm => self.forward_fused(x, ctx),
            _ => self.forward_stepwise(x, ctx),
        }
    }

    /// LSTM: one fused op per layer and direction.
    fn forward_fused(&self, x: &Tensor, ctx: &mut Ctx) -> RecurrentOutput {
        let (t, dirs) = (x.dim(1), self.directions());
        let mut seq = x.clone();
        let mut h_n = Vec::new();
        for layer in 0..self.layers {
            let outs: Vec<Tensor> = (0..dirs)
                .map(|d| {
                    let w = &self.weights[layer * dirs + d];
                    let biases = w.b_ih.as_ref().zip(w.b_hh.as_ref());
                    let out = seq.lstm_layer(&w.w_ih, &w.w_hh, biases, d == 1);
                    let last = if d == 0 { t - 1 } else { 0 };
                    h_n.push(out.narrow(1, last, 1).reshape(&[x.dim(0), self.hidden]));
                    out
                })
                .collect();
            seq = if dirs == 1 { outs.into_iter().next().unwrap() } else { Tensor::concat(&outs, 2) };
            if layer + 1 < self.layers {
                seq = seq.dropout(self.dropout, ctx.train, ctx.rng);
            }
        }
        RecurrentOutput { output: seq, h_n }
    }

    fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Unrolled over time, one op per gate operation (RNN, GRU; and LSTM as the fused op's
    /// reference in tests).
    ///
    /// Each layer's sequence is kept as one tensor per time step: slicing a time step out of a
    /// `[B, T, ·]` tensor would make every step's backward pass carry a gradient the size of the
    /// whole sequence, which turns training quadratic in T.
    pub(crate) fn forward_stepwise(&self, x: &Tensor, ctx: &mut Ctx) -> RecurrentOutput {
        let (b, t) = (x.dim(0), x.dim(1));
        let dirs = self.directions();
        let mut seq: Vec<Tensor> = (0..t).map(|k| x.narrow(1, k, 1).reshape(&[b, usize::MAX])).collect();
        let mut h_n = Vec::new();
        for layer in 0..self.layers {
            let mut outs: Vec<Vec<Tensor>> = Vec::with_capacity(dirs);
            for d in 0..dirs {
                let w = &self.weights[layer * dirs + d];
                let mut h = Tensor::zeros(&[b, self.hidden]);
                let mut c = Tensor::zeros(&[b, self.hidden]);
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
                h_n.push(h);
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
        RecurrentOutput { output: Tensor::stack(&seq, 1), h_n }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{named_params, param_count};
    use crate::tensor::gradcheck::check_gradients;

    fn check(cell: Cell, layers: usize, bidirectional: bool) {
        let mut rng = Rng::seed(7);
        let net = Recurrent::new(cell, 3, 4, layers, bidirectional, true, 0.0, &mut rng);
        let x = Tensor::randn(&[2, 5, 3], &mut rng);
        let params = named_params(&net);
        let mut inputs = vec![x];
        inputs.extend(params.iter().map(|(_, p)| p.detach()));
        check_gradients(
            &format!("{cell:?}"),
            |t| {
                // Swap the network's weights for the probe tensors, then run it.
                let mut probe = Recurrent::new(cell, 3, 4, layers, bidirectional, true, 0.0, &mut Rng::seed(7));
                let mut k = 1;
                for w in probe.weights.iter_mut() {
                    w.w_ih = t[k].clone();
                    w.w_hh = t[k + 1].clone();
                    w.b_ih = Some(t[k + 2].clone());
                    w.b_hh = Some(t[k + 3].clone());
                    k += 4;
                }
                let mut r = Rng::seed(0);
                probe.forward(&t[0], &mut Ctx::eval(&mut r)).output
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
    fn fused_lstm_matches_the_unrolled_one_in_values_and_gradients() {
        let mut rng = Rng::seed(11);
        let net = Recurrent::new(Cell::Lstm, 3, 6, 2, true, true, 0.0, &mut rng);
        let x = Tensor::param(Tensor::randn(&[4, 7, 3], &mut rng).to_vec(), &[4, 7, 3]);
        let weights = Tensor::randn(&[4, 7, 12], &mut rng);
        let run = |fused: bool| {
            let mut r = Rng::seed(0);
            let mut ctx = Ctx::eval(&mut r);
            let out = if fused { net.forward(&x, &mut ctx) } else { net.forward_stepwise(&x, &mut ctx) };
            let grads = out.output.mul(&weights).sum_all().backward();
            let mut all = out.output.to_vec();
            all.extend(out.h_n.iter().flat_map(|h| h.to_vec()));
            all.extend(grads.get(&x).unwrap().iter().copied());
            for (_, p) in named_params(&net) {
                all.extend(grads.get(&p).unwrap().iter().copied());
            }
            all
        };
        let (fused, unrolled) = (run(true), run(false));
        assert_eq!(fused.len(), unrolled.len());
        for (k, (a, b)) in fused.iter().zip(&unrolled).enumerate() {
            assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "element {k}: fused {a} vs unrolled {b}");
        }
    }

    #[test]
    fn shapes_names_and_pytorch_parameter_counts() {
        let mut rng = Rng::seed(1);
        let lstm = Recurrent::new(Cell::Lstm, 1, 128, 2, false, true, 0.0, &mut rng);
        // torch.nn.LSTM(1, 128, 2): 4·128·(1 + 128 + 2) + 4·128·(128 + 128 + 2) = 199168
        assert_eq!(param_count(&lstm), 199_168);
        let names: Vec<String> = named_params(&lstm).into_iter().map(|(n, _)| n).take(4).collect();
        assert_eq!(names, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]);
        let gru = Recurrent::new(Cell::Gru, 3, 8, 1, true, true, 0.0, &mut rng);
        let out = gru.forward(&Tensor::randn(&[2, 4, 3], &mut rng), &mut Ctx::eval(&mut rng));
        assert_eq!(out.output.shape(), &[2, 4, 16]);
        assert_eq!(out.h_n.len(), 2);
    }
}

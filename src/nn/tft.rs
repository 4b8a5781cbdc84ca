//! The Temporal Fusion Transformer's blocks (Lim et al. 2021, as NeuralForecast 3.3 builds them):
//! the gated linear unit, the gated residual network (GRN) with an optional context, the
//! variable selection network (VSN) and interpretable multi-head attention (one value projection
//! shared by every head, the heads averaged). Parameter names are NeuralForecast's.
//!
//! Every LayerNorm here uses eps 1e-3, as NeuralForecast's TFT does.

use super::linear::Linear;
use super::module::{join, Ctx, Module};
use super::norm::LayerNorm;
use crate::rng::Rng;
use crate::tensor::Tensor;

/// TFT's LayerNorm: eps 1e-3 instead of PyTorch's 1e-5.
pub fn tft_layer_norm(dim: usize) -> LayerNorm {
    LayerNorm { eps: 1e-3, ..LayerNorm::new(dim) }
}

/// A GRN's activation, one of NeuralForecast's `torch.nn.functional` names.
pub type ActivationFn = fn(&Tensor) -> Tensor;

/// `GLU`: `Linear(in → 2·out)`, then `a·σ(b)` of the two halves.
pub struct Glu {
    pub lin: Linear,
}

impl Glu {
    pub fn new(input: usize, output: usize, rng: &mut Rng) -> Glu {
        Glu { lin: Linear::new(input, 2 * output, true, rng) }
    }

    pub fn params(input: f64, output: f64) -> f64 {
        (input + 1.0) * 2.0 * output
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let y = self.lin.forward(x);
        let half = y.dim(-1) / 2;
        y.narrow(-1, 0, half).mul(&y.narrow(-1, half, half).sigmoid())
    }

    /// The gated skip connection TFT uses after its encoder, attention and decoder:
    /// `norm(glu(x) + residual)`.
    pub fn add_norm(&self, norm: &LayerNorm, x: &Tensor, residual: &Tensor) -> Tensor {
        norm.forward(&self.forward(x).add(residual))
    }
}

impl Module for Glu {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.lin.visit(&join(prefix, "lin"), f);
    }
}

/// `GRN`: `norm(glu(dropout(lin_i(act(lin_a(a) + lin_c(c))))) + skip(a))`, where `skip` is
/// `out_proj` when an output size is given (the identity otherwise), and `norm` is a LayerNorm
/// over the output except when the output has one feature (NeuralForecast's `MaybeLayerNorm`).
pub struct Grn {
    pub layer_norm: Option<LayerNorm>,
    pub lin_a: Linear,
    /// Projects the context (no bias), added to every time step.
    pub lin_c: Option<Linear>,
    pub lin_i: Linear,
    pub glu: Glu,
    pub out_proj: Option<Linear>,
    pub dropout: f32,
    pub activation: ActivationFn,
}

impl Grn {
    /// `output: None` keeps `hidden` features (the skip is the identity, so `input == hidden`).
    pub fn new(input: usize, hidden: usize, output: Option<usize>, context: bool, dropout: f32, activation: ActivationFn, rng: &mut Rng) -> Grn {
        let out = output.unwrap_or(hidden);
        let layer_norm = (output != Some(1)).then(|| tft_layer_norm(out));
        let lin_a = Linear::new(input, hidden, true, rng);
        let lin_c = context.then(|| Linear::new(hidden, hidden, false, rng));
        let lin_i = Linear::new(hidden, hidden, true, rng);
        let glu = Glu::new(hidden, out, rng);
        let out_proj = output.map(|o| Linear::new(input, o, true, rng));
        Grn { layer_norm, lin_a, lin_c, lin_i, glu, out_proj, dropout, activation }
    }

    /// Weights of a GRN, counted from its sizes.
    pub fn params(input: f64, hidden: f64, output: Option<f64>, context: bool) -> f64 {
        let out = output.unwrap_or(hidden);
        let norm = if output == Some(1.0) { 0.0 } else { 2.0 * out };
        let ctx = if context { hidden * hidden } else { 0.0 };
        let proj = output.map_or(0.0, |o| (input + 1.0) * o);
        norm + (input + 1.0) * hidden + ctx + (hidden + 1.0) * hidden + Glu::params(hidden, out) + proj
    }

    /// `a` `[B, (T,) input]`; the context `c` `[B, hidden]` is added at every time step.
    pub fn forward(&self, a: &Tensor, c: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        let mut x = self.lin_a.forward(a);
        if let (Some(lin_c), Some(c)) = (&self.lin_c, c) {
            let cp = lin_c.forward(c);
            x = x.add(&if a.rank() == 3 { cp.unsqueeze(1) } else { cp });
        }
        let x = self.lin_i.forward(&(self.activation)(&x)).dropout(self.dropout, ctx.train, ctx.rng);
        let skip = match &self.out_proj {
            Some(p) => p.forward(a),
            None => a.clone(),
        };
        let y = self.glu.forward(&x).add(&skip);
        match &self.layer_norm {
            Some(norm) => norm.forward(&y),
            None => y,
        }
    }
}

impl Module for Grn {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        // MaybeLayerNorm holds its LayerNorm as `ln`.
        self.layer_norm.visit(&join(prefix, "layer_norm.ln"), f);
        self.lin_a.visit(&join(prefix, "lin_a"), f);
        self.lin_c.visit(&join(prefix, "lin_c"), f);
        self.lin_i.visit(&join(prefix, "lin_i"), f);
        self.glu.visit(&join(prefix, "glu"), f);
        self.out_proj.visit(&join(prefix, "out_proj"), f);
    }
}

/// `VariableSelectionNetwork` over `n` embedded variables `[.., n, hidden]`: a joint GRN (with the
/// context) gives softmax weights over the variables, each variable goes through its own GRN,
/// and the output `[.., hidden]` is their weighted sum.
pub struct VariableSelection {
    pub joint_grn: Grn,
    pub var_grns: Vec<Grn>,
}

impl VariableSelection {
    pub fn new(hidden: usize, n: usize, dropout: f32, activation: ActivationFn, rng: &mut Rng) -> VariableSelection {
        // NeuralForecast builds the joint GRN without dropout.
        let joint_grn = Grn::new(hidden * n, hidden, Some(n), true, 0.0, activation, rng);
        let var_grns = (0..n).map(|_| Grn::new(hidden, hidden, None, false, dropout, activation, rng)).collect();
        VariableSelection { joint_grn, var_grns }
    }

    pub fn params(hidden: f64, n: f64) -> f64 {
        Grn::params(hidden * n, hidden, Some(n), true) + n * Grn::params(hidden, hidden, None, false)
    }

    /// The selected features `[.., hidden]` and the variable weights `[.., n]`.
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let r = x.rank();
        let (n, hidden) = (x.dim(-2), x.dim(-1));
        let mut flat_shape = x.shape()[..r - 2].to_vec();
        flat_shape.push(n * hidden);
        let weights = self.joint_grn.forward(&x.reshape(&flat_shape), context, ctx).softmax();
        // Each variable through its own GRN: `[.., n, hidden]`.
        let per_var: Vec<Tensor> = self.var_grns.iter().enumerate().map(|(i, g)| g.forward(&x.narrow(-2, i, 1).squeeze(-2), None, ctx)).collect();
        let transformed = Tensor::stack(&per_var, r - 2);
        let selected = transformed.mul(&weights.unsqueeze(r - 1)).sum_axis(-2, false);
        (selected, weights)
    }
}

impl Module for VariableSelection {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.joint_grn.visit(&join(prefix, "joint_grn"), f);
        self.var_grns.visit(&join(prefix, "var_grns"), f);
    }
}

/// `InterpretableMultiHeadAttention`: per-head queries and keys, one value projection shared by
/// every head, causal (each step attends to itself and the past), the heads' outputs averaged
/// before the output projection, so the averaged attention weights explain the output.
pub struct InterpretableAttention {
    /// `[(2·heads + 1)·d_head, hidden]`, no bias: the queries, keys and the shared value.
    pub qkv_linears: Linear,
    /// `[hidden, d_head]`, no bias.
    pub out_proj: Linear,
    pub heads: usize,
    pub attn_dropout: f32,
    pub dropout: f32,
}

impl InterpretableAttention {
    pub fn new(hidden: usize, heads: usize, attn_dropout: f32, dropout: f32, rng: &mut Rng) -> InterpretableAttention {
        let d = hidden / heads;
        let qkv_linears = Linear::new(hidden, (2 * heads + 1) * d, false, rng);
        let out_proj = Linear::new(d, hidden, false, rng);
        InterpretableAttention { qkv_linears, out_proj, heads, attn_dropout, dropout }
    }

    pub fn params(hidden: f64, heads: f64) -> f64 {
        let d = (hidden / heads).floor();
        hidden * (2.0 * heads + 1.0) * d + d * hidden
    }

    /// `x` `[B, T, hidden]` → the output `[B, T, hidden]` and the attention `[B, heads, T, T]`.
    pub fn forward(&self, x: &Tensor, ctx: &mut Ctx) -> (Tensor, Tensor) {
        let (b, t) = (x.dim(0), x.dim(1));
        let (heads, d) = (self.heads, self.out_proj.in_features());
        let qkv = self.qkv_linears.forward(x);
        let q = qkv.narrow(-1, 0, heads * d).reshape(&[b, t, heads, d]).permute(&[0, 2, 1, 3]);
        let k = qkv.narrow(-1, heads * d, heads * d).reshape(&[b, t, heads, d]).permute(&[0, 2, 3, 1]);
        let v = qkv.narrow(-1, 2 * heads * d, d).unsqueeze(1);
        let mask: Vec<f32> = (0..t * t).map(|n| if n % t > n / t { f32::NEG_INFINITY } else { 0.0 }).collect();
        let scores = q.matmul(&k).mul_scalar(1.0 / (d as f32).sqrt()).add(&Tensor::from_vec(mask, &[1, 1, t, t]));
        let prob = scores.softmax().dropout(self.attn_dropout, ctx.train, ctx.rng);
        let out = self.out_proj.forward(&prob.matmul(&v).mean_axis(1, false)).dropout(self.dropout, ctx.train, ctx.rng);
        (out, prob)
    }
}

impl Module for InterpretableAttention {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.qkv_linears.visit(&join(prefix, "qkv_linears"), f);
        self.out_proj.visit(&join(prefix, "out_proj"), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{named_params, param_count};
    use crate::tensor::gradcheck::check_gradients;

    fn elu(x: &Tensor) -> Tensor {
        x.elu(1.0)
    }

    #[test]
    fn grn_names_and_counts_are_neuralforecasts() {
        let mut rng = Rng::seed(1);
        let g = Grn::new(6, 4, Some(3), true, 0.0, elu, &mut rng);
        let names: Vec<String> = named_params(&g).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["layer_norm.ln.weight", "layer_norm.ln.bias", "lin_a.weight", "lin_a.bias", "lin_c.weight", "lin_i.weight", "lin_i.bias", "glu.lin.weight", "glu.lin.bias", "out_proj.weight", "out_proj.bias"]
        );
        for (i, h, o, c) in [(6, 4, Some(3), true), (4, 4, None, false), (8, 4, Some(1), true)] {
            let g = Grn::new(i, h, o, c, 0.0, elu, &mut rng);
            assert_eq!(param_count(&g) as f64, Grn::params(i as f64, h as f64, o.map(|o| o as f64), c));
        }
        let v = VariableSelection::new(4, 3, 0.1, elu, &mut rng);
        assert_eq!(param_count(&v) as f64, VariableSelection::params(4.0, 3.0));
        let a = InterpretableAttention::new(6, 3, 0.0, 0.0, &mut rng);
        assert_eq!(param_count(&a) as f64, InterpretableAttention::params(6.0, 3.0));
    }

    #[test]
    fn grad_glu_and_grn() {
        let mut rng = Rng::seed(2);
        let glu = Glu::new(4, 3, &mut rng);
        check_gradients("GLU", |t| glu.forward(&t[0]), &[Tensor::randn(&[2, 3, 4], &mut rng)]);
        // With a context over time, with an output projection and norm, and without either.
        let c = Tensor::randn(&[2, 4], &mut rng);
        let g = Grn::new(5, 4, Some(3), true, 0.0, elu, &mut rng);
        check_gradients("GRN (context, projection)", |t| g.forward(&t[0], Some(&t[1]), &mut Ctx::eval(&mut Rng::seed(0))), &[Tensor::randn(&[2, 3, 5], &mut rng), c]);
        let g = Grn::new(4, 4, None, false, 0.0, elu, &mut rng);
        check_gradients("GRN (identity skip)", |t| g.forward(&t[0], None, &mut Ctx::eval(&mut Rng::seed(0))), &[Tensor::randn(&[2, 4], &mut rng)]);
        let g = Grn::new(4, 4, Some(1), false, 0.0, elu, &mut rng);
        check_gradients("GRN (one output, no norm)", |t| g.forward(&t[0], None, &mut Ctx::eval(&mut Rng::seed(0))), &[Tensor::randn(&[2, 3, 4], &mut rng)]);
    }

    #[test]
    fn grad_variable_selection() {
        let mut rng = Rng::seed(3);
        let v = VariableSelection::new(4, 3, 0.0, elu, &mut rng);
        let (x, c) = (Tensor::randn(&[2, 5, 3, 4], &mut rng), Tensor::randn(&[2, 4], &mut rng));
        check_gradients("VSN (temporal, context)", |t| v.forward(&t[0], Some(&t[1]), &mut Ctx::eval(&mut Rng::seed(0))).0, &[x, c]);
        check_gradients("VSN (static)", |t| v.forward(&t[0], None, &mut Ctx::eval(&mut Rng::seed(0))).0, &[Tensor::randn(&[2, 3, 4], &mut rng)]);
        // The weights are a softmax over the variables.
        let (_, w) = v.forward(&Tensor::randn(&[2, 5, 3, 4], &mut rng), None, &mut Ctx::eval(&mut Rng::seed(0)));
        assert_eq!(w.shape(), &[2, 5, 3]);
        for row in w.to_vec().chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn interpretable_attention_is_causal_and_grad_checked() {
        let mut rng = Rng::seed(4);
        let a = InterpretableAttention::new(6, 3, 0.0, 0.0, &mut rng);
        let x = Tensor::randn(&[2, 5, 6], &mut rng);
        check_gradients("InterpretableAttention", |t| a.forward(&t[0], &mut Ctx::eval(&mut Rng::seed(0))).0, &[x.clone()]);
        // Changing the last step leaves every earlier output as it was.
        let (out, prob) = a.forward(&x, &mut Ctx::eval(&mut rng));
        let x0 = x.narrow(0, 0, 1);
        let mut moved = x0.to_vec();
        moved[4 * 6..].iter_mut().for_each(|v| *v += 1.0);
        let (o1, _) = a.forward(&x0, &mut Ctx::eval(&mut rng));
        let (o2, _) = a.forward(&Tensor::from_vec(moved, &[1, 5, 6]), &mut Ctx::eval(&mut rng));
        let (o1, o2) = (o1.to_vec(), o2.to_vec());
        assert!(o1[..4 * 6].iter().zip(&o2[..4 * 6]).all(|(a, b)| (a - b).abs() < 1e-6));
        assert!(o1[4 * 6..].iter().zip(&o2[4 * 6..]).any(|(a, b)| (a - b).abs() > 1e-6));
        assert_eq!((out.shape(), prob.shape()), (&[2, 5, 6][..], &[2, 3, 5, 5][..]));
    }
}

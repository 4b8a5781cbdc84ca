//! What every layer and model shares: its trainable tensors, reachable by stable dotted names.
//!
//! Layers own their parameter tensors as plain fields and implement [`Module::visit`]; a model
//! visits its children in a fixed order, so names (`blocks.0.layers.1.weight`) and their order are
//! the same on every run. Optimizers, checkpoints and save/load all work from [`named_params`].

use crate::rng::Rng;
use crate::tensor::Tensor;

/// Joins a prefix and a name with a dot (no leading dot at the top level).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Something that owns trainable tensors.
pub trait Module {
    /// Calls `f` with the full dotted name and the tensor of every parameter, in a fixed order.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor));

    /// Like `visit`, for state that is saved but not trained (BatchNorm's running statistics).
    fn visit_buffers(&self, _prefix: &str, _f: &mut dyn FnMut(String, &Tensor)) {}
}

impl<M: Module> Module for Vec<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&join(prefix, &i.to_string()), f);
        }
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_buffers(&join(prefix, &i.to_string()), f);
        }
    }
}

impl<M: Module> Module for Option<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if let Some(m) = self {
            m.visit(prefix, f);
        }
    }
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        (**self).visit(prefix, f)
    }
}

/// A bare parameter tensor is a module with one entry under its own prefix.
impl Module for Tensor {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(prefix.to_string(), self)
    }
}

/// Every buffer (saved, untrained state) of `m` with its dotted name.
pub fn named_buffers(m: &dyn Module) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    m.visit_buffers("", &mut |name, t| out.push((name, t.clone())));
    out
}

/// Every parameter of `m` with its dotted name, in visiting order.
pub fn named_params(m: &dyn Module) -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    m.visit("", &mut |name, t| out.push((name, t.clone())));
    out
}

/// Total number of trainable values.
pub fn param_count(m: &dyn Module) -> usize {
    named_params(m).iter().map(|(_, t)| t.numel()).sum()
}

/// What a forward pass needs besides its inputs: train/eval mode, the random stream (dropout),
/// and, when the caller asks, somewhere to leave the tensors that explain a forecast (TFT's
/// variable selection and attention weights).
pub struct Ctx<'a> {
    pub train: bool,
    pub rng: &'a mut Rng,
    pub records: Option<Vec<(&'static str, Tensor)>>,
}

impl<'a> Ctx<'a> {
    pub fn new(train: bool, rng: &'a mut Rng) -> Self {
        Ctx { train, rng, records: None }
    }
    pub fn train(rng: &'a mut Rng) -> Self {
        Ctx::new(true, rng)
    }
    pub fn eval(rng: &'a mut Rng) -> Self {
        Ctx::new(false, rng)
    }
    /// This context keeps what the network [`Ctx::record`]s.
    pub fn recording(mut self) -> Self {
        self.records = Some(Vec::new());
        self
    }
    /// Keeps `t` (batch first) under `name` when recording; free otherwise.
    pub fn record(&mut self, name: &'static str, t: &Tensor) {
        if let Some(r) = &mut self.records {
            r.push((name, t.clone()));
        }
    }
}

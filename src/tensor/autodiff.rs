//! The backward pass: sort the graph once, walk it in reverse, let each op push its gradient back.

use std::collections::HashMap;

use super::Tensor;

/// Gradients from one backward pass, keyed by tensor id. Holds the leaves' gradients
/// (parameters); intermediate gradients are freed as soon as they have been pushed back.
#[derive(Default)]
pub struct Gradients {
    by_id: HashMap<usize, Vec<f32>>,
}

impl Gradients {
    /// The gradient of `t` (a tensor that required gradients), if any reached it.
    pub fn get(&self, t: &Tensor) -> Option<&Vec<f32>> {
        self.by_id.get(&t.id())
    }

    /// Mutable access to the gradient of `t` (for clipping).
    pub fn get_mut(&mut self, t: &Tensor) -> Option<&mut Vec<f32>> {
        self.by_id.get_mut(&t.id())
    }

    /// Takes the gradient of `t` out of the set.
    pub fn take(&mut self, t: &Tensor) -> Option<Vec<f32>> {
        self.by_id.remove(&t.id())
    }

    /// Adds `g` into the stored gradient of tensor `id`.
    fn accumulate(&mut self, id: usize, g: Vec<f32>) {
        match self.by_id.get_mut(&id) {
            Some(acc) => {
                for (a, b) in acc.iter_mut().zip(&g) {
                    *a += b;
                }
            }
            None => {
                self.by_id.insert(id, g);
            }
        }
    }
}

/// Nodes reachable from `root` through recorded ops, inputs before the ops that use them.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Iterative DFS (graphs of unrolled RNNs are deep enough to overflow a recursive one).
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(rec) = t.recorded() {
            for input in &rec.inputs {
                if input.requires_grad() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}

pub(super) fn backward(root: &Tensor) -> Gradients {
    assert_eq!(root.numel(), 1, "backward() starts from a one-element tensor (a loss), got shape {:?}", root.shape());
    let mut grads = Gradients::default();
    if !root.requires_grad() {
        return grads;
    }
    grads.accumulate(root.id(), vec![1.0]);
    for t in topological_order(root).iter().rev() {
        let Some(rec) = t.recorded() else { continue };
        let Some(grad_out) = grads.by_id.remove(&t.id()) else { continue };
        let input_grads = rec.rule.backward(&rec.inputs, t, &grad_out);
        debug_assert_eq!(input_grads.len(), rec.inputs.len(), "op {} returned the wrong number of gradients", rec.rule.name());
        for (input, g) in rec.inputs.iter().zip(input_grads) {
            if let Some(g) = g {
                if input.requires_grad() {
                    debug_assert_eq!(g.len(), input.numel(), "op {} gave a wrong-sized gradient", rec.rule.name());
                    grads.accumulate(input.id(), g);
                }
            }
        }
    }
    grads
}

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

    /// Replaces the gradient of `t` (data-parallel training puts the ranks' sum in its place).
    pub fn set(&mut self, t: &Tensor, g: Vec<f32>) {
        assert_eq!(g.len(), t.numel(), "a gradient of {} values for a tensor of {}", g.len(), t.numel());
        self.by_id.insert(t.id(), g);
    }

    /// Takes the gradient of `t` out of the set.
    pub fn take(&mut self, t: &Tensor) -> Option<Vec<f32>> {
        self.by_id.remove(&t.id())
    }

    /// Adds `g` into the stored gradient of tensor `id`, which holds `numel` values. A gradient of
    /// any other length is an op's bug: refused loudly, never truncated or stored (zipping it into
    /// the sum would silently drop the values past the shorter one).
    fn accumulate(&mut self, id: usize, numel: usize, g: Vec<f32>, op: &str) {
        assert_eq!(g.len(), numel, "op {op} gave a gradient of {} values for a tensor of {numel}", g.len());
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

/// Backward from `root` with `seed` as its gradient (1 for the gradients of `root` itself).
pub(super) fn backward(root: &Tensor, seed: f32) -> Gradients {
    assert_eq!(root.numel(), 1, "backward() starts from a one-element tensor (a loss), got shape {:?}", root.shape());
    let mut grads = Gradients::default();
    if !root.requires_grad() {
        return grads;
    }
    grads.accumulate(root.id(), 1, vec![seed], "backward");
    for t in topological_order(root).iter().rev() {
        let Some(rec) = t.recorded() else { continue };
        let Some(grad_out) = grads.by_id.remove(&t.id()) else { continue };
        let input_grads = rec.rule.backward(&rec.inputs, t, &grad_out);
        assert_eq!(input_grads.len(), rec.inputs.len(), "op {} returned the wrong number of gradients", rec.rule.name());
        for (input, g) in rec.inputs.iter().zip(input_grads) {
            if let Some(g) = g {
                if input.requires_grad() {
                    grads.accumulate(input.id(), input.numel(), g, rec.rule.name());
                }
            }
        }
    }
    grads
}

#[cfg(test)]
mod tests {
    use crate::tensor::{Backward, Tensor};

    /// The identity with a broken backward rule that drops the last value of its gradient.
    struct ShortGradient;
    impl Backward for ShortGradient {
        fn backward(&self, _: &[Tensor], _: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
            vec![Some(g[..g.len() - 1].to_vec())]
        }
        fn name(&self) -> &'static str {
            "short_gradient"
        }
    }

    fn through_short(x: &Tensor) -> Tensor {
        Tensor::from_op(x.data().to_vec(), x.shape(), &[x], ShortGradient)
    }

    #[test]
    #[should_panic(expected = "op short_gradient gave a gradient of 2 values for a tensor of 3")]
    fn a_wrong_length_gradient_is_refused_not_stored() {
        let x = Tensor::param(vec![1.0, 2.0, 3.0], &[3]);
        through_short(&x).sum_all().backward();
    }

    #[test]
    #[should_panic(expected = "op short_gradient gave a gradient of 2 values for a tensor of 3")]
    fn a_wrong_length_gradient_is_refused_not_truncated_into_a_sum() {
        // x reaches the loss twice: the right gradient arrives first, the short one is summed onto it.
        let x = Tensor::param(vec![1.0, 2.0, 3.0], &[3]);
        x.add(&through_short(&x)).sum_all().backward();
    }
}

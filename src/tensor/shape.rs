//! Shape arithmetic shared by the ops.

/// Number of elements of a shape (1 for a 0-d tensor).
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides, in elements.
pub fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// NumPy broadcasting of two shapes, or `None` when they do not broadcast.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank { a[i + a.len() - rank] } else { 1 };
        let db = if i + b.len() >= rank { b[i + b.len() - rank] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// A possibly negative axis as an index into a shape of `rank` dims.
pub fn axis_index(axis: isize, rank: usize) -> usize {
    let r = rank as isize;
    let a = if axis < 0 { axis + r } else { axis };
    assert!(a >= 0 && a < r.max(1), "axis {axis} out of range for rank {rank}");
    a as usize
}

/// Sums `grad` (of shape `from`) down to shape `to`, undoing a broadcast of `to` up to `from`.
pub fn sum_to_shape(grad: &[f32], from: &[usize], to: &[usize]) -> Vec<f32> {
    if from == to {
        return grad.to_vec();
    }
    let rank = from.len();
    // `to` aligned right against `from`, padded with leading 1s.
    let to_full: Vec<usize> = (0..rank)
        .map(|i| if i + to.len() >= rank { to[i + to.len() - rank] } else { 1 })
        .collect();
    let mut out = vec![0.0; numel(to)];
    let out_strides = strides_of(&to_full);
    // Fast path: `to` is a suffix of `from` (bias-like broadcast): fold rows.
    let suffix = numel(&to_full);
    if to_full.iter().zip(from).skip_while(|(t, _)| **t == 1).all(|(t, f)| t == f)
        && numel(from) % suffix.max(1) == 0
    {
        for chunk in grad.chunks(suffix.max(1)) {
            for (o, g) in out.iter_mut().zip(chunk) {
                *o += g;
            }
        }
        return out;
    }
    let mut index = vec![0usize; rank];
    for &g in grad {
        let mut o = 0;
        for d in 0..rank {
            if to_full[d] != 1 {
                o += index[d] * out_strides[d];
            }
        }
        out[o] += g;
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < from[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_rules() {
        assert_eq!(broadcast_shapes(&[2, 3], &[3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shapes(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[2, 3], &[2]), None);
        assert_eq!(broadcast_shapes(&[], &[5]), Some(vec![5]));
    }

    #[test]
    fn sum_to_shape_undoes_broadcast() {
        let g: Vec<f32> = (0..6).map(|x| x as f32).collect();
        assert_eq!(sum_to_shape(&g, &[2, 3], &[3]), vec![3.0, 5.0, 7.0]);
        assert_eq!(sum_to_shape(&g, &[2, 3], &[2, 1]), vec![3.0, 12.0]);
        assert_eq!(sum_to_shape(&g, &[2, 3], &[]), vec![15.0]);
    }
}

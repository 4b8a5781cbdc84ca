//! Matrix products: `matmul` (2-d and batched) and `linear` (x·Wᵀ + b, PyTorch's layout).
//! Backward passes use transposed *views* into the gemm kernel, never transposed copies.

use rayon::prelude::*;

use crate::kernels::gemm::{matmul_into, matmul_into_with, MatRef, SKINNY_ROWS};
use crate::kernels::half::{linear_rows, HalfKind};
use crate::tensor::precision::{autocast, round_grads, round_in_place, rounded};
use crate::tensor::shape::{broadcast_shapes, numel, strides_of};
use crate::tensor::{Backward, Tensor};

/// Runs `batch` independent products, in parallel when there are several and each is small.
fn batched(batch: usize, m: usize, n: usize, out: &mut [f32], f: impl Fn(usize, &mut [f32], bool) + Sync) {
    if batch > 1 && m * n > 0 && crate::kernels::inline::threads() > 1 {
        // Tiny matrices (attention over a few patches) go to threads in groups, not one by one.
        let group = ((1 << 12) / (m * n)).max(1);
        out.par_chunks_mut(m * n).with_min_len(group).enumerate().for_each(|(i, c)| f(i, c, false));
    } else {
        for (i, c) in out.chunks_mut(m * n.max(1)).enumerate().take(batch) {
            f(i, c, true);
        }
    }
}

/// For each of the `numel(to)` products of a broadcast batch, the batch entry of an operand with
/// batch dims `from` that it reads (NumPy broadcasting: a dim of 1, or a missing one, repeats).
fn broadcast_index(from: &[usize], to: &[usize]) -> Vec<usize> {
    let rank = to.len();
    let full: Vec<usize> = (0..rank).map(|i| if i + from.len() >= rank { from[i + from.len() - rank] } else { 1 }).collect();
    let strides = strides_of(&full);
    let mut index = vec![0usize; rank];
    (0..numel(to))
        .map(|_| {
            let at = (0..rank).filter(|&d| full[d] != 1).map(|d| index[d] * strides[d]).sum();
            for d in (0..rank).rev() {
                index[d] += 1;
                if index[d] < to[d] {
                    break;
                }
                index[d] = 0;
            }
            at
        })
        .collect()
}

/// How a batched matmul lines its operands up: `[batch.., m, k] · [k, n]` (the weight shared
/// across the batch, folded into one product), or `[a_batch.., m, k] · [b_batch.., k, n]` with
/// the batch dims broadcast, product `i` reading `a_index[i]` and `b_index[i]`.
struct MatmulBackward {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    /// `None` when the rhs is 2-d.
    index: Option<(Vec<usize>, Vec<usize>)>,
    /// Mixed precision's 16-bit type (`tensor::precision`), None in f32.
    kind: Option<HalfKind>,
}

/// The gradient of one operand of a broadcast batched product: operand entry `j` (of `count`,
/// each `rows × cols`) sums `product(i, j)` over the products `i` that read it.
fn gather_grad(index: &[usize], count: usize, rows: usize, cols: usize, product: impl Fn(usize, &mut [f32], bool, bool) + Sync) -> Vec<f32> {
    let mut grad = vec![0.0; count * rows * cols];
    if index.len() == count {
        // Not broadcast (every product reads its own entry): no lists to build.
        batched(count, rows, cols, &mut grad, |j, c, threads| product(j, c, false, threads));
        return grad;
    }
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &j) in index.iter().enumerate() {
        readers[j].push(i);
    }
    batched(count, rows, cols, &mut grad, |j, c, threads| {
        for (t, &i) in readers[j].iter().enumerate() {
            product(i, c, t > 0, threads);
        }
    });
    grad
}

impl Backward for MatmulBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        round_grads(self.kind, self.grads(inputs, &rounded(self.kind, g)))
    }
    fn name(&self) -> &'static str {
        "matmul"
    }
}

impl MatmulBackward {
    fn grads(&self, inputs: &[Tensor], g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let (batch, m, k, n) = (self.batch, self.m, self.k, self.n);
        let (ad, bd) = (a.data(), b.data());
        let (ad, bd) = (rounded(self.kind, &ad), rounded(self.kind, &bd));
        let Some((a_index, b_index)) = &self.index else {
            // Fold the batch into rows: A is (batch·m) × k.
            let rows = batch * m;
            let ga = a.requires_grad().then(|| {
                let mut ga = vec![0.0; rows * k];
                matmul_into(MatRef::new(g, rows, n), MatRef::new(&bd, k, n).t(), &mut ga, false);
                ga
            });
            let gb = b.requires_grad().then(|| {
                let mut gb = vec![0.0; k * n];
                matmul_into(MatRef::new(&ad, rows, k).t(), MatRef::new(g, rows, n), &mut gb, false);
                gb
            });
            return vec![ga, gb];
        };
        // dA_j = Σ_i dC_i · B_iᵀ and dB_j = Σ_i A_iᵀ · dC_i over the products i reading entry j.
        let ga = a.requires_grad().then(|| {
            gather_grad(a_index, numel(&a.shape()[..a.rank() - 2]), m, k, |i, c, acc, threads| {
                let gi = MatRef::new(&g[i * m * n..], m, n);
                let bi = MatRef::new(&bd[b_index[i] * k * n..], k, n).t();
                matmul_into_with(gi, bi, c, acc, threads);
            })
        });
        let gb = b.requires_grad().then(|| {
            gather_grad(b_index, numel(&b.shape()[..b.rank() - 2]), k, n, |i, c, acc, threads| {
                let ai = MatRef::new(&ad[a_index[i] * m * k..], m, k).t();
                let gi = MatRef::new(&g[i * m * n..], m, n);
                matmul_into_with(ai, gi, c, acc, threads);
            })
        });
        vec![ga, gb]
    }
}

struct LinearBackward {
    rows: usize,
    fan_in: usize,
    fan_out: usize,
    kind: Option<HalfKind>,
}

impl Backward for LinearBackward {
    fn backward(&self, inputs: &[Tensor], _out: &Tensor, g: &[f32]) -> Vec<Option<Vec<f32>>> {
        round_grads(self.kind, self.grads(inputs, &rounded(self.kind, g)))
    }
    fn name(&self) -> &'static str {
        "linear"
    }
}

impl LinearBackward {
    fn grads(&self, inputs: &[Tensor], g: &[f32]) -> Vec<Option<Vec<f32>>> {
        let (x, w) = (&inputs[0], &inputs[1]);
        let (rows, fi, fo) = (self.rows, self.fan_in, self.fan_out);
        let gx = x.requires_grad().then(|| {
            // dX = dY · W
            let mut gx = vec![0.0; rows * fi];
            matmul_into(MatRef::new(g, rows, fo), MatRef::new(&rounded(self.kind, &w.data()), fo, fi), &mut gx, false);
            gx
        });
        let gw = w.requires_grad().then(|| {
            // dW = dYᵀ · X
            let mut gw = vec![0.0; fo * fi];
            matmul_into(MatRef::new(g, rows, fo).t(), MatRef::new(&rounded(self.kind, &x.data()), rows, fi), &mut gw, false);
            gw
        });
        let mut grads = vec![gx, gw];
        if let Some(b) = inputs.get(2) {
            grads.push(b.requires_grad().then(|| {
                let mut gb = vec![0.0; fo];
                for row in g.chunks(fo) {
                    gb.iter_mut().zip(row).for_each(|(a, v)| *a += v);
                }
                gb
            }));
        }
        grads
    }
}

/// Whether `gemm` runs `[rows, fan_in] · Wᵀ` (W `[fan_out, fan_in]`) through its packing
/// kernel. Its other paths pack nothing, and some (a dot-product kernel for at most 16×16
/// outputs, matrix-vector ones for one output column) read W's rows as they are: their
/// results would change in the last bits with W's layout. Fewer than [`SKINNY_ROWS`] rows take
/// our own dot products, which want W as it is.
fn takes_packed_gemm(rows: usize, fan_in: usize, fan_out: usize) -> bool {
    rows > SKINNY_ROWS && fan_in > 2 && fan_out > 1 && rows * fan_out > 16 * 16
}

impl Tensor {
    /// Matrix product over the last two axes: `[.., m, k] · [.., k, n] → [.., m, n]`, the batch
    /// dims broadcast as NumPy's (`[4, 1, N, N] · [B, 1, 1, N, L] → [B, 4, 1, N, L]`, or a 2-d
    /// lhs against a batch). A 2-d rhs (a weight shared across the batch) is one product.
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        let (a, b) = (self, rhs);
        assert!(a.rank() >= 2 && b.rank() >= 2, "matmul needs rank >= 2, got {:?} · {:?}", a.shape(), b.shape());
        let (m, k) = (a.dim(-2), a.dim(-1));
        let (k2, n) = (b.dim(-2), b.dim(-1));
        assert_eq!(k, k2, "matmul inner dimensions differ: {:?} · {:?}", a.shape(), b.shape());
        let (a_batch, b_batch) = (&a.shape()[..a.rank() - 2], &b.shape()[..b.rank() - 2]);
        let batch_shape = broadcast_shapes(a_batch, b_batch)
            .unwrap_or_else(|| panic!("matmul batch dimensions do not broadcast: {:?} · {:?}", a.shape(), b.shape()));
        let batch = numel(&batch_shape);
        let index = (b.rank() > 2).then(|| (broadcast_index(a_batch, &batch_shape), broadcast_index(b_batch, &batch_shape)));
        let mut out = vec![0.0f32; batch * m * n];
        let kind = autocast();
        {
            let (ad, bd) = (a.data(), b.data());
            let (ad, bd) = (rounded(kind, &ad), rounded(kind, &bd));
            match &index {
                None => matmul_into(MatRef::new(&ad, batch * m, k), MatRef::new(&bd, k, n), &mut out, false),
                Some((ai, bi)) => batched(batch, m, n, &mut out, |i, c, threads| {
                    matmul_into_with(MatRef::new(&ad[ai[i] * m * k..], m, k), MatRef::new(&bd[bi[i] * k * n..], k, n), c, false, threads);
                }),
            }
        }
        round_in_place(kind, &mut out);
        let mut shape = batch_shape;
        shape.extend([m, n]);
        Tensor::from_op(out, &shape, &[a, b], MatmulBackward { batch, m, k, n, index, kind })
    }

    /// `self · weightᵀ + bias` over the last axis, with `weight` shaped `[out, in]` as PyTorch's
    /// `nn.Linear` stores it.
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Tensor {
        let fan_in = self.dim(-1);
        assert_eq!(weight.rank(), 2, "linear weight must be [out, in], got {:?}", weight.shape());
        let fan_out = weight.shape()[0];
        assert_eq!(weight.shape()[1], fan_in, "linear: input has {fan_in} features, weight expects {}", weight.shape()[1]);
        let rows = self.numel() / fan_in.max(1);
        let mut out = vec![0.0f32; rows * fan_out];
        let kind = autocast();
        if let Some(b) = bias {
            assert_eq!(b.shape(), &[fan_out], "linear bias must be [{fan_out}], got {:?}", b.shape());
            let bd = b.data();
            let bd = rounded(kind, &bd);
            for row in out.chunks_mut(fan_out) {
                row.copy_from_slice(&bd);
            }
        }
        let xd = self.data();
        // Inference (no gradients, no autocast) may read the weight's 16-bit or transposed copy.
        let inference = !crate::tensor::grad_enabled() && kind.is_none();
        match weight.half().filter(|_| rows <= SKINNY_ROWS && inference) {
            // A forecast for a few series reads 16-bit weights when the model has them.
            Some(half) => linear_rows(&xd, rows, fan_in, &half, fan_out, &mut out, bias.is_some()),
            // Many rows read the weight's inference copy, Wᵀ with contiguous rows: through
            // `gemm`'s row-major trick (it computes (x·Wᵀ)ᵀ = W·xᵀ, W being its left operand),
            // a contiguous Wᵀ is W column-major, the layout its kernel reads without packing
            // W for every product. The same multiply-adds in the same order: the same bits.
            None if inference && takes_packed_gemm(rows, fan_in, fan_out) => {
                let t = weight.transposed();
                let wt = MatRef { data: &t.values, rows: fan_in, cols: fan_out, row_stride: t.stride as isize, col_stride: 1 };
                matmul_into(MatRef::new(&xd, rows, fan_in), wt, &mut out, bias.is_some())
            }
            None => {
                let w = weight.data();
                let (x, w) = (rounded(kind, &xd), rounded(kind, &w));
                matmul_into(MatRef::new(&x, rows, fan_in), MatRef::new(&w, fan_out, fan_in).t(), &mut out, bias.is_some());
            }
        }
        drop(xd);
        round_in_place(kind, &mut out);
        let mut shape = self.shape().to_vec();
        *shape.last_mut().unwrap() = fan_out;
        let rule = LinearBackward { rows, fan_in, fan_out, kind };
        match bias {
            Some(b) => Tensor::from_op(out, &shape, &[self, weight, b], rule),
            None => Tensor::from_op(out, &shape, &[self, weight], rule),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::gemm::{matmul_into_with, MatRef};
    use crate::rng::Rng;
    use crate::tensor::gradcheck::check_gradients;
    use crate::tensor::Tensor;

    #[test]
    fn grad_matmul_2d_batched_shared() {
        let mut rng = Rng::seed(41);
        let xs = vec![Tensor::randn(&[4, 3], &mut rng), Tensor::randn(&[3, 5], &mut rng)];
        check_gradients("matmul 2d", |x| x[0].matmul(&x[1]), &xs);
        let xs = vec![Tensor::randn(&[2, 3, 4, 3], &mut rng), Tensor::randn(&[2, 3, 3, 2], &mut rng)];
        check_gradients("matmul 4d", |x| x[0].matmul(&x[1]), &xs);
        let xs = vec![Tensor::randn(&[2, 4, 3], &mut rng), Tensor::randn(&[3, 5], &mut rng)];
        check_gradients("matmul shared rhs", |x| x[0].matmul(&x[1]), &xs);
        let xs = vec![Tensor::randn(&[3, 4], &mut rng), Tensor::randn(&[5, 3], &mut rng)];
        check_gradients("matmul transposed operands", |x| x[0].transpose(0, 1).matmul(&x[1].transpose(0, 1)), &xs);
    }

    #[test]
    fn grad_matmul_broadcast_batch() {
        let mut rng = Rng::seed(46);
        for (a, b) in [
            // StemGNN's graph convolution: [4, 1, N, N] · [B, 1, 1, N, L].
            (vec![4, 1, 3, 3], vec![2, 1, 1, 3, 5]),
            // A 2-d lhs against a batch (a constant transform along an axis).
            (vec![4, 4], vec![2, 3, 4, 6]),
            // Both broadcast, and a lhs broadcast over a missing leading dim.
            (vec![2, 1, 3, 4], vec![1, 3, 4, 2]),
            (vec![3, 2, 4], vec![2, 3, 4, 2]),
        ] {
            let xs = vec![Tensor::randn(&a, &mut rng), Tensor::randn(&b, &mut rng)];
            check_gradients(&format!("matmul {a:?} · {b:?}"), |x| x[0].matmul(&x[1]), &xs);
        }
    }

    #[test]
    fn broadcast_matmul_equals_the_expanded_one() {
        let mut rng = Rng::seed(47);
        let (a, b) = (Tensor::randn(&[4, 1, 3, 3], &mut rng), Tensor::randn(&[2, 1, 1, 3, 5], &mut rng));
        let y = a.matmul(&b);
        assert_eq!(y.shape(), &[2, 4, 1, 3, 5]);
        let expanded = a.broadcast_to(&[2, 4, 1, 3, 3]).matmul(&b.broadcast_to(&[2, 4, 1, 3, 5]));
        assert_eq!(y.to_vec(), expanded.to_vec());
        let w = Tensor::randn(&[4, 4], &mut rng);
        let x = Tensor::randn(&[2, 4, 6], &mut rng);
        assert_eq!(w.matmul(&x).to_vec(), w.broadcast_to(&[2, 4, 4]).matmul(&x).to_vec());
    }

    #[test]
    #[should_panic(expected = "do not broadcast")]
    fn matmul_refuses_batches_that_do_not_broadcast() {
        Tensor::zeros(&[2, 3, 4]).matmul(&Tensor::zeros(&[3, 4, 5]));
    }

    #[test]
    fn grad_linear() {
        let mut rng = Rng::seed(42);
        let xs = vec![Tensor::randn(&[2, 3, 4], &mut rng), Tensor::randn(&[5, 4], &mut rng), Tensor::randn(&[5], &mut rng)];
        check_gradients("linear", |x| x[0].linear(&x[1], Some(&x[2])), &xs);
        check_gradients("linear no bias", |x| x[0].linear(&x[1], None), &xs[..2]);
    }

    /// Runs `f` on a pool of two threads, so the gemm kernel's threaded path is open whatever the
    /// machine (it needs more than one thread and at least PARALLEL_FLOPS multiply-adds).
    fn on_two_threads<R: Send>(f: impl FnOnce() -> R + Send) -> R {
        rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(f)
    }

    fn small_randn(shape: &[usize], rng: &mut Rng) -> Tensor {
        // Scaled down so that f32 rounding of 64-term sums stays far below the tolerance.
        Tensor::randn(shape, rng).mul_scalar(0.3).detach()
    }

    #[test]
    fn grad_matmul_and_linear_on_the_threaded_gemm() {
        // 64·64·64 = 2^18 multiply-adds in the forward and in each backward product.
        let mut rng = Rng::seed(44);
        on_two_threads(|| {
            let xs = vec![small_randn(&[64, 64], &mut rng), small_randn(&[64, 72], &mut rng)];
            check_gradients("matmul (threaded)", |x| x[0].matmul(&x[1]), &xs);
            let xs = vec![small_randn(&[1, 70, 64], &mut rng), small_randn(&[1, 64, 66], &mut rng)];
            check_gradients("batched matmul, batch 1 (threaded)", |x| x[0].matmul(&x[1]), &xs);
            let xs = vec![small_randn(&[2, 40, 64], &mut rng), small_randn(&[72, 64], &mut rng), small_randn(&[72], &mut rng)];
            check_gradients("linear (threaded)", |x| x[0].linear(&x[1], Some(&x[2])), &xs);
        });
    }

    #[test]
    fn threaded_and_serial_gemm_give_the_same_bits() {
        let mut rng = Rng::seed(45);
        for (m, k, n) in [(64, 64, 64), (96, 80, 72), (130, 65, 67)] {
            let a = Tensor::randn(&[m, k], &mut rng).to_vec();
            let b = Tensor::randn(&[k, n], &mut rng).to_vec();
            let bt = Tensor::randn(&[n, k], &mut rng).to_vec();
            let product = |threads: bool, transposed: bool| {
                let mut c = vec![0.0f32; m * n];
                let rhs = if transposed { MatRef::new(&bt, n, k).t() } else { MatRef::new(&b, k, n) };
                on_two_threads(|| matmul_into_with(MatRef::new(&a, m, k), rhs, &mut c, false, threads));
                c.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
            };
            for transposed in [false, true] {
                assert!(product(true, transposed) == product(false, transposed), "{m}x{k}x{n} (rhs transposed: {transposed}): threaded and serial products differ");
            }
        }
    }

    #[test]
    fn inference_linear_gives_the_training_bits_and_follows_weight_writes() {
        let mut rng = Rng::seed(48);
        // MLP's and NHITS' layers for a batch of 32 series, an output layer of 18, shapes at the
        // edges of `takes_packed_gemm`, and strides padded or not (1024 and 512 rows).
        for (rows, fan_in, fan_out) in [(32, 36, 1024), (32, 1024, 1024), (32, 1024, 18), (32, 512, 512), (70, 48, 20), (5, 20, 16), (17, 16, 16), (40, 64, 1), (9, 2, 64), (3, 64, 64)] {
            let x = Tensor::randn(&[rows, fan_in], &mut rng);
            let w = Tensor::param(Tensor::randn(&[fan_out, fan_in], &mut rng).to_vec(), &[fan_out, fan_in]);
            let b = Tensor::param(Tensor::randn(&[fan_out], &mut rng).to_vec(), &[fan_out]);
            let on_threads = |f: &(dyn Fn() -> Vec<f32> + Sync)| on_two_threads(|| f().iter().map(|v| v.to_bits()).collect::<Vec<u32>>());
            let training = on_threads(&|| x.linear(&w, Some(&b)).to_vec());
            let inference = || on_threads(&|| crate::tensor::no_grad(|| x.linear(&w, Some(&b)).to_vec()));
            assert!(inference() == training, "{rows}x{fan_in}x{fan_out}: inference and training products differ");
            // A write (an optimizer step, a load) drops the copy: the next product sees the new weight.
            w.data_mut().iter_mut().for_each(|v| *v = -*v);
            let flipped = on_threads(&|| x.linear(&w, Some(&b)).to_vec());
            assert!(inference() == flipped, "{rows}x{fan_in}x{fan_out}: a stale copy after a write");
            // Also through another handle on the same values.
            w.detach().data_mut().iter_mut().for_each(|v| *v *= 2.0);
            assert!(inference() == on_threads(&|| x.linear(&w, Some(&b)).to_vec()), "{rows}x{fan_in}x{fan_out}: a stale copy after a write through a detached handle");
        }
    }

    #[test]
    fn linear_equals_matmul_of_transpose() {
        let mut rng = Rng::seed(43);
        let x = Tensor::randn(&[6, 4], &mut rng);
        let w = Tensor::randn(&[3, 4], &mut rng);
        let a = x.linear(&w, None).to_vec();
        let b = x.matmul(&w.transpose(0, 1)).to_vec();
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() < 1e-5);
        }
    }
}

//! Matrix multiply through the `gemm` crate. Strides let callers pass transposed operands without
//! copying them (the backward pass of every matmul needs Aᵀ or Bᵀ).

use std::sync::atomic::{AtomicU64, Ordering};

use super::simd::F32Vector;

/// A row-major or strided view of an `rows × cols` matrix inside a slice. Any fields are accepted
/// here; [`matmul_into`] checks that every element the strides reach lies inside `data` before it
/// reads one.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: isize,
    pub col_stride: isize,
}

impl<'a> MatRef<'a> {
    /// A contiguous row-major matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, row_stride: cols as isize, col_stride: 1 }
    }
    /// The transpose, as a view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Panics, naming `operand`, unless every index `i·row_stride + j·col_stride` (`i < rows`,
    /// `j < cols`) lies in `0..data.len()`. The unsafe GEMM below trusts exactly this.
    fn check_bounds(&self, operand: &str) {
        if self.rows == 0 || self.cols == 0 {
            return;
        }
        // i128: `rows · stride` cannot overflow it for any usize rows and isize stride.
        let span = |n: usize, stride: isize| (n as i128 - 1) * stride as i128;
        let (r, c) = (span(self.rows, self.row_stride), span(self.cols, self.col_stride));
        let (lowest, highest) = (r.min(0) + c.min(0), r.max(0) + c.max(0));
        assert!(
            lowest >= 0 && highest < self.data.len() as i128,
            "matmul operand {operand}: a {}x{} view with strides ({}, {}) reaches indices {lowest}..={highest}, outside its {} values",
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
            self.data.len()
        );
    }
}

/// Floating-point operations (2·m·n·k per call) of every GEMM above [`SMALL_MACS`] since the
/// process started: the benchmarks read it to state each model's compute floor per step.
static FLOPS: AtomicU64 = AtomicU64::new(0);

/// Adds the FLOPs of products a fused op computes without calling [`matmul_into`] (attention):
/// the floor of a step then still counts them.
pub fn count_flops(flops: u64) {
    FLOPS.fetch_add(flops, Ordering::Relaxed);
}

/// The running total of GEMM FLOPs (see [`FLOPS`]).
pub fn flops_counted() -> u64 {
    FLOPS.load(Ordering::Relaxed)
}

/// At or below this many multiply-adds a plain loop beats the `gemm` crate's dispatch and packing
/// (attention over a few patches multiplies thousands of 4×8 matrices per step).
const SMALL_MACS: usize = 4096;

/// `c (+)= a · b` by plain loops, for tiny products.
fn small_matmul(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if !accumulate {
        c.fill(0.0);
    }
    let at = |i: usize, p: usize| a.data[(i as isize * a.row_stride + p as isize * a.col_stride) as usize];
    let bt = |p: usize, j: usize| b.data[(p as isize * b.row_stride + j as isize * b.col_stride) as usize];
    for i in 0..m {
        let row = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            let x = at(i, p);
            if b.col_stride == 1 {
                let start = p as isize * b.row_stride;
                row.iter_mut().zip(&b.data[start as usize..start as usize + n]).for_each(|(o, v)| *o += x * v);
            } else {
                row.iter_mut().enumerate().for_each(|(j, o)| *o += x * bt(p, j));
            }
        }
    }
}

/// Products with at most this many rows of `a` against a transposed weight (a forecast for one
/// series through `linear`) are dot products: the `gemm` crate would first pack the whole weight
/// matrix, which costs more than the product itself.
pub const SKINNY_ROWS: usize = 4;

/// `c (+)= a · b` for few rows of `a`, with `a`'s rows and `b`'s columns contiguous:
/// `c[i][j] = a_i · b_j`, dot products over `k`, four columns at a time.
/// One row splits over threads as [`super::inline::split_row`] decides (`threads`: callers already
/// running in parallel pass false).
fn skinny_matmul(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, threads: bool) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let row = |i: usize| &a.data[i * a.row_stride as usize..][..k];
    let col = |j: usize| &b.data[j * b.col_stride as usize..][..k];
    let columns = |j0: usize, out: &mut [f32], i: usize| {
        let x = row(i);
        let mut j = 0;
        while j < out.len() {
            let w = (out.len() - j).min(4);
            let cols: [&[f32]; 4] = std::array::from_fn(|q| col(j0 + j + q.min(w - 1)));
            let v = dot4(x, cols);
            for q in 0..w {
                out[j + q] = if accumulate { out[j + q] + v[q] } else { v[q] };
            }
            j += w;
        }
    };
    if m == 1 {
        super::inline::split_row(c, k, threads, |j0, out| columns(j0, out, 0));
    } else {
        for i in 0..m {
            columns(0, &mut c[i * n..(i + 1) * n], i);
        }
    }
}

/// The dot products of `x` with four columns at once. With AVX2+FMA or NEON (picked at run time)
/// eight independent vector accumulators keep the FMA units busy where one running sum would
/// wait on each add. AVX-512 CPUs take the AVX2 path: a one-row product reads each weight once,
/// so memory sets its speed, and a 32-value step would leave rows shorter than 32 (the MLP's
/// 24 inputs) to the scalar tail.
fn dot4(x: &[f32], cols: [&[f32]; 4]) -> [f32; 4] {
    // Intrinsics, not `simd::vectorized`: a plain loop here keeps one running sum per column.
    #[cfg(target_arch = "x86_64")]
    {
        if super::simd::has_avx2_fma() {
            // SAFETY: the CPU has the features the function was compiled for.
            return unsafe { dot4_avx2(x, cols) };
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if super::simd::has_neon() {
            // SAFETY: NEON is baseline on aarch64.
            return unsafe { dot4_neon(x, cols) };
        }
    }
    std::array::from_fn(|q| x.iter().zip(cols[q]).map(|(a, b)| a * b).sum())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot4_avx2(x: &[f32], cols: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::x86_64::{__m256, _mm256_loadu_ps};
    dot4_lanes::<__m256, f32>(x, cols, |p| _mm256_loadu_ps(p), |w| w)
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn dot4_neon(x: &[f32], cols: [&[f32]; 4]) -> [f32; 4] {
    use std::arch::aarch64::{float32x4_t, vld1q_f32};
    dot4_lanes::<float32x4_t, f32>(x, cols, |p| vld1q_f32(p), |w| w)
}

/// The loop of [`dot4_avx2`] and [`dot4_neon`] over weights of any type: `widen` loads
/// `V::LANES` of them as f32 lanes, `scalar` converts one (the tail past the last multiple of
/// `2·V::LANES`). Each column sums into two vector accumulators, added lane by lane at the end,
/// then the lanes in order, then the tail. Inlined into callers compiled with the features `V`
/// (and `widen`) need.
#[inline(always)]
pub(super) unsafe fn dot4_lanes<V: F32Vector, W: Copy>(x: &[f32], cols: [&[W]; 4], widen: impl Fn(*const W) -> V, scalar: impl Fn(W) -> f32) -> [f32; 4] {
    let k = x.len();
    // A real check, not a debug one: the loads below read k values from every column.
    assert!(cols.iter().all(|c| c.len() >= k), "dot4: a column is shorter than the row");
    let step = 2 * V::LANES;
    let full = k / step * step;
    let mut acc = [V::zero(); 8];
    let mut p = 0;
    while p < full {
        // SAFETY: p + step <= k, and every column holds at least k values.
        let (x0, x1) = (V::load(x.as_ptr().add(p)), V::load(x.as_ptr().add(p + V::LANES)));
        for q in 0..4 {
            let c = cols[q].as_ptr().add(p);
            acc[2 * q] = acc[2 * q].mul_add(x0, widen(c));
            acc[2 * q + 1] = acc[2 * q + 1].mul_add(x1, widen(c.add(V::LANES)));
        }
        p += step;
    }
    let mut out = [0.0f32; 4];
    for q in 0..4 {
        out[q] = acc[2 * q].add(acc[2 * q + 1]).sum() + x[full..].iter().zip(&cols[q][full..k]).map(|(a, &b)| a * scalar(b)).sum::<f32>();
    }
    out
}

/// Below this many multiply-adds, threads cost more than they save.
const PARALLEL_FLOPS: usize = 1 << 18;

/// `c = a · b` (or `c += a · b` when `accumulate`), with `c` row-major `a.rows × b.cols`.
///
/// Panics (before touching any value) if the inner dimensions differ, `c` is shorter than
/// `a.rows · b.cols`, or a view's strides reach outside its slice.
pub fn matmul_into(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool) {
    matmul_into_with(a, b, c, accumulate, true)
}

/// As [`matmul_into`], with control over threading (callers already running in parallel pass false).
pub fn matmul_into_with(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, allow_threads: bool) {
    assert_eq!(a.cols, b.rows, "matmul inner dimensions");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let out = m.checked_mul(n).expect("matmul output size overflows usize");
    assert!(c.len() >= out, "matmul output buffer too small: {} values for a {m}x{n} product", c.len());
    a.check_bounds("a");
    b.check_bounds("b");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // Saturating: a zero stride lets `k` be any size over a short slice.
    let macs = out.saturating_mul(k);
    if macs <= SMALL_MACS {
        // Not counted in FLOPS: thousands of these per step would contend on the counter, and
        // their FLOPs are a rounding error beside any model's large products.
        small_matmul(a, b, &mut c[..m * n], accumulate);
        return;
    }
    FLOPS.fetch_add(2 * macs as u64, Ordering::Relaxed);
    if m <= SKINNY_ROWS && k >= 16 && a.col_stride == 1 && b.row_stride == 1 {
        skinny_matmul(a, b, &mut c[..m * n], accumulate, allow_threads);
        return;
    }
    let threads = super::inline::threads();
    let parallelism = if allow_threads && threads > 1 && macs >= PARALLEL_FLOPS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the checks at the top keep every index the strides reach inside the slices
    // (`check_bounds` for `a` and `b`; `c` holds at least m*n elements, written row-major).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride,
            a.row_stride,
            b.data.as_ptr(),
            b.col_stride,
            b.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    /// The four columns of `w` that `dot4` gets for a row of length `k`: each starts at a
    /// different offset, so no two share an alignment.
    fn four_columns<T>(w: &[T], k: usize) -> [&[T]; 4] {
        std::array::from_fn(|q| &w[q * (k + 1) + q..][..k])
    }

    #[test]
    fn dot4_agrees_with_its_scalar_path_on_odd_lengths_and_unaligned_slices() {
        use crate::kernels::simd::{same, scalar, ODD_LENGTHS};
        for k in ODD_LENGTHS {
            for offset in 0..4 {
                // Multiples of 1/8 below 2^21: every partial sum is exact, so every summation
                // order gives the same bits, and so must every path.
                let x: Vec<f32> = (0..k + offset).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.25).collect();
                let w: Vec<f32> = (0..4 * (k + 3)).map(|i| ((i * 5 % 13) as f32 - 6.0) * 0.5).collect();
                let (x, cols) = (&x[offset..], four_columns(&w[offset..], k));
                let exact: [f32; 4] = std::array::from_fn(|q| x.iter().zip(cols[q]).map(|(a, b)| (a * b) as f64).sum::<f64>() as f32);
                let (fast, plain) = (dot4(x, cols), scalar(|| dot4(x, cols)));
                assert!((0..4).all(|q| same(fast[q], exact[q]) && same(plain[q], exact[q])), "k {k} offset {offset}: {fast:?} / {plain:?} vs {exact:?}");
                // Arbitrary values: within the rounding of some summation order.
                let x: Vec<f32> = (0..k + offset).map(|i| (i as f32 * 0.37).sin()).collect();
                let w: Vec<f32> = (0..4 * (k + 3)).map(|i| (i as f32 * 0.11).cos()).collect();
                let (x, cols) = (&x[offset..], four_columns(&w[offset..], k));
                let (fast, plain) = (dot4(x, cols), scalar(|| dot4(x, cols)));
                for q in 0..4 {
                    let want: f64 = x.iter().zip(cols[q]).map(|(a, b)| (a * b) as f64).sum();
                    let bound = k as f64 * f32::EPSILON as f64 * x.iter().zip(cols[q]).map(|(a, b)| (a * b).abs() as f64).sum::<f64>();
                    for got in [fast[q], plain[q]] {
                        assert!((got as f64 - want).abs() <= bound, "k {k} offset {offset} column {q}: {got} vs {want}");
                    }
                }
            }
        }
    }

    #[test]
    fn skinny_products_against_transposed_weights_agree() {
        for (m, k, n) in [(1, 1024, 1024), (3, 37, 70), (1, 5, 2000)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let w: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut b = vec![0.0; k * n];
            for p in 0..k {
                for j in 0..n {
                    b[p * n + j] = w[j * k + p];
                }
            }
            let want = naive(&a, &b, m, k, n);
            let mut c = vec![1.0; m * n];
            matmul_into(MatRef::new(&a, m, k), MatRef::new(&w, n, k).t(), &mut c, true);
            for (x, y) in c.iter().zip(&want) {
                assert!((x - 1.0 - y).abs() < 1e-3 * (1.0 + y.abs()), "{x} vs 1 + {y}");
            }
        }
    }

    #[test]
    fn tiny_products_take_the_plain_loop_and_agree() {
        for (m, k, n) in [(4, 8, 4), (3, 1, 5), (16, 16, 16)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
            let want = naive(&a, &b, m, k, n);
            let mut c = vec![0.5; m * n];
            matmul_into(MatRef::new(&a, m, k), MatRef::new(&b, k, n), &mut c, false);
            let mut ct = vec![1.0; n * m];
            // (a·b)ᵀ = bᵀ·aᵀ through transposed views, accumulated onto ones.
            matmul_into(MatRef::new(&b, k, n).t(), MatRef::new(&a, m, k).t(), &mut ct, true);
            for i in 0..m {
                for j in 0..n {
                    assert!((c[i * n + j] - want[i * n + j]).abs() < 1e-5);
                    assert!((ct[j * m + i] - 1.0 - want[i * n + j]).abs() < 1e-5);
                }
            }
        }
    }

    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("expected a panic");
        err.downcast_ref::<String>().cloned().or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
    }

    #[test]
    fn views_reaching_outside_their_slice_are_refused_in_release_too() {
        let data = vec![1.0f32; 64];
        let ok = MatRef::new(&data, 8, 8);
        // Too short for its shape: 8x9 needs 72 values. Refused before any kernel path is chosen.
        let msg = panic_message(|| matmul_into(MatRef::new(&data, 8, 9), MatRef::new(&data, 7, 9).t(), &mut vec![0.0; 56], false));
        assert!(msg.contains("matmul operand a") && msg.contains("outside its 64 values"), "{msg}");
        // A stride past the end, and a negative stride before the start.
        let far = MatRef { row_stride: 9, ..ok };
        let msg = panic_message(|| matmul_into(ok, far, &mut vec![0.0; 64], false));
        assert!(msg.contains("matmul operand b"), "{msg}");
        let back = MatRef { col_stride: -1, ..ok };
        let msg = panic_message(|| matmul_into(back, ok, &mut vec![0.0; 64], false));
        assert!(msg.contains("matmul operand a") && msg.contains("-7"), "{msg}");
        // An output buffer too small.
        let msg = panic_message(|| matmul_into(ok, ok, &mut vec![0.0; 63], false));
        assert!(msg.contains("output buffer too small"), "{msg}");
        // Strides that overflow isize arithmetic are refused, not wrapped.
        let huge = MatRef { row_stride: isize::MAX, ..ok };
        let msg = panic_message(|| matmul_into(huge, ok, &mut vec![0.0; 64], false));
        assert!(msg.contains("matmul operand a"), "{msg}");
        // A zero-stride broadcast view that stays inside is fine.
        let row = MatRef { row_stride: 0, ..MatRef::new(&data[..8], 8, 8) };
        let mut c = vec![0.0; 64];
        matmul_into(row, ok, &mut c, false);
        assert!(c.iter().all(|&v| v == 8.0));
    }

    #[test]
    fn matches_naive_including_transposed_views() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![0.0; m * n];
        matmul_into(MatRef::new(&a, m, k), MatRef::new(&b, k, n), &mut c, false);
        for (x, y) in c.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        // (bᵀ)ᵀ through a view of a transposed copy.
        let mut bt = vec![0.0; n * k];
        for p in 0..k {
            for j in 0..n {
                bt[j * k + p] = b[p * n + j];
            }
        }
        let mut c2 = vec![1.0; m * n];
        matmul_into(MatRef::new(&a, m, k), MatRef::new(&bt, n, k).t(), &mut c2, true);
        for (x, y) in c2.iter().zip(&want) {
            assert!((x - (y + 1.0)).abs() < 1e-5);
        }
    }
}

//! Matrix multiply through the `gemm` crate. Strides let callers pass transposed operands without
//! copying them (the backward pass of every matmul needs Aᵀ or Bᵀ).

use std::sync::atomic::{AtomicU64, Ordering};

/// A row-major or strided view of an `rows × cols` matrix inside a slice.
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
        debug_assert!(data.len() >= rows * cols);
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
}

/// Floating-point operations (2·m·n·k per call) of every GEMM above [`SMALL_MACS`] since the
/// process started: the benchmarks read it to state each model's compute floor per step.
static FLOPS: AtomicU64 = AtomicU64::new(0);

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

/// Below this many multiply-adds, threads cost more than they save.
const PARALLEL_FLOPS: usize = 1 << 18;

/// `c = a · b` (or `c += a · b` when `accumulate`), with `c` row-major `a.rows × b.cols`.
pub fn matmul_into(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool) {
    matmul_into_with(a, b, c, accumulate, true)
}

/// As [`matmul_into`], with control over threading (callers already running in parallel pass false).
pub fn matmul_into_with(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool, allow_threads: bool) {
    assert_eq!(a.cols, b.rows, "matmul inner dimensions");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(c.len() >= m * n, "matmul output buffer too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    if m * n * k <= SMALL_MACS {
        // Not counted in FLOPS: thousands of these per step would contend on the counter, and
        // their FLOPs are a rounding error beside any model's large products.
        small_matmul(a, b, &mut c[..m * n], accumulate);
        return;
    }
    FLOPS.fetch_add(2 * (m * n * k) as u64, Ordering::Relaxed);
    let threads = rayon::current_num_threads();
    let parallelism = if allow_threads && threads > 1 && m * n * k >= PARALLEL_FLOPS {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every index the strides reach inside the slices: `a` and `b`
    // describe sub-matrices of their slices by construction, `c` holds m*n elements row-major.
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

//! GEMM throughput at shapes our models run: criterion's "elements/s" here are FLOP/s.
//!
//!   cargo bench --bench gemm

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neuro_divergent::kernels::gemm::{matmul_into, MatRef};

fn gemm(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    // (m, k, n, transposed rhs): MLP input layer, hidden layer, a square reference, the output
    // layer, and a backward-style product with a transposed operand.
    for (m, k, n, t) in [(1024, 24, 1024, false), (1024, 1024, 1024, false), (512, 512, 512, false), (1024, 1024, 12, false), (1024, 1024, 1024, true)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let label = format!("{m}x{k}x{n}{}", if t { "_bT" } else { "" });
        group.bench_function(BenchmarkId::from_parameter(label), |bench| {
            bench.iter(|| {
                let rhs = if t { MatRef::new(&b, n, k).t() } else { MatRef::new(&b, k, n) };
                matmul_into(MatRef::new(&a, m, k), rhs, &mut out, false);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, gemm);
criterion_main!(benches, one_row_benches);

/// One-row products as a one-series forecast runs them (inline, the helper thread sharing their
/// columns): the MLP's hidden layer, and NHITS's nine 512×512 hidden layers, nine matrices read in
/// turn. Beside each, the time to only read the same weights, on both threads in the same chunks:
/// the memory floor no one-row kernel can beat. Throughput is weight bytes per second.
fn one_row(c: &mut Criterion) {
    use neuro_divergent::kernels::{helper, inline, simd};
    let mut group = c.benchmark_group("one_row");
    group.sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for (label, count, k) in [("mlp_hidden_1024x1024", 1usize, 1024usize), ("nhits_hidden_9x512x512", 9, 512)] {
        let weights: Vec<Vec<f32>> = (0..count).map(|m| (0..k * k).map(|i| ((i + m) % 5) as f32 * 0.1).collect()).collect();
        let x: Vec<f32> = (0..k).map(|i| (i % 7) as f32 * 0.1).collect();
        let mut out = vec![0.0f32; k];
        group.throughput(Throughput::Bytes((4 * count * k * k) as u64));
        group.bench_function(BenchmarkId::new("product", label), |bench| {
            bench.iter(|| inline::run(|| weights.iter().for_each(|w| matmul_into(MatRef::new(&x, 1, k), MatRef::new(w, k, k).t(), &mut out, false))))
        });
        group.bench_function(BenchmarkId::new("read", label), |bench| {
            bench.iter(|| {
                inline::run(|| {
                    for w in &weights {
                        let block = w.len() / 16;
                        helper::for_chunks(16, &|i| {
                            // 64 running sums, one per lane: independent vector adds, none waiting on another.
                            let sums = simd::vectorized(#[inline(always)] || {
                                let mut acc = [0.0f32; 64];
                                for chunk in w[i * block..(i + 1) * block].chunks_exact(64) {
                                    acc.iter_mut().zip(chunk).for_each(|(a, &v)| *a += v);
                                }
                                acc
                            });
                            std::hint::black_box(sums);
                        })
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group!(one_row_benches, one_row);

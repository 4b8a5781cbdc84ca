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
criterion_main!(benches);

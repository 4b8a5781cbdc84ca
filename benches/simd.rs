//! The same element-wise loop compiled for each x86-64 instruction set `kernels::simd::vectorized`
//! can pick (AVX-512, AVX2+FMA, baseline SSE2), so the AVX-512 path's gain is measured, not
//! assumed. The loops are the activations' sigmoid over a slice, in cache and out of it.
//!
//!   cargo bench --bench simd

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neuro_divergent::kernels::activation::sigmoid;

#[inline(always)]
fn sigmoid_slice(xs: &mut [f32]) {
    xs.iter_mut().for_each(|x| *x = sigmoid(*x))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn avx512(xs: &mut [f32]) {
    sigmoid_slice(xs)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(xs: &mut [f32]) {
    sigmoid_slice(xs)
}

fn simd(c: &mut Criterion) {
    let mut group = c.benchmark_group("sigmoid");
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for n in [4096usize, 1 << 20] {
        let mut xs: Vec<f32> = (0..n).map(|i| (i as f32 * 0.001).sin() * 8.0).collect();
        group.throughput(Throughput::Elements(n as u64));
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512 F (and so AVX2 and FMA).
                group.bench_function(BenchmarkId::new("avx512", n), |b| b.iter(|| unsafe { avx512(&mut xs) }));
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA.
                group.bench_function(BenchmarkId::new("avx2", n), |b| b.iter(|| unsafe { avx2(&mut xs) }));
            }
        }
        group.bench_function(BenchmarkId::new("baseline", n), |b| b.iter(|| sigmoid_slice(&mut xs)));
    }
    group.finish();
}

criterion_group!(benches, simd);
criterion_main!(benches);

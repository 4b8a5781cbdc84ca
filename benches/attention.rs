//! The attention op (`Tensor::attention`, tiled with an online softmax) against the same attention
//! composed of primitive ops (matmul, scale, softmax, dropout, matmul: what the models ran
//! before), forward + backward, at sequence lengths 64, 512 and 2048 with PatchTST's default heads
//! (16 of width 8). First a table of peak memory, each case measured in a child process of its
//! own (peak RSS above the inputs), then criterion's timings.
//!
//!   cargo bench --bench attention

use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion};
use neuro_divergent::rng::Rng;
use neuro_divergent::tensor::{AttentionSpec, Tensor};

const LENGTHS: [usize; 3] = [64, 512, 2048];
/// Batch rows: the composed attention holds several `B·H·L²` buffers, 1 GiB each at 2048 for 4.
const BATCH: usize = 4;
const HEADS: usize = 16;
const WIDTH: usize = 8;
const DROPOUT: f32 = 0.1;

fn inputs(len: usize) -> Vec<Tensor> {
    let mut rng = Rng::seed(1);
    (0..3).map(|_| {
        let t = Tensor::randn(&[BATCH, HEADS, len, WIDTH], &mut rng);
        Tensor::param(t.to_vec(), t.shape())
    })
    .collect()
}

fn fused(x: &[Tensor]) -> Tensor {
    let spec = AttentionSpec { scale: 1.0 / (WIDTH as f32).sqrt(), dropout: DROPOUT, seed: 5, ..Default::default() };
    x[0].flash_attention(&x[1], &x[2], spec)
}

fn composed(x: &[Tensor]) -> Tensor {
    let weights = x[0].matmul(&x[1].transpose(-1, -2)).mul_scalar(1.0 / (WIDTH as f32).sqrt()).softmax();
    weights.dropout(DROPOUT, true, &mut Rng::seed(5)).matmul(&x[2])
}

fn step(kind: &str, x: &[Tensor]) {
    let y = if kind == "fused" { fused(x) } else { composed(x) };
    std::hint::black_box(y.sum_all().backward());
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// In the child: one forward + backward, printing its peak RSS above what the inputs took.
fn measure(job: &str) {
    let (kind, len) = job.split_once(':').expect("kind:len");
    let x = inputs(len.parse().expect("length"));
    // Resets the peak to the current RSS (Linux): the peak then measures the step alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let base = status_kib("VmRSS:");
    step(kind, &x);
    println!("{}", status_kib("VmHWM:").saturating_sub(base));
}

fn memory_table() {
    let exe = std::env::current_exe().expect("bench binary path");
    println!("attention forward+backward, peak RSS above the inputs (B {BATCH}, heads {HEADS}, width {WIDTH}):");
    for len in LENGTHS {
        let mut row = format!("  L {len:>5}:");
        for kind in ["fused", "composed"] {
            let out = std::process::Command::new(&exe).env("ND_ATTENTION_MEMORY", format!("{kind}:{len}")).output();
            let kib = out.ok().and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok());
            match kib {
                Some(kib) => row += &format!("  {kind} {:>9.1} MiB", kib / 1024.0),
                None => row += &format!("  {kind} failed"),
            }
        }
        println!("{row}");
    }
}

fn attention(c: &mut Criterion) {
    let mut group = c.benchmark_group("attention_fwd_bwd");
    group.sample_size(10).measurement_time(Duration::from_secs(4)).warm_up_time(Duration::from_secs(1));
    for len in LENGTHS {
        let x = inputs(len);
        for kind in ["fused", "composed"] {
            group.bench_function(BenchmarkId::new(kind, len), |b| b.iter(|| step(kind, &x)));
        }
    }
    group.finish();
}

criterion_group!(benches, attention);

fn main() {
    if let Ok(job) = std::env::var("ND_ATTENTION_MEMORY") {
        measure(&job);
        return;
    }
    // A profile (`--profile-time`) wants the timed loop alone, not the children's allocations.
    if !std::env::args().any(|a| a == "--profile-time") {
        memory_table();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

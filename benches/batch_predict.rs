//! Batch inference throughput: one `predict` of 10,000 M3-like series (monthly lengths 48-144,
//! h 18, input 36, robust scaling) per model, against its GEMM floor.
//!
//!   cargo bench --bench batch_predict               # every univariate model
//!   cargo bench --bench batch_predict -- MLP NHITS  # some models
//!
//! Per model: a one-step fit (the weights' values do not change the work), one warm-up predict,
//! then the median of three. The floor is the predict's GEMM FLOPs (products above 4096
//! multiply-adds, attention included) at 220 GFLOP/s, this machine's quiet two-core rate, at
//! the rate measured at the start of the run (the best of ten 1024³ products), which a loaded
//! machine lowers, and at the rate measured again just before the model's timed predicts (a
//! machine whose load changes during the run moves both).
//!
//! A loaded machine moves wall-clock figures more than the engine does, so each model also gets
//! its predict's CPU time against the floor at the CPU-time rate of the same 1024³ products. Run
//! single-threaded (`RAYON_NUM_THREADS=1`) that ratio is the kernels' efficiency, nearly free of
//! the load; with more threads it also counts the time threads spend waiting for each other. Multivariate models are left out: with nSeries 10,000 their input layers alone would
//! hold gigabytes of weights (they are sized by the number of series).

mod common;

use std::time::Instant;

use neuro_divergent::forecast::{Control, FitOptions, FreqSpec, InputFrame, ModelSpec, NeuralForecast};
use neuro_divergent::kernels::gemm::flops_counted;
use serde_json::json;

const MODELS: [&str; 21] = [
    "MLP", "NHITS", "NBEATS", "NBEATSx", "DLinear", "NLinear", "TiDE", "DeepNPTS", "LSTM", "RNN", "GRU", "TCN", "BiTCN", "DeepAR", "PatchTST", "VanillaTransformer", "Informer", "Autoformer", "FEDformer", "TimesNet", "TFT",
];
const SERIES: usize = 10_000;
/// The GEMM rate of this machine's two cores when nothing else runs (docs/BENCHMARKS.md).
const QUIET_GFLOPS: f64 = 220.0;

/// 10,000 series shaped like M3 monthly: a level, a trend, a yearly season and noise.
fn m3_like() -> InputFrame {
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for s in 0..SERIES {
        let len = 48 + (s * 7919) % 97;
        let (level, trend, season) = (1000.0 + 9000.0 * uniform(), 20.0 * (uniform() - 0.3), 0.2 * uniform());
        for t in 0..len {
            let y = (level + trend * t as f64) * (1.0 + season * (std::f64::consts::TAU * t as f64 / 12.0).sin()) * (1.0 + 0.05 * (uniform() - 0.5));
            f.unique_id.push(format!("S{s}"));
            f.ds.push(t as f64);
            f.y.as_mut().unwrap().push(y.max(1.0));
        }
    }
    f
}

/// CPU seconds this process has used, all its threads.
#[cfg(unix)]
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a pointer to a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// Elsewhere the CPU-time column is not measured (NaN).
#[cfg(not(unix))]
fn cpu_seconds() -> f64 {
    f64::NAN
}

fn main() {
    let picked: Vec<String> = std::env::args().skip(1).filter(|a| MODELS.contains(&a.as_str())).collect();
    let models: Vec<&str> = MODELS.iter().copied().filter(|m| picked.is_empty() || picked.iter().any(|p| p == m)).collect();
    let data = m3_like();
    let rate = common::gemm_rate();
    let cpu_rate = common::gemm_rate_by(cpu_seconds);
    println!("{SERIES} series, {} rows; GEMM rate now (1024³, {} threads): {rate:.0} GFLOP/s, {cpu_rate:.0} GFLOP per CPU second\n", data.len(), rayon::current_num_threads());
    println!("| model | GFLOP per predict | predict s (median of 3) | forecasts/s | floor s at {QUIET_GFLOPS:.0} GFLOP/s | ratio | ratio to the rate at start | GFLOP/s beside | ratio to it | CPU-time ratio |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for class in models {
        let options = json!({"h": 18, "inputSize": 36, "scalerType": "robust", "maxSteps": 1, "randomSeed": 1});
        let mut nf = NeuralForecast::new(vec![ModelSpec { class: class.into(), options }], FreqSpec::Step(1.0)).expect("model");
        nf.fit(&data, None, &FitOptions::default(), &Control::default()).expect("fit");
        let flops = flops_counted();
        nf.predict(None, None, None).expect("predict");
        let gflop = (flops_counted() - flops) as f64 / 1e9;
        let beside = common::gemm_rate();
        let (mut times, mut cpu): (Vec<f64>, Vec<f64>) = (0..3)
            .map(|_| {
                let (t0, c0) = (Instant::now(), cpu_seconds());
                nf.predict(None, None, None).expect("predict");
                (t0.elapsed().as_secs_f64(), cpu_seconds() - c0)
            })
            .unzip();
        times.sort_by(f64::total_cmp);
        cpu.sort_by(f64::total_cmp);
        let (t, floor) = (times[1], gflop / QUIET_GFLOPS);
        println!(
            "| {class} | {gflop:.2} | {t:.3} | {:.0} | {floor:.3} | {:.2} | {:.2} | {beside:.0} | {:.2} | {:.2} |",
            SERIES as f64 / t,
            t / floor,
            t / (gflop / rate),
            t / (gflop / beside),
            cpu[1] / (gflop / cpu_rate)
        );
    }
}

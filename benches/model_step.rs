//! Each model's training step against its compute floor, at the reference configurations of the
//! side-by-side harness (AirPassengers; M3 monthly and, for the multivariate models, household
//! power when `../shared/data` is present).
//!
//!   cargo bench --bench model_step                 # all models, both datasets
//!   cargo bench --bench model_step -- LSTM PatchTST  # some models
//!   cargo bench --bench model_step -- TSMixer --repeat 5  # the median of 5 timings each
//!
//! Per model it fits twice, with few and with more steps, through the same `NeuralForecast::fit`
//! that JS calls, and takes the differences: seconds and GEMM FLOPs per training step, without
//! the fixed cost of building the dataset. The floor is those FLOPs at the GEMM rate this engine
//! reaches on both cores in the same run (the best of ten 1024³ products); the ratio says how far
//! the step is from pure GEMM time. One timing of a fast model is a few tens of milliseconds and moves
//! by up to 2× from run to run on these shared machines; `--repeat N` times each model N times and
//! reports the median step (and the fastest and slowest beside it). FLOPs count matrix products (convolutions and attention included) above
//! 4096 multiply-adds; the tiny ones below are a rounding error.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use neuro_divergent::forecast::{Control, FitOptions, FreqSpec, InputFrame, ModelSpec, NeuralForecast};
use neuro_divergent::kernels::gemm::flops_counted;
use serde_json::{json, Value};

const MODELS: [&str; 27] = ["MLP", "NHITS", "LSTM", "RNN", "GRU", "TCN", "BiTCN", "PatchTST", "VanillaTransformer", "Informer", "Autoformer", "FEDformer", "NBEATS", "NBEATSx", "MLPMultivariate", "TSMixer", "TSMixerx", "iTransformer", "TiDE", "DeepNPTS", "DLinear", "NLinear", "TimesNet", "DeepAR", "StemGNN", "TFT", "TimeLLM"];
/// Models that forecast all series jointly (they need `nSeries`).
const MULTIVARIATE: [&str; 5] = ["MLPMultivariate", "TSMixer", "TSMixerx", "iTransformer", "StemGNN"];

struct Dataset {
    name: &'static str,
    train: InputFrame,
    freq: FreqSpec,
    config: Value,
    steps: (usize, usize),
    /// Which models run on it: univariate ones, multivariate ones (with this nSeries), or both.
    univariate: bool,
    n_series: Option<usize>,
}

fn air_passengers() -> Dataset {
    // The last 12 of the 144 months are the test set.
    let train = common::air_passengers(144 - 12);
    let config = json!({"h": 12, "inputSize": 24, "scalerType": "standard", "windowsBatchSize": 128, "batchSize": 32, "learningRate": 1e-3});
    Dataset { name: "AirPassengers", train, freq: FreqSpec::Step(1.0), config, steps: (10, 40), univariate: true, n_series: Some(1) }
}

fn shared_dir() -> PathBuf {
    std::env::var("ND_SHARED").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")))
}

/// The 7 aligned hourly household-power series (multivariate models only), h 24 and input 96 as
/// in the harness, NeuralForecast's defaults otherwise.
fn household_power() -> Option<Dataset> {
    let data = std::fs::read_to_string(shared_dir().join("data/household_power_hourly.csv")).ok()?;
    let mut step = std::collections::HashMap::new();
    let train = common::frame(data.lines().skip(1).map(|l| {
        let c: Vec<&str> = l.split(',').collect();
        let t = step.entry(c[0].to_string()).or_insert(0.0);
        *t += 1.0;
        (c[0].to_string(), *t, c[2].parse().unwrap())
    }));
    let config = json!({"h": 24, "inputSize": 96});
    Some(Dataset { name: "household power", train, freq: FreqSpec::Step(1.0), config, steps: (10, 40), univariate: false, n_series: Some(7) })
}

fn m3_monthly() -> Option<Dataset> {
    let shared = shared_dir();
    let meta = std::fs::read_to_string(shared.join("data/m3_meta.csv")).ok()?;
    let monthly: std::collections::HashSet<&str> =
        meta.lines().skip(1).filter_map(|l| l.split(',').collect::<Vec<_>>().get(..2).and_then(|c| (c[1] == "MONTHLY").then_some(c[0]))).collect();
    let data = std::fs::read_to_string(shared.join("data/m3.csv")).ok()?;
    let train = common::frame(data.lines().skip(1).filter_map(|l| {
        let c: Vec<&str> = l.split(',').collect();
        (monthly.contains(c[0]) && c[3] == "train").then(|| (c[0].to_string(), c[1].parse().unwrap(), c[2].parse().unwrap()))
    }));
    let config = json!({"h": 18, "inputSize": 36, "scalerType": "robust", "batchSize": 32, "learningRate": 1e-3});
    Some(Dataset { name: "M3 monthly", train, freq: FreqSpec::Step(1.0), config, steps: (5, 25), univariate: true, n_series: None })
}

/// Wall seconds and GEMM FLOPs of one fit with `steps` training steps.
fn fit(ds: &Dataset, class: &str, steps: usize) -> (f64, u64) {
    let mut options = ds.config.clone();
    options["maxSteps"] = json!(steps);
    options["randomSeed"] = json!(1);
    if MULTIVARIATE.contains(&class) {
        options["nSeries"] = json!(ds.n_series.expect("a dataset for multivariate models"));
    }
    if class == "TimeLLM" {
        time_llm_options(&mut options);
    }
    let mut nf = NeuralForecast::new(vec![ModelSpec { class: class.into(), options }], ds.freq.clone()).expect("model");
    let flops = flops_counted();
    let t0 = Instant::now();
    nf.fit(&ds.train, None, &FitOptions::default(), &Control::default()).expect("fit");
    (t0.elapsed().as_secs_f64(), flops_counted() - flops)
}

/// TimeLLM runs on SmolLM2-135M when `ND_SMOLLM2` names its GGUF file, else on the tiny random
/// backbone of the tests; 4 windows per step either way (its memory check refuses 128 with SmolLM2).
fn time_llm_options(options: &mut Value) {
    options["windowsBatchSize"] = json!(4);
    match std::env::var("ND_SMOLLM2") {
        Ok(path) => {
            options["llm"] = json!(path);
            options["dLlm"] = json!(576);
        }
        Err(_) => {
            options["llm"] = json!(concat!(env!("CARGO_MANIFEST_DIR"), "/src/llm/tiny_llama.gguf"));
            options["dLlm"] = json!(32);
            options["dFf"] = json!(32);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let picked: Vec<&String> = args.iter().filter(|a| MODELS.contains(&a.as_str())).collect();
    let repeat: usize = args.iter().position(|a| a == "--repeat").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1).max(1);
    let models: Vec<&str> = MODELS.iter().copied().filter(|m| picked.is_empty() || picked.iter().any(|p| p == m)).collect();
    let rate = common::gemm_rate();
    println!("GEMM rate (1024³, {} threads): {rate:.0} GFLOP/s\n", rayon::current_num_threads());
    if repeat > 1 {
        println!("step ms: the median of {repeat} timings (fastest–slowest)\n");
    }
    println!("| dataset | model | GFLOP per step | floor ms | step ms | step / floor |");
    println!("|---|---|---|---|---|---|");
    let datasets: Vec<Dataset> = [Some(air_passengers()), m3_monthly(), household_power()].into_iter().flatten().collect();
    for ds in &datasets {
        for class in &models {
            if !(if MULTIVARIATE.contains(class) { ds.n_series.is_some() } else { ds.univariate }) {
                continue;
            }
            // TimeLLM's steps take seconds with a real backbone.
            let (s1, s2) = if *class == "TimeLLM" { (1, 3) } else { ds.steps };
            let n = (s2 - s1) as f64;
            let (mut steps, mut gflop) = (Vec::new(), 0.0);
            for _ in 0..repeat {
                let (t1, f1) = fit(ds, class, s1);
                let (t2, f2) = fit(ds, class, s2);
                steps.push((t2 - t1) / n * 1e3);
                gflop = (f2 - f1) as f64 / n / 1e9;
            }
            steps.sort_by(f64::total_cmp);
            let step_ms = steps[steps.len() / 2];
            let spread = if repeat > 1 { format!(" ({:.2}–{:.2})", steps[0], steps[steps.len() - 1]) } else { String::new() };
            let floor_ms = gflop / rate * 1e3;
            println!("| {} | {class} | {gflop:.3} | {floor_ms:.2} | {step_ms:.2}{spread} | {:.2} |", ds.name, step_ms / floor_ms);
        }
    }
}

//! One fresh forecast for one series, inside Rust: `NeuralForecast::predict` with the latest
//! `inputSize` points of AirPassengers, after a short fit, through a pool of its own as a large
//! request runs (`pool/`) and on the calling thread as a small one from JS runs (`inline/`, the
//! forecast itself). Set beside `npm run bench:latency` (the same call from JS), the difference
//! is what the binding costs.
//!
//!   cargo bench --bench predict

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use neuro_divergent::kernels::inline;
use neuro_divergent::forecast::{Control, FitOptions, FreqSpec, InputFrame, ModelSpec, NeuralForecast};
use serde_json::json;

fn predict(c: &mut Criterion) {
    let full = common::air_passengers(usize::MAX);
    let n = full.len();
    let tick = InputFrame { unique_id: full.unique_id[n - 24..].to_vec(), ds: full.ds[n - 24..].to_vec(), y: Some(full.y.as_ref().unwrap()[n - 24..].to_vec()), columns: vec![] };
    let mut group = c.benchmark_group("single_series_predict");
    group.sample_size(50).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for class in ["MLP", "NHITS", "LSTM", "PatchTST"] {
        let options = json!({"h": 12, "inputSize": 24, "maxSteps": 5, "scalerType": "standard"});
        let mut nf = NeuralForecast::new(vec![ModelSpec { class: class.into(), options }], FreqSpec::Step(1.0)).unwrap();
        nf.fit(&full, None, &FitOptions::default(), &Control::default()).unwrap();
        group.bench_function(BenchmarkId::new("pool", class), |b| b.iter(|| nf.predict(Some(&tick), None, None).unwrap()));
        group.bench_function(BenchmarkId::new("inline", class), |b| b.iter(|| inline::run(|| nf.predict(Some(&tick), None, None).unwrap())));
    }
    group.finish();
}

criterion_group!(benches, predict);
criterion_main!(benches);

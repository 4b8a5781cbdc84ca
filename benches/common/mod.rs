//! Data and rates shared by the benches (each uses some of them).
#![allow(dead_code)]

use std::time::Instant;

use neuro_divergent::forecast::InputFrame;
use neuro_divergent::kernels::gemm::{matmul_into, MatRef};

/// A long frame from `(unique_id, ds, y)` rows.
pub fn frame(rows: impl Iterator<Item = (String, f64, f64)>) -> InputFrame {
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    for (id, ds, y) in rows {
        f.unique_id.push(id);
        f.ds.push(ds);
        f.y.as_mut().unwrap().push(y);
    }
    f
}

/// The bundled AirPassengers series with its first `n` months, index steps standing in for month
/// ends (the same windows as the calendar).
pub fn air_passengers(n: usize) -> InputFrame {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/data/air_passengers.csv")).expect("bundled AirPassengers");
    frame(text.lines().skip(1).take(n).enumerate().map(|(i, l)| {
        let c: Vec<&str> = l.split(',').collect();
        (c[0].to_string(), i as f64, c[2].parse().unwrap())
    }))
}

/// GFLOP/s of a 1024³ product, the best of 10: the machines are shared, and the best run is
/// what the engine can reach (a floor from it is the lowest, so ratios to it are the least flattering).
pub fn gemm_rate() -> f64 {
    let start = Instant::now();
    gemm_rate_by(|| start.elapsed().as_secs_f64())
}

/// As [`gemm_rate`], timed by `clock` (seconds from any origin: wall time, CPU time).
pub fn gemm_rate_by(clock: impl Fn() -> f64) -> f64 {
    let n = 1024;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; n * n];
    let best = (0..10)
        .map(|_| {
            let t0 = clock();
            matmul_into(MatRef::new(&a, n, n), MatRef::new(&a, n, n), &mut c, false);
            clock() - t0
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (n * n * n) as f64 / best / 1e9
}

//! One full training step (forward, backward, AdamW) of NeuralForecast's default MLP:
//! input 24, two hidden layers of 1024, horizon 12, MAE loss; with 1024 windows per batch
//! (the model's default) and 128 (the reference configs).
//!
//!   cargo bench --bench mlp_step

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use neuro_divergent::loss::{Loss, LossContext};
use neuro_divergent::nn::{join, named_params, Linear, Module};
use neuro_divergent::optim::OptimizerKind;
use neuro_divergent::rng::Rng;
use neuro_divergent::tensor::Tensor;

struct Mlp {
    layers: Vec<Linear>,
    out: Linear,
}

impl Module for Mlp {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.layers.visit(&join(prefix, "mlp"), f);
        self.out.visit(&join(prefix, "out"), f);
    }
}

/// Forward FLOPs of one batch: 2·B·Σ(in·out) over the three linear layers.
fn forward_flops(batch: usize) -> u64 {
    (2 * batch * (24 * 1024 + 1024 * 1024 + 1024 * 12)) as u64
}

fn step(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp_train_step");
    group.sample_size(10).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    for batch in [1024usize, 128] {
        let mut rng = Rng::seed(1);
        let model = Mlp {
            layers: vec![Linear::new(24, 1024, true, &mut rng), Linear::new(1024, 1024, true, &mut rng)],
            out: Linear::new(1024, 12, true, &mut rng),
        };
        let params = named_params(&model);
        let mut opt = OptimizerKind::adamw().build();
        let x = Tensor::randn(&[batch, 24], &mut rng);
        let y = Tensor::randn(&[batch, 12], &mut rng);
        let mask = Tensor::ones(&[batch, 12]);
        // Backward costs about twice the forward: report 3× forward FLOPs per step.
        group.throughput(Throughput::Elements(3 * forward_flops(batch)));
        group.bench_function(BenchmarkId::new("windows", batch), |bench| {
            bench.iter(|| {
                let mut h = x.clone();
                for l in &model.layers {
                    h = l.forward(&h).relu();
                }
                let y_hat = model.out.forward(&h).reshape(&[batch, 12, 1]);
                let loss = Loss::Mae.compute(&y_hat, &y, &mask, &LossContext::default());
                let grads = loss.backward();
                opt.step(&params, &grads, 1e-3);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, step);
criterion_main!(benches);

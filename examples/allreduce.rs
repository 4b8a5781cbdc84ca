//! The all-reduce a data-parallel step makes, timed per buffer size through the engine's MPI
//! collective (the request to the MPI thread, the copy and MPI's sum). Run under a launcher:
//! `mpirun -n 2 target/release/examples/allreduce [sizes...]`; bench/allreduce.mjs does.
//! Rank 0 prints one JSON line per size: the median and fastest time of one all-reduce.

use std::time::Instant;

use neuro_divergent::train::Collective;

fn main() {
    let world = neuro_divergent::train::mpi::world().expect("MPI starts");
    let sizes: Vec<usize> = std::env::args().skip(1).map(|s| s.parse::<f64>().expect("a size") as usize).collect();
    let sizes = if sizes.is_empty() { vec![10_000, 100_000, 1_000_000, 10_000_000] } else { sizes };
    for n in sizes {
        let reps = (2e8 / n as f64).clamp(5.0, 200.0) as usize;
        let mut buf = vec![1.0f32; n];
        // Warm-up: the first calls set up MPI's connections and buffers.
        for _ in 0..3 {
            buf = world.all_reduce_sum_f32(buf).unwrap();
        }
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let t = Instant::now();
            buf = world.all_reduce_sum_f32(buf).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            buf.iter_mut().for_each(|v| *v = 1.0);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if world.rank() == 0 {
            println!("{{\"ranks\":{},\"floats\":{n},\"reps\":{reps},\"median_ms\":{:.4},\"min_ms\":{:.4}}}", world.size(), times[reps / 2], times[0]);
        }
    }
    neuro_divergent::train::mpi::finalize(std::time::Duration::from_secs(30));
}

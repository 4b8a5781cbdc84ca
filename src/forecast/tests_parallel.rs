//! Data-parallel fits over an in-process world of threads (the MPI world is tested from
//! JavaScript under mpirun, `__test__/mpi.test.ts`).

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::nn::named_params;
use crate::train::collective::threads::Threads;

/// Four series: AirPassengers scaled by 1, 1.25, 1.5 and 1.75, ids "s0".."s3"; `which` picks some.
fn frame(which: &[usize]) -> InputFrame {
    let text = include_str!("../../data/air_passengers.csv");
    let rows: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            let d: Vec<i64> = cols[1].split('-').map(|p| p.parse().unwrap()).collect();
            ((crate::data::freq::days_from_civil(d[0], d[1], d[2]) * 86_400_000) as f64, cols[2].parse().unwrap())
        })
        .collect();
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    for &k in which {
        for (ds, y) in &rows {
            f.unique_id.push(format!("s{k}"));
            f.ds.push(*ds);
            f.y.as_mut().unwrap().push(y * (1.0 + 0.25 * k as f64));
        }
    }
    f
}

fn mlp() -> NeuralForecast {
    let options = json!({"h": 12, "inputSize": 24, "hiddenSize": 32, "maxSteps": 25, "valCheckSteps": 5, "earlyStopPatienceSteps": 3,
        "scalerType": "standard", "batchSize": 3, "windowsBatchSize": 40, "learningRate": 1e-3});
    NeuralForecast::new(vec![ModelSpec { class: "MLP".into(), options }], FreqSpec::Alias("ME".into())).unwrap()
}

fn params(nf: &NeuralForecast) -> Vec<f32> {
    named_params(nf.models[0].as_ref()).into_iter().flat_map(|(_, t)| t.to_vec()).collect()
}

/// One fit per rank of a world of threads, rank r fitting `frames[r]`; each rank's model or error.
fn fit_ranks(frames: &[InputFrame], sharded: bool, model: fn() -> NeuralForecast) -> Vec<crate::Result<NeuralForecast>> {
    fit_world(frames, sharded, model, |_| (FitOptions { val_size: 12, ..Default::default() }, Control::default()))
}

/// [`fit_ranks`] with rank r's options and control `opts(r)` (the world added to them).
fn fit_world(frames: &[InputFrame], sharded: bool, model: fn() -> NeuralForecast, opts: impl Fn(usize) -> (FitOptions, Control) + Sync) -> Vec<crate::Result<NeuralForecast>> {
    let opts = &opts;
    std::thread::scope(|s| {
        let handles: Vec<_> = Threads::world(frames.len())
            .into_iter()
            .zip(frames)
            .enumerate()
            .map(|(r, (rank, df))| {
                s.spawn(move || {
                    let mut nf = model();
                    let (fit_opts, ctl) = opts(r);
                    let world = World { collective: Arc::new(rank), sharded };
                    nf.fit(df, None, &FitOptions { world: Some(world), ..fit_opts }, &ctl).map(|_| nf)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn ranks_given_the_same_frame_train_the_one_process_model() {
    let df = frame(&[0, 1, 2, 3]);
    let mut one = mlp();
    one.fit(&df, None, &FitOptions { val_size: 12, ..Default::default() }, &Control::default()).unwrap();
    let expected = params(&one);
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let ranks: Vec<_> = fit_ranks(&[df.clone(), df.clone()], false, mlp).into_iter().map(|r| r.unwrap()).collect();
    let got = params(&ranks[0]);
    assert_eq!(got, params(&ranks[1]), "every rank holds the same parameters");
    let worst = got.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst <= 1e-5 * scale, "largest difference {worst} from the one-process fit (largest parameter {scale})");
    let forecast = ranks[0].predict(None, None, None).unwrap();
    assert_eq!(forecast, ranks[1].predict(None, None, None).unwrap());
    let (a, b) = (forecast.column("MLP").unwrap(), one.predict(None, None, None).unwrap().column("MLP").unwrap().to_vec());
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-4 * y.abs()), "forecasts {a:?} vs {b:?}");
}

#[test]
fn sharded_ranks_train_one_model_on_their_own_series_and_forecast_them() {
    let ranks: Vec<_> = fit_ranks(&[frame(&[0, 1]), frame(&[2, 3])], true, mlp).into_iter().map(|r| r.unwrap()).collect();
    let initial: Vec<f32> = named_params(mlp().configs[0].build().as_ref()).into_iter().flat_map(|(_, t)| t.to_vec()).collect();
    assert_eq!(params(&ranks[0]), params(&ranks[1]), "one model on every rank");
    assert_ne!(params(&ranks[0]), initial, "trained");
    for (r, ids) in [(0, ["s0", "s1"]), (1, ["s2", "s3"])] {
        let fc = ranks[r].predict(None, None, None).unwrap();
        assert_eq!(fc.unique_id.iter().filter(|id| ids.contains(&id.as_str())).count(), 24, "rank {r} forecasts its own series");
        assert_eq!(fc.len(), 24);
        // Each rank scales its own series: forecasts follow each series' level.
        let y = fc.column("MLP").unwrap();
        assert!(y.iter().all(|v| v.is_finite()));
        assert!(y[12..].iter().sum::<f64>() > y[..12].iter().sum::<f64>(), "the larger series forecasts higher: {y:?}");
    }
}

#[test]
fn what_cannot_be_split_is_refused_on_every_rank() {
    let rmse = || {
        let options = json!({"h": 12, "inputSize": 24, "maxSteps": 2, "loss": {"type": "RMSE"}});
        NeuralForecast::new(vec![ModelSpec { class: "MLP".into(), options }], FreqSpec::Alias("ME".into())).unwrap()
    };
    let df = frame(&[0]);
    for r in fit_ranks(&[df.clone(), df.clone()], false, rmse) {
        assert!(r.err().unwrap().to_string().contains("cannot split the RMSE loss"));
    }
    // A rank whose model differs stops every rank before training, naming what differs; a rank
    // whose options are refused stops the others too, instead of leaving them waiting.
    let other = || {
        let options = json!({"h": 12, "inputSize": 24, "hiddenSize": 16, "maxSteps": 2});
        NeuralForecast::new(vec![ModelSpec { class: "MLP".into(), options }], FreqSpec::Alias("ME".into())).unwrap()
    };
    let fit_both = |val_size: usize| {
        std::thread::scope(|s| {
            let handles: Vec<_> = Threads::world(2)
                .into_iter()
                .map(|rank| {
                    let df = df.clone();
                    s.spawn(move || {
                        let mut nf = if crate::train::Collective::rank(&rank) == 0 { mlp() } else { other() };
                        let world = World { collective: Arc::new(rank), sharded: false };
                        nf.fit(&df, None, &FitOptions { val_size, world: Some(world), ..Default::default() }, &Control::default()).err().map(|e| e.to_string()).unwrap_or_default()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
        })
    };
    for e in fit_both(12) {
        assert!(e.contains("the ranks disagree on the number of parameters"), "{e}");
    }
    // Rank 0's model stops early on a validation loss, so it needs a valSize; rank 1's does not.
    let e = fit_both(0);
    assert!(e[0].contains("set valSize > 0"), "{}", e[0]);
    assert!(e[1].contains("stopped at fit's checks of its options and data: 1 other rank(s) failed"), "{}", e[1]);
}

/// [`fit_ranks`] checkpointing to `path` every 10 steps and resuming from it; with `stop`, rank
/// 0 is cancelled after that step (and the other ranks stop with it).
fn checkpointed(frames: &[InputFrame], sharded: bool, model: fn() -> NeuralForecast, path: &std::path::Path, stop: Option<usize>) -> Vec<crate::Result<NeuralForecast>> {
    fit_world(frames, sharded, model, |rank| {
        let ctl = Control::default();
        let flag = ctl.cancel.clone();
        let cancel = move |e: &ProgressEvent| {
            if Some(e.step) == stop {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let on_progress: Option<Box<dyn Fn(&ProgressEvent) + Send + Sync>> = (rank == 0).then(|| Box::new(cancel) as _);
        let checkpoint = Some(CheckpointOptions { path: path.to_path_buf(), every: 10, resume: true });
        (FitOptions { val_size: 12, checkpoint, ..Default::default() }, Control { on_progress, ..ctl })
    })
}

fn errors(results: Vec<crate::Result<NeuralForecast>>) -> Vec<String> {
    results.into_iter().map(|r| r.err().map(|e| e.to_string()).unwrap_or_default()).collect()
}

fn temp_checkpoint(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("nd-ckpt-world-{}-{name}/run.ckpt", std::process::id()))
}

#[test]
fn a_data_parallel_fit_stopped_and_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one() {
    let same = frame(&[0, 1, 2, 3]);
    for (sharded, frames) in [(false, vec![same.clone(), same]), (true, vec![frame(&[0, 1]), frame(&[2, 3])])] {
        let forecasts = |results: Vec<crate::Result<NeuralForecast>>| results.into_iter().map(|r| r.unwrap().predict(None, None, None).unwrap()).collect::<Vec<_>>();
        let expected = forecasts(fit_ranks(&frames, sharded, mlp));
        assert_eq!(expected[0] == expected[1], !sharded);
        let path = temp_checkpoint(if sharded { "sharded" } else { "same" });
        // Stopped at step 15, five steps after the checkpoint of step 10, which the resumed fit redoes.
        let stopped = checkpointed(&frames, sharded, mlp, &path, Some(15));
        assert_eq!(stopped[0].as_ref().err().map(|e| e.kind), Some(crate::ErrorKind::Aborted), "sharded {sharded}: rank 0 was stopped");
        assert!(stopped[1].as_ref().err().unwrap().to_string().contains("1 other rank(s) failed or were aborted"));
        assert!(path.exists(), "rank 0 wrote the checkpoint");
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1, "one file for the whole world");
        assert_eq!(forecasts(checkpointed(&frames, sharded, mlp, &path, None)), expected, "sharded {sharded}: every rank ends as uninterrupted");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}

#[test]
fn resuming_a_data_parallel_checkpoint_otherwise_stops_every_rank_naming_what_differs() {
    let df = frame(&[0, 1]);
    let two = [df.clone(), df.clone()];
    let path = temp_checkpoint("differs");
    assert!(checkpointed(&two, false, mlp, &path, Some(15)).iter().all(|r| r.is_err()));
    let written = std::fs::read(&path).unwrap();
    let each = |errors: Vec<String>, what: &str| errors.iter().for_each(|e| assert!(e.contains(what), "{e} (expected {what})"));
    each(errors(checkpointed(&[df.clone(), df.clone(), df.clone()], false, mlp, &path, None)), "world size (2 processes in the checkpoint, 3 processes now: resume it with `mpirun -n 2`)");
    let mut alone = mlp();
    let opts = FitOptions { val_size: 12, checkpoint: Some(CheckpointOptions { path: path.clone(), every: 10, resume: true }), ..Default::default() };
    let e = alone.fit(&df, None, &opts, &Control::default()).unwrap_err().to_string();
    assert!(e.contains("world size (2 processes in the checkpoint, one process now"), "{e}");
    let faster = || {
        let mut nf = mlp();
        nf.configs = NeuralForecast::new(vec![ModelSpec { class: "MLP".into(), options: json!({"h": 12, "inputSize": 24, "hiddenSize": 32, "maxSteps": 25, "valCheckSteps": 5, "earlyStopPatienceSteps": 3, "scalerType": "standard", "batchSize": 3, "windowsBatchSize": 40, "learningRate": 2e-3}) }], FreqSpec::Alias("ME".into())).unwrap().configs;
        nf
    };
    each(errors(checkpointed(&two, false, faster, &path, None)), "MLP option 'learningRate'");
    // Named before the data, which differs too when each rank has its own series.
    each(errors(checkpointed(&[df.clone(), frame(&[2, 3])], true, mlp, &path, None)), "fit options ('sharded': false in the checkpoint, true now)");
    // Only rank 1 knows its data differs; rank 0 stops because it did.
    let e = errors(checkpointed(&[df.clone(), frame(&[0, 2])], false, mlp, &path, None));
    assert!(e[1].contains("other data (df differs)"), "{}", e[1]);
    assert!(e[0].contains("stopped at the checks of the checkpoint: 1 other rank(s) failed"), "{}", e[0]);
    // A rank that checkpoints would wait in collectives that a rank without checkpoints never calls.
    let half = fit_world(&two, false, mlp, |rank| {
        let checkpoint = (rank == 0).then(|| CheckpointOptions { path: path.clone(), every: 10, resume: true });
        (FitOptions { val_size: 12, checkpoint, ..Default::default() }, Control::default())
    });
    each(errors(half), "the ranks disagree on checkpointPath (set or not)");
    assert_eq!(std::fs::read(&path).unwrap(), written, "every refusal left the checkpoint as it was");
    assert!(checkpointed(&two, false, mlp, &path, None).into_iter().all(|r| r.is_ok()));
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn a_checkpoint_that_rank_0_cannot_write_stops_every_rank() {
    let df = frame(&[0, 1]);
    // Its folder would be a file.
    let blocker = temp_checkpoint("unwritable");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"").unwrap();
    let e = errors(checkpointed(&[df.clone(), df], false, mlp, &blocker.join("run.ckpt"), None));
    assert!(e[0].contains("checkpointPath") && e[0].contains("cannot create folder"), "{}", e[0]);
    assert!(e[1].contains("stopped at saving the checkpoint: 1 other rank(s) failed"), "{}", e[1]);
    std::fs::remove_dir_all(blocker.parent().unwrap()).unwrap();
}

//! End-to-end tests of the orchestrator on the bundled AirPassengers series.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::*;

/// AirPassengers (monthly, 1949-1960) as a frame with epoch-millisecond month-end timestamps.
fn air_passengers() -> InputFrame {
    let text = include_str!("../../data/air_passengers.csv");
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let d: Vec<i64> = cols[1].split('-').map(|p| p.parse().unwrap()).collect();
        f.unique_id.push(cols[0].to_string());
        f.ds.push((crate::data::freq::days_from_civil(d[0], d[1], d[2]) * 86_400_000) as f64);
        f.y.as_mut().unwrap().push(cols[2].parse().unwrap());
    }
    f
}

fn split(f: &InputFrame, test: usize) -> (InputFrame, Vec<f64>) {
    let n = f.len() - test;
    let train = InputFrame { unique_id: f.unique_id[..n].to_vec(), ds: f.ds[..n].to_vec(), y: Some(f.y.as_ref().unwrap()[..n].to_vec()), columns: vec![] };
    (train, f.y.as_ref().unwrap()[n..].to_vec())
}

fn mae(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

fn nf(class: &str, extra: serde_json::Value) -> NeuralForecast {
    let mut options = json!({"h": 12, "inputSize": 24, "maxSteps": 150, "scalerType": "standard", "windowsBatchSize": 128, "learningRate": 1e-3});
    for (k, v) in extra.as_object().unwrap() {
        options[k] = v.clone();
    }
    NeuralForecast::new(vec![ModelSpec { class: class.into(), options }], FreqSpec::Alias("ME".into())).unwrap()
}

#[test]
fn both_models_learn_and_beat_seasonal_naive() {
    let full = air_passengers();
    let (train, truth) = split(&full, 12);
    let y = train.y.as_ref().unwrap();
    let seasonal_naive = &y[y.len() - 12..];
    let baseline = mae(seasonal_naive, &truth);
    for class in ["MLP", "NHITS"] {
        let mut model = nf(class, json!({}));
        let losses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = losses.clone();
        let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| sink.lock().unwrap().push(e.train_loss))), ..Default::default() };
        model.fit(&train, None, &FitOptions::default(), &ctl).unwrap();
        let fc = model.predict(None, None, None).unwrap();
        assert_eq!(fc.len(), 12);
        let ours = mae(fc.column(class).unwrap(), &truth);
        assert!(ours < baseline, "{class}: MAE {ours} vs seasonal naive {baseline}");
        let l = losses.lock().unwrap().clone();
        assert!(l.last().unwrap() < &(0.5 * l[0]), "{class}: loss {} -> {}", l[0], l.last().unwrap());
        // The forecast starts one month after the last training month.
        assert_eq!(fc.ds[0], full.ds[full.len() - 12]);
    }
}

#[test]
fn save_load_round_trips_exactly_and_corruption_is_refused() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("NHITS", json!({"maxSteps": 5, "loss": {"type": "MQLoss", "level": [80]}}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let before = model.predict(None, None, None).unwrap();
    let dir = std::env::temp_dir().join(format!("nd-persist-{}", std::process::id()));
    let path = dir.join("air.nd");
    model.save(&path).unwrap();
    let again = NeuralForecast::load(&path).unwrap();
    assert_eq!(again.predict(None, None, None).unwrap(), before);
    assert_eq!(before.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["NHITS-median", "NHITS-lo-80", "NHITS-hi-80"]);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let e = NeuralForecast::load(&path).err().unwrap();
    assert_eq!(e.kind, crate::ErrorKind::Format, "{e}");
    let e = NeuralForecast::load(&dir.join("missing.nd")).err().unwrap();
    assert_eq!(e.kind, crate::ErrorKind::Io);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn same_seed_same_forecast() {
    let (train, _) = split(&air_passengers(), 12);
    let run = || {
        let mut m = nf("MLP", json!({"maxSteps": 10, "randomSeed": 7}));
        m.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
        m.predict(None, None, None).unwrap()
    };
    assert_eq!(run(), run());
}

#[test]
fn cross_validation_windows_cutoffs_and_truth() {
    let full = air_passengers();
    let mut model = nf("MLP", json!({"maxSteps": 5}));
    let opts = CvOptions { n_windows: 3, step_size: Some(12), ..Default::default() };
    let cv = model.cross_validation(&full, None, &opts, &Control::default()).unwrap();
    assert_eq!(cv.len(), 36);
    assert_eq!(cv.columns[0].0, "cutoff");
    assert_eq!(cv.columns.last().unwrap().0, "y");
    let y = cv.column("y").unwrap();
    assert_eq!(&y[24..], &full.y.as_ref().unwrap()[132..]);
    let cutoffs = cv.column("cutoff").unwrap();
    assert_eq!(cutoffs[0], full.ds[107]);
    assert_eq!(cutoffs[35], full.ds[131]);
    // With refit, window w is the forecast of a model fit on the rows up to its cutoff, and
    // each refit continues from the previous window's weights, as NeuralForecast's refit calls
    // `fit` (here from the initial weights, not those of the cross-validation above); without,
    // every window comes from the model fit before the first cutoff.
    let refit = CvOptions { refit: true, use_init_models: true, ..opts };
    let cv_refit = model.cross_validation(&full, None, &refit, &Control::default()).unwrap();
    assert_eq!(cv_refit.len(), 36);
    let (once, again) = (cv.column("MLP").unwrap(), cv_refit.column("MLP").unwrap());
    let mut alone = nf("MLP", json!({"maxSteps": 5}));
    for w in 0..3 {
        let (up_to_cutoff, _) = split(&full, 36 - 12 * w);
        alone.fit(&up_to_cutoff, None, &FitOptions::default(), &Control::default()).unwrap();
        let window = &again[12 * w..12 * w + 12];
        assert_eq!(window, alone.predict(None, None, None).unwrap().column("MLP").unwrap(), "window {w} equals a fit up to its cutoff");
        if w == 0 {
            // Same weights, but once predicts three windows in one GEMM and refit one: where the
            // GEMM kernel blocks rows differently by count (AVX-512), the sums round differently.
            for (a, b) in window.iter().zip(&once[..12]) {
                assert!((a - b).abs() <= 1e-5 * b.abs(), "the first window has the same training data either way: {a} vs {b}");
            }
        } else {
            assert_ne!(window, &once[12 * w..12 * w + 12], "window {w} was retrained");
        }
    }
}

/// (step, validation loss) of every progress event of an MLP fit on AirPassengers minus its
/// last year, with `val_size`.
fn fit_events(extra: serde_json::Value, val_size: usize) -> Vec<(usize, Option<f64>)> {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", extra);
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| sink.lock().unwrap().push((e.step, e.val_loss)))), ..Default::default() };
    model.fit(&train, None, &FitOptions { val_size, ..FitOptions::default() }, &ctl).unwrap();
    let e = events.lock().unwrap().clone();
    e
}

#[test]
fn validation_and_early_stopping_run() {
    let run = |extra| fit_events(extra, 12);
    // A learning rate far below f32's resolution leaves the weights as they are, so every check
    // ties the first: none improves, and patience 2 stops at the third check (step 15).
    let frozen = run(json!({"maxSteps": 60, "valCheckSteps": 5, "earlyStopPatienceSteps": 2, "learningRate": 1e-30}));
    let (last_step, last_val) = *frozen.last().unwrap();
    assert_eq!(last_step, 15, "{frozen:?}");
    let first_val = frozen.iter().find(|(s, _)| *s == 5).unwrap().1.unwrap();
    assert_eq!(last_val, Some(first_val));
    // Patience 0 disables early stopping (NeuralForecast adds the callback only for patience > 0).
    let zero = run(json!({"maxSteps": 60, "valCheckSteps": 5, "earlyStopPatienceSteps": 0, "learningRate": 1e-30}));
    assert_eq!(zero.last().unwrap().0, 60);
    // A model that learns keeps improving at first and reports a lower loss than its first check.
    let learning = run(json!({"maxSteps": 40, "valCheckSteps": 10, "earlyStopPatienceSteps": 2}));
    let vals: Vec<f64> = learning.iter().filter_map(|(_, v)| *v).collect();
    assert!(vals.last().unwrap() < &vals[0], "{learning:?}");
}

#[test]
fn val_size_rules_follow_neuralforecast() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 5, "earlyStopPatienceSteps": 2}));
    let e = model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap_err();
    assert!(e.message.contains("valSize") && e.message.contains("earlyStopPatienceSteps"), "{e}");
    let mut model = nf("MLP", json!({"maxSteps": 5}));
    let e = model.fit(&train, None, &FitOptions { val_size: 6, ..FitOptions::default() }, &Control::default()).unwrap_err();
    assert!(e.message.contains("valSize") && e.message.contains("12"), "{e}");
}

#[test]
fn every_valid_loss_neuralforecast_supports_validates_without_panicking() {
    // The pairs whose model outputs differ from what validLoss scores (they panicked before).
    let (train, _) = split(&air_passengers(), 12);
    let mq = json!({"type": "MQLoss", "level": [80]});
    let normal = json!({"type": "DistributionLoss", "distribution": "Normal", "level": [80], "numSamples": 50});
    let poisson = json!({"type": "DistributionLoss", "distribution": "Poisson", "level": [80], "numSamples": 50});
    for (loss, valid) in [
        (json!({"type": "MAE"}), mq.clone()),
        (mq.clone(), json!({"type": "MQLoss", "quantiles": [0.5, 0.1, 0.9]})),
        (normal.clone(), json!({"type": "MAE"})),
        (normal.clone(), json!({"type": "MASE", "seasonality": 12})),
        (normal.clone(), mq.clone()),
        (normal.clone(), normal.clone()),
        (poisson.clone(), json!({"type": "MSE"})),
    ] {
        let mut model = nf("MLP", json!({"maxSteps": 4, "valCheckSteps": 2, "hiddenSize": 16, "loss": loss, "validLoss": valid}));
        let vals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = vals.clone();
        let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| sink.lock().unwrap().extend(e.val_loss))), ..Default::default() };
        model.fit(&train, None, &FitOptions { val_size: 12, ..FitOptions::default() }, &ctl).unwrap_or_else(|e| panic!("{loss} / {valid}: {e}"));
        let vals = vals.lock().unwrap().clone();
        assert!(!vals.is_empty() && vals.iter().all(|v| v.is_finite()), "{loss} / {valid}: {vals:?}");
    }
}

#[test]
fn cancellation_is_reported_as_aborted() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 1000}));
    let ctl = Control::default();
    let cancel = ctl.cancel.clone();
    let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| if e.step >= 2 { cancel.store(true, Ordering::Relaxed) })), ..ctl };
    let e = model.fit(&train, None, &FitOptions::default(), &ctl).unwrap_err();
    assert_eq!(e.kind, crate::ErrorKind::Aborted);
}

#[test]
fn exogenous_inputs_flow_and_missing_ones_are_named() {
    let mut full = air_passengers();
    let trend: Vec<f64> = (0..full.len()).map(|t| t as f64).collect();
    full.columns.push(("trend".into(), trend.clone()));
    let n = full.len() - 12;
    let train = InputFrame { unique_id: full.unique_id[..n].to_vec(), ds: full.ds[..n].to_vec(), y: Some(full.y.as_ref().unwrap()[..n].to_vec()), columns: vec![("trend".into(), trend[..n].to_vec())] };
    let futr = InputFrame { unique_id: full.unique_id[n..].to_vec(), ds: full.ds[n..].to_vec(), y: None, columns: vec![("trend".into(), trend[n..].to_vec())] };
    let mut model = nf("NHITS", json!({"maxSteps": 5, "futrExogList": ["trend"], "mlpUnits": [[16, 16], [16, 16], [16, 16]]}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let fc = model.predict(None, Some(&futr), None).unwrap();
    assert_eq!(fc.len(), 12);
    // The values are read, and rows are matched by ds, not by position.
    let flat = InputFrame { columns: vec![("trend".into(), vec![0.0; 12])], ..futr.clone() };
    assert_ne!(model.predict(None, Some(&flat), None).unwrap(), fc);
    let mut order: Vec<usize> = (0..12).rev().collect();
    order.swap(0, 5);
    let shuffled = InputFrame {
        unique_id: order.iter().map(|&i| futr.unique_id[i].clone()).collect(),
        ds: order.iter().map(|&i| futr.ds[i]).collect(),
        y: None,
        columns: vec![("trend".into(), order.iter().map(|&i| trend[n + i]).collect())],
    };
    assert_eq!(model.predict(None, Some(&shuffled), None).unwrap(), fc);
    let e = model.predict(None, None, None).unwrap_err();
    assert!(e.message.contains("futrDf"), "{e}");
    let short = InputFrame { unique_id: futr.unique_id[..11].to_vec(), ds: futr.ds[..11].to_vec(), y: None, columns: vec![("trend".into(), trend[n..n + 11].to_vec())] };
    let e = model.predict(None, Some(&short), None).unwrap_err();
    assert!(e.message.contains("missing the row") && e.message.contains("1960-12-31"), "{e}");
    // Columns shorter than unique_id (the binding passes lengths through unchecked) are named, not indexed.
    let ragged = InputFrame { columns: vec![("trend".into(), trend[n..n + 11].to_vec())], ..futr.clone() };
    let e = model.predict(None, Some(&ragged), None).unwrap_err();
    assert!(e.message.contains("futrDf: column 'trend' has 11 values but unique_id has 12"), "{e}");
    let mut bad = nf("MLP", json!({"maxSteps": 5, "histExogList": ["price"]}));
    let e = bad.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap_err();
    assert!(e.message.contains("'price'") && e.message.contains("histExogList"), "{e}");
}

#[test]
fn constructor_errors() {
    let spec = |class: &str, o: serde_json::Value| ModelSpec { class: class.into(), options: o };
    let e = NeuralForecast::new(vec![], FreqSpec::Alias("MS".into())).err().unwrap();
    assert!(e.message.contains("at least one model"));
    let e = NeuralForecast::new(vec![spec("MLP", json!({"h": 2, "inputSize": 4}))], FreqSpec::Alias("XX".into())).err().unwrap();
    assert!(e.message.contains("freq"));
    let two = vec![spec("MLP", json!({"h": 2, "inputSize": 4})), spec("MLP", json!({"h": 2, "inputSize": 8}))];
    assert!(NeuralForecast::new(two, FreqSpec::Step(1.0)).err().unwrap().message.contains("alias"));
    let mixed = vec![spec("MLP", json!({"h": 2, "inputSize": 4})), spec("NHITS", json!({"h": 3, "inputSize": 8}))];
    assert!(NeuralForecast::new(mixed, FreqSpec::Step(1.0)).err().unwrap().message.contains("share one h"));
    let m = nf("MLP", json!({}));
    assert!(m.predict(None, None, None).unwrap_err().message.contains("before fit"));
}

#[test]
fn revin_scaler_trains_saves_and_loads() {
    let (train, truth) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 100, "scalerType": "revin", "hiddenSize": 64}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let fc = model.predict(None, None, None).unwrap();
    let y = train.y.as_ref().unwrap();
    assert!(mae(fc.column("MLP").unwrap(), &truth) < mae(&y[y.len() - 12..], &truth));
    let path = std::env::temp_dir().join(format!("nd-revin-{}.nd", std::process::id()));
    model.save(&path).unwrap();
    assert_eq!(NeuralForecast::load(&path).unwrap().predict(None, None, None).unwrap(), fc);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn patchtst_learns_and_round_trips_with_batchnorm_statistics() {
    let (train, truth) = split(&air_passengers(), 12);
    let mut model = nf("PatchTST", json!({"maxSteps": 60, "hiddenSize": 16, "nHeads": 4, "linearHiddenSize": 32}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let fc = model.predict(None, None, None).unwrap();
    let y = train.y.as_ref().unwrap();
    assert!(mae(fc.column("PatchTST").unwrap(), &truth) < mae(&y[y.len() - 12..], &truth));
    let path = std::env::temp_dir().join(format!("nd-patchtst-{}.nd", std::process::id()));
    model.save(&path).unwrap();
    assert_eq!(NeuralForecast::load(&path).unwrap().predict(None, None, None).unwrap(), fc);
    std::fs::remove_file(path).unwrap();
}

#[test]
fn evaluation_runs_in_valid_batch_size_series_and_window_chunks() {
    use crate::data::Window;
    let w = |series: usize, first: isize| Window { series, first, visible: 0 };
    // Three series with 3, 1 and 2 windows.
    let windows = [w(0, 0), w(0, 1), w(0, 2), w(1, 0), w(2, 0), w(2, 1)];
    let common = |extra: serde_json::Value| {
        let mut o = json!({"h": 2, "inputSize": 4});
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        crate::models::build("MLP", &o).unwrap().common().clone()
    };
    let sizes = |c: &crate::models::CommonOptions| super::task::chunks(&windows, c).iter().map(|p| p.len()).collect::<Vec<_>>();
    // validBatchSize 2 series per batch; inferenceWindowsBatchSize 2 windows per chunk.
    assert_eq!(sizes(&common(json!({"validBatchSize": 2, "inferenceWindowsBatchSize": 2}))), vec![2, 2, 2]);
    assert_eq!(sizes(&common(json!({"validBatchSize": 2, "inferenceWindowsBatchSize": -1}))), vec![4, 2]);
    // validBatchSize unset: batchSize series per batch.
    assert_eq!(sizes(&common(json!({"batchSize": 1, "inferenceWindowsBatchSize": -1}))), vec![3, 1, 2]);
    assert_eq!(sizes(&common(json!({"inferenceWindowsBatchSize": -1}))), vec![6]);
}

#[test]
fn validation_loss_is_the_same_however_it_is_chunked() {
    // Every validation window of AirPassengers is full (mask all ones), so chunk means weighted
    // by window counts give the overall mean: chunking changes memory, not the loss.
    let first_val = |extra| fit_events(extra, 24).iter().find_map(|(_, v)| *v).unwrap();
    let whole = first_val(json!({"maxSteps": 5, "valCheckSteps": 5, "inferenceWindowsBatchSize": -1}));
    let chunked = first_val(json!({"maxSteps": 5, "valCheckSteps": 5, "inferenceWindowsBatchSize": 4, "validBatchSize": 1}));
    assert!((whole - chunked).abs() <= 1e-5 * whole, "{whole} vs {chunked}");
}

#[test]
fn futr_rows_match_exactly_with_a_fractional_step() {
    use crate::data::{Dataset, Freq, FrameColumns};
    let freq = Freq::step(0.5).unwrap();
    let ids = vec!["a".to_string(); 8];
    let ds: Vec<f64> = (0..8).map(|t| t as f64 * 0.5).collect();
    let y: Vec<f64> = (0..8).map(|t| t as f64).collect();
    let exog = vec![("x".to_string(), y.clone())];
    let data = Dataset::from_frame(&FrameColumns { unique_id: &ids, ds: &ds, y: &y, exog: &exog }, &freq, "df").unwrap();
    let model = crate::models::build("MLP", &json!({"h": 3, "inputSize": 4, "futrExogList": ["x"]})).unwrap();
    // The series ends at 3.5; its future is 4.0, 4.5, 5.0 (rows shuffled). Rounding ds would
    // put 4.5 and 5.0 on one key.
    let futr = |ds: Vec<f64>, x: Vec<f64>| InputFrame { unique_id: vec!["a".into(); ds.len()], ds, y: None, columns: vec![("x".into(), x)] };
    let f = futr(vec![5.0, 4.5, 4.0, 6.0], vec![50.0, 45.0, 40.0, 60.0]);
    let v = super::inputs::future_values(model.as_ref(), &data, Some(&f), &freq, 3).unwrap().unwrap();
    assert_eq!(v, vec![vec![vec![40.0, 45.0, 50.0]]]);
    // A row missing is named; two rows at one timestamp are refused, not picked at random.
    let e = super::inputs::future_values(model.as_ref(), &data, Some(&futr(vec![4.0, 5.0], vec![1.0, 2.0])), &freq, 3).unwrap_err();
    assert!(e.message.contains("missing the row") && e.message.contains("4.5"), "{e}");
    let e = super::inputs::future_values(model.as_ref(), &data, Some(&futr(vec![4.0, 4.5, 4.5, 5.0], vec![1.0; 4])), &freq, 3).unwrap_err();
    assert!(e.message.contains("2 rows") && e.message.contains("4.5"), "{e}");
    // Steps of 0.1 do not add up exactly in binary; the match allows for that.
    let freq = Freq::step(0.1).unwrap();
    let ds: Vec<f64> = (0..8).map(|t| t as f64 * 0.1).collect();
    let data = Dataset::from_frame(&FrameColumns { unique_id: &ids, ds: &ds, y: &y, exog: &exog }, &freq, "df").unwrap();
    let v = super::inputs::future_values(model.as_ref(), &data, Some(&futr(vec![0.8, 0.9, 1.0], vec![8.0, 9.0, 10.0])), &freq, 3).unwrap().unwrap();
    assert_eq!(v, vec![vec![vec![8.0, 9.0, 10.0]]]);
}

#[test]
fn save_before_fit_is_refused() {
    let model = nf("MLP", json!({"maxSteps": 1}));
    let path = std::env::temp_dir().join(format!("nd-unfitted-{}.nd", std::process::id()));
    let e = model.save(&path).err().unwrap();
    assert!(e.message.contains("save() before fit()"), "{e}");
    assert!(!path.exists());
}

#[test]
fn business_days_with_holidays_fit_forecast_and_persist() {
    use crate::data::freq::days_from_civil;
    let day = |y, m, d| (days_from_civil(y, m, d) * 86_400_000) as f64;
    let holidays = [day(2024, 1, 15), day(2024, 2, 19)];
    let b = crate::data::Freq::parse("B").unwrap().with_holidays(&holidays).unwrap();
    // Trading days from 2023-10-02 to 2024-02-14 (Thursday), skipping both holidays' weekdays.
    let mut f = InputFrame { y: Some(Vec::new()), ..Default::default() };
    let mut ds = day(2023, 10, 2);
    while ds <= day(2024, 2, 14) {
        f.unique_id.push("SPY".into());
        f.ds.push(ds);
        f.y.as_mut().unwrap().push(400.0 + (f.ds.len() as f64 * 0.3).sin());
        ds = b.advance(ds, 1);
    }
    assert!(!f.ds.contains(&day(2024, 1, 15)));
    let spec = ModelSpec { class: "MLP".into(), options: json!({"h": 5, "inputSize": 10, "maxSteps": 3, "hiddenSize": 8, "numLayers": 1}) };
    let mut model = NeuralForecast::new(vec![spec.clone()], FreqSpec::Alias("B".into())).unwrap().with_holidays(&holidays).unwrap();
    model.fit(&f, None, &FitOptions::default(), &Control::default()).unwrap();
    let fc = model.predict(None, None, None).unwrap();
    // Thu 15th, Fri 16th, then Tue 20th (Monday 19th is a holiday), Wed 21st, Thu 22nd.
    assert_eq!(fc.ds, vec![day(2024, 2, 15), day(2024, 2, 16), day(2024, 2, 20), day(2024, 2, 21), day(2024, 2, 22)]);
    let path = std::env::temp_dir().join(format!("nd-holidays-{}.nd", std::process::id()));
    model.save(&path).unwrap();
    let again = NeuralForecast::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(again.predict(None, None, None).unwrap(), fc);
    // Without the holiday list the same data is refused at its first holiday, with the remedy.
    let mut plain = NeuralForecast::new(vec![spec], FreqSpec::Alias("B".into())).unwrap();
    let e = plain.fit(&f, None, &FitOptions::default(), &Control::default()).err().unwrap();
    assert!(e.message.contains("gap") && e.message.contains("2024-01-15") && e.message.contains("'holidays'"), "{e}");
}

/// AirPassengers with a future-known calendar column (month of year, scaled to [0, 1)) and the
/// 12 months after the training window as the futrDf.
fn air_passengers_with_month() -> (InputFrame, InputFrame, Vec<f64>) {
    let full = air_passengers();
    let month: Vec<f64> = (0..full.len()).map(|t| (t % 12) as f64 / 12.0).collect();
    let n = full.len() - 12;
    let rows = |r: std::ops::Range<usize>, y: bool| InputFrame {
        unique_id: full.unique_id[r.clone()].to_vec(),
        ds: full.ds[r.clone()].to_vec(),
        y: y.then(|| full.y.as_ref().unwrap()[r.clone()].to_vec()),
        columns: vec![("month".into(), month[r].to_vec())],
    };
    (rows(0..n, true), rows(n..full.len(), false), full.y.as_ref().unwrap()[n..].to_vec())
}

#[test]
fn nbeats_and_nbeatsx_learn_repeat_and_round_trip_exactly() {
    let (train, futr, truth) = air_passengers_with_month();
    let y = train.y.as_ref().unwrap();
    let seasonal_naive = mae(&y[y.len() - 12..], &truth);
    let statics = InputFrame { unique_id: vec!["AirPassengers".into()], ds: vec![0.0], y: None, columns: vec![("level".into(), vec![1.0])] };
    let small = json!([[64, 64], [64, 64]]);
    for (class, extra, futr_df, static_df) in [
        ("NBEATS", json!({"mlpUnits": small, "maxSteps": 100}), None, None),
        (
            "NBEATSx",
            json!({"mlpUnits": small, "maxSteps": 100, "futrExogList": ["month"], "statExogList": ["level"], "stackTypes": ["identity", "exogenous", "seasonality"], "dropoutProbTheta": 0.1}),
            Some(&futr),
            Some(&statics),
        ),
    ] {
        let train_static = static_df;
        let fit = || {
            let mut model = nf(class, extra.clone());
            model.fit(&train, train_static, &FitOptions::default(), &Control::default()).unwrap();
            let fc = model.predict(None, futr_df, train_static).unwrap();
            (model, fc)
        };
        let (model, fc) = fit();
        let ours = mae(fc.column(class).unwrap(), &truth);
        assert!(ours < seasonal_naive, "{class}: MAE {ours} vs seasonal naive {seasonal_naive}");
        assert_eq!(fit().1, fc, "{class}: same seed, same forecast");
        let path = std::env::temp_dir().join(format!("nd-{class}-{}.nd", std::process::id()));
        model.save(&path).unwrap();
        assert_eq!(NeuralForecast::load(&path).unwrap().predict(None, futr_df, train_static).unwrap(), fc, "{class}: save/load");
        std::fs::remove_file(path).unwrap();
    }
}

/// `predict` with `h` beyond the models' horizon, as NeuralForecast's `predict(h=...)`.
fn predict_h(model: &NeuralForecast, df: Option<&InputFrame>, futr: Option<&InputFrame>, h: usize) -> crate::error::Result<OutputFrame> {
    model.predict_cancellable(df, futr, None, &PredictOptions { h: Some(h), ..Default::default() }, &std::sync::atomic::AtomicBool::new(false))
}

#[test]
fn a_longer_horizon_is_forecast_recursively_by_direct_models() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 20, "loss": {"type": "MQLoss", "level": [80]}}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let first = model.predict(None, None, None).unwrap();
    let long = predict_h(&model, None, None, 30).unwrap();
    assert_eq!(long.len(), 30);
    assert_eq!(long.ds, model.make_future_frame(None, Some(30)).unwrap().ds);
    for c in ["MLP-median", "MLP-lo-80", "MLP-hi-80"] {
        assert_eq!(&long.column(c).unwrap()[..12], first.column(c).unwrap(), "{c}: the first 12 steps are the plain forecast");
    }
    // Steps 13-24 are the forecast from the history extended by the first 12 medians, and steps
    // 25-30 the first 6 of the next round.
    let mut grown = train.clone();
    for round in 0..2 {
        let fed = &long.column("MLP-median").unwrap()[12 * round..12 * round + 12];
        for (k, v) in fed.iter().enumerate() {
            grown.unique_id.push(grown.unique_id[0].clone());
            grown.ds.push(long.ds[12 * round + k]);
            grown.y.as_mut().unwrap().push(*v);
        }
        let next = model.predict(Some(&grown), None, None).unwrap();
        let n = if round == 0 { 12 } else { 6 };
        assert_eq!(&long.column("MLP-lo-80").unwrap()[12 * (round + 1)..12 * (round + 1) + n], &next.column("MLP-lo-80").unwrap()[..n], "round {}", round + 1);
    }
    assert_eq!(predict_h(&model, None, None, 12).unwrap().column("MLP-median"), first.column("MLP-median"));
    let err = predict_h(&model, None, None, 11).unwrap_err();
    assert!(err.to_string().contains("'h' (11) must be at least") && err.to_string().contains("(12)"), "{err}");
    let err = predict_h(&model, None, None, usize::MAX / 2).unwrap_err();
    assert!(err.to_string().contains("more than the"), "{err}");
    // Without a median there is nothing NeuralForecast would feed back.
    let mut no_median = nf("MLP", json!({"maxSteps": 2, "loss": {"type": "MQLoss", "quantiles": [0.1, 0.9]}}));
    no_median.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    assert!(predict_h(&no_median, None, None, 13).unwrap_err().to_string().contains("no 0.5 quantile"));
}

#[test]
fn a_longer_horizon_needs_future_values_for_whole_rounds_and_no_historic_ones() {
    let (train, futr, _) = air_passengers_with_month();
    let mut model = nf("NHITS", json!({"maxSteps": 5, "futrExogList": ["month"]}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    // futrDf for 24 months serves h 24; h 18 also needs them (two rounds of 12).
    let mut months = futr.clone();
    let next_year = model.make_future_frame(None, Some(24)).unwrap();
    months.unique_id = next_year.unique_id.clone();
    months.ds = next_year.ds.clone();
    months.columns = vec![("month".into(), (0..24).map(|t| (t % 12) as f64 / 12.0).collect())];
    let long = predict_h(&model, None, Some(&months), 24).unwrap();
    assert_eq!(long.len(), 24);
    assert_eq!(&predict_h(&model, None, Some(&months), 18).unwrap().column("NHITS").unwrap()[..], &long.column("NHITS").unwrap()[..18]);
    let err = predict_h(&model, None, Some(&futr), 18).unwrap_err().to_string();
    assert!(err.contains("2 forecasts of NHITS's h 12") && err.contains("futrDf is missing the row"), "{err}");
    let mut hist = nf("NHITS", json!({"maxSteps": 2, "histExogList": ["month"]}));
    hist.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    assert!(predict_h(&hist, None, None, 12).is_ok());
    let err = predict_h(&hist, None, None, 13).unwrap_err().to_string();
    assert!(err.contains("historic exogenous values of NHITS (month)"), "{err}");
}

#[test]
fn a_longer_horizon_keeps_a_recurrent_model_stepping() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("LSTM", json!({"maxSteps": 10, "recurrent": true, "encoderHiddenSize": 8, "decoderHiddenSize": 8}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let first = model.predict(None, None, None).unwrap();
    let long = predict_h(&model, None, None, 20).unwrap();
    assert_eq!(long.len(), 20);
    // One step at a time: the first 12 steps do not depend on how many follow.
    assert_eq!(&long.column("LSTM").unwrap()[..12], first.column("LSTM").unwrap());
    assert!(long.column("LSTM").unwrap().iter().all(|v| v.is_finite()));
}

/// AirPassengers and a second series `b`, the same from its 31st month on.
fn two_series() -> InputFrame {
    let a = air_passengers();
    let mut f = a.clone();
    for i in 30..a.len() {
        f.unique_id.push("b".into());
        f.ds.push(a.ds[i]);
        f.y.as_mut().unwrap().push(a.y.as_ref().unwrap()[i] * 0.5);
    }
    f
}

#[test]
fn predict_insample_gives_neuralforecasts_cutoffs_rows_and_values() {
    let data = two_series();
    let mut model = nf("MLP", json!({"maxSteps": 5}));
    model.fit(&data, None, &FitOptions::default(), &Control::default()).unwrap();
    let never = std::sync::atomic::AtomicBool::new(false);
    // The last day of month m of year y, in epoch ms.
    let month = |y: i64, m: i64| ((crate::data::freq::days_from_civil(y + m / 12, m % 12 + 1, 1) - 1) * 86_400_000) as f64;
    // Rows, cutoffs and first/last ds as NeuralForecast 3.3.0 gives them on these series (h 12;
    // AirPassengers 144 months, b 114): step 1 133 and 103 cutoffs, step 5 27 and 21.
    for (step, counts, first_cutoff, first_ds) in [(1, [133, 103], [month(1948, 12), month(1951, 6)], month(1949, 1)), (5, [27, 21], [month(1949, 2), month(1951, 8)], month(1949, 3))] {
        let fc = model.predict_insample(step, &never).unwrap();
        assert_eq!(fc.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["cutoff", "MLP", "y"]);
        assert_eq!(fc.len(), 12 * (counts[0] + counts[1]));
        let cutoff = fc.column("cutoff").unwrap();
        let end_a = 12 * counts[0];
        assert_eq!([cutoff[0], cutoff[end_a]], first_cutoff, "step {step}");
        assert_eq!([cutoff[end_a - 1], *cutoff.last().unwrap()], [month(1959, 12); 2]);
        assert_eq!([fc.ds[0], fc.ds[end_a - 1]], [first_ds, month(1960, 12)]);
        // y is the data at each ds.
        let y = data.y.as_ref().unwrap();
        assert_eq!(fc.column("y").unwrap()[end_a - 12..end_a], y[132..144]);
        // The last window is the forecast from the series without its last 12 points (the same
        // weights: 1 window per GEMM against many, which may round differently).
        let (head, _) = split(&air_passengers(), 12);
        let direct = model.predict(Some(&head), None, None).unwrap();
        let direct = &direct.column("MLP").unwrap()[..12];
        for (a, b) in fc.column("MLP").unwrap()[end_a - 12..end_a].iter().zip(direct) {
            assert!((a - b).abs() <= 1e-5 * b.abs(), "step {step}: {a} vs {b}");
        }
        assert!(fc.column("MLP").unwrap().iter().all(|v| v.is_finite()), "a window of padding only still forecasts");
    }
    assert!(model.predict_insample(0, &never).unwrap_err().to_string().contains("'stepSize'"));
    let unfitted = nf("MLP", json!({}));
    assert!(unfitted.predict_insample(1, &never).unwrap_err().to_string().contains("before fit()"));
}

/// `forecast::inline`: a predict runs on the caller's thread only after one at least as large,
/// of the same kind, was measured under the budget; inline and pool runs give the same bits.
#[test]
fn small_predicts_run_inline_only_after_one_like_them_was_measured() {
    let full = air_passengers();
    let (train, _) = split(&full, 12);
    let mut model = nf("MLP", json!({"maxSteps": 2, "hiddenSize": 16}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let tail = |n: usize| InputFrame { unique_id: train.unique_id[train.len() - n..].to_vec(), ds: train.ds[train.len() - n..].to_vec(), y: Some(train.y.as_ref().unwrap()[train.len() - n..].to_vec()), columns: vec![] };
    let (tick, longer) = (tail(24), tail(36));
    // Whatever the machine's speed: any measured cost is within an unbounded budget, none within 0.
    let small = |m: &NeuralForecast, df: Option<&InputFrame>, f: Option<&InputFrame>, s: Option<&InputFrame>, h: Option<usize>| m.predict_is_within(df, f, s, &PredictOptions { h, level: None }, std::time::Duration::MAX);
    assert!(!small(&model, Some(&tick), None, None, None), "nothing measured yet");
    let pooled = model.predict(Some(&longer), None, None).unwrap();
    assert!(small(&model, Some(&longer), None, None, None) && small(&model, Some(&tick), None, None, None));
    assert!(!model.predict_is_within(Some(&tick), None, None, &PredictOptions::default(), std::time::Duration::ZERO));
    let inline = crate::kernels::inline::run(|| model.predict(Some(&longer), None, None).unwrap());
    assert_eq!(inline, pooled, "the same forecast on the caller's thread");
    // Larger, of another kind (other h, no df), or after a failed call that measured nothing.
    let mut two = tail(24);
    two.unique_id.extend(std::iter::repeat_n("b".to_string(), 24));
    two.ds.extend_from_slice(&tick.ds);
    two.y.as_mut().unwrap().extend_from_slice(tick.y.as_ref().unwrap());
    assert!(!small(&model, Some(&two), None, None, None), "two series after one");
    assert!(!small(&model, Some(&tick), None, None, Some(24)));
    assert!(!small(&model, None, None, None, None));
    let bad = InputFrame { ds: vec![tick.ds[0]; 24], ..tick.clone() };
    assert!(model.predict(Some(&bad), None, None).is_err());
    assert!(small(&model, Some(&tick), None, None, None), "a failed call leaves the measurement");
    // A refit starts over.
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    assert!(!small(&model, Some(&tick), None, None, None));
}

/// `save` with 16-bit weights: about half the file, a load that forecasts close to the f32 model
/// (one series through the 16-bit kernel, many through the f32 copy: the same values), and a
/// file that saves and loads again to the same forecasts.
#[test]
fn sixteen_bit_weights_halve_the_file_and_round_trip() {
    use crate::kernels::half::HalfKind;
    use crate::nn::named_params;
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 5, "hiddenSize": 256}));
    model.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let tick = InputFrame { unique_id: train.unique_id[train.len() - 24..].to_vec(), ds: train.ds[train.len() - 24..].to_vec(), y: Some(train.y.as_ref().unwrap()[train.len() - 24..].to_vec()), columns: vec![] };
    let exact = model.predict(Some(&tick), None, None).unwrap();
    let dir = std::env::temp_dir().join(format!("nd-half-{}", std::process::id()));
    let path = |name: &str| dir.join(name);
    model.save(&path("f32.nd")).unwrap();
    let size = |name: &str| std::fs::metadata(path(name)).unwrap().len() as f64;
    for (kind, name) in [(HalfKind::Bf16, "bf16.nd"), (HalfKind::F16, "f16.nd")] {
        model.save_with_extra(&path(name), &json!(null), Some(kind)).unwrap();
        assert!(size(name) < 0.55 * size("f32.nd"), "{name}: {} bytes, f32 {}", size(name), size("f32.nd"));
        let loaded = NeuralForecast::load(&path(name)).unwrap();
        assert!(named_params(loaded.models[0].as_ref()).iter().all(|(_, t)| t.half().is_some_and(|h| h.kind == kind)));
        let one = loaded.predict(Some(&tick), None, None).unwrap();
        let values = one.column("MLP").unwrap();
        for (a, b) in values.iter().zip(exact.column("MLP").unwrap()) {
            assert!((a - b).abs() < 0.02 * b.abs(), "{name}: {a} vs f32 {b}");
        }
        // Two copies of the series: the batch path (f32 GEMM over the rounded weights) agrees.
        let mut two = tick.clone();
        two.unique_id.extend(std::iter::repeat_n("other".to_string(), 24));
        two.ds.extend_from_slice(&tick.ds);
        two.y.as_mut().unwrap().extend_from_slice(tick.y.as_ref().unwrap());
        let batch = crate::kernels::inline::run(|| loaded.predict_cancellable(Some(&two), None, None, &PredictOptions::default(), &Default::default())).unwrap();
        for (a, b) in batch.column("MLP").unwrap()[..12].iter().zip(values) {
            assert!((a - b).abs() <= 1e-4 * b.abs(), "{name}: batch {a} vs one series {b}");
        }
        loaded.save_with_extra(&path("again.nd"), &json!(null), Some(kind)).unwrap();
        assert_eq!(NeuralForecast::load(&path("again.nd")).unwrap().predict(Some(&tick), None, None).unwrap(), one);
    }
    // f16 cannot hold a weight beyond ±65504: refused, naming the way out.
    named_params(model.models[0].as_ref())[0].1.data_mut()[0] = 1e5;
    let e = model.save_with_extra(&path("big.nd"), &json!(null), Some(HalfKind::F16)).unwrap_err();
    assert!(e.kind == crate::ErrorKind::Range && e.message.contains("bf16"), "{e}");
    assert!(!path("big.nd").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// `n` series of `len` integer steps with the sample configs' exogenous columns (`a`, `b`
/// historic, `c` future), their static frame (`s`, `t`) and the future frame of `c` over `h`.
fn exog_panel(n: usize, len: usize, h: usize) -> (InputFrame, InputFrame, InputFrame) {
    let mut df = InputFrame { y: Some(Vec::new()), columns: vec![("a".into(), vec![]), ("b".into(), vec![]), ("c".into(), vec![])], ..Default::default() };
    let mut futr = InputFrame { columns: vec![("c".into(), vec![])], ..Default::default() };
    let value = |s: usize, t: usize, k: usize| ((t * (k + 2) + 3 * s) as f64 * 0.37).sin() + s as f64;
    for s in 0..n {
        for t in 0..len + h {
            let frame = if t < len { &mut df } else { &mut futr };
            frame.unique_id.push(format!("s{s}"));
            frame.ds.push(t as f64);
            if let Some(y) = frame.y.as_mut() {
                y.push(10.0 + 3.0 * value(s, t, 0) + 0.05 * t as f64);
                frame.columns[0].1.push(value(s, t, 1));
                frame.columns[1].1.push(value(s, t, 2));
                frame.columns[2].1.push(value(s, t, 3));
            } else {
                frame.columns[0].1.push(value(s, t, 3));
            }
        }
    }
    let ids: Vec<String> = (0..n).map(|s| format!("s{s}")).collect();
    let statics = InputFrame { ds: vec![0.0; n], y: None, columns: vec![("s".into(), (0..n).map(|s| s as f64).collect()), ("t".into(), (0..n).map(|s| 1.0 - s as f64).collect())], unique_id: ids };
    (df, futr, statics)
}

/// Issue 14: a forecast made on a 64-core server reproduces on a 2-core laptop. Every model class
/// (each sample config of `models::tests`, defaults included so that the large products take the
/// threaded kernels) trains two steps and predicts with pools of 1, 2 and 4 threads, and inline:
/// same bits.
#[test]
fn every_model_gives_the_same_bits_with_1_2_and_4_threads() {
    same_bits_with_1_2_and_4_threads("32-true");
}

#[test]
fn every_model_gives_the_same_bits_with_1_2_and_4_threads_in_mixed_precision() {
    same_bits_with_1_2_and_4_threads("bf16-mixed");
    same_bits_with_1_2_and_4_threads("16-mixed");
}

fn same_bits_with_1_2_and_4_threads(precision: &str) {
    let mut differ = Vec::new();
    for (class, opts) in crate::models::tests::sample_options() {
        let mut options = opts.clone();
        options["precision"] = json!(precision);
        options["maxSteps"] = json!(2);
        options["windowsBatchSize"] = json!(8);
        let n = opts["nSeries"].as_u64().map_or(3, |n| n as usize);
        let h = opts["h"].as_u64().unwrap() as usize;
        let (df, futr, statics) = exog_panel(n, 64, h);
        let run = |threads: usize| {
            crate::kernels::threads::on_threads(threads, || {
                let mut nf = NeuralForecast::new(vec![ModelSpec { class: class.into(), options: options.clone() }], FreqSpec::Step(1.0)).unwrap();
                nf.fit(&df, Some(&statics), &FitOptions::default(), &Control::default()).unwrap_or_else(|e| panic!("{class} {opts}: {e}"));
                let bits = |fc: OutputFrame| fc.columns.iter().flat_map(|(_, v)| v.iter().map(|x| x.to_bits())).collect::<Vec<u64>>();
                let fc = bits(nf.predict(None, Some(&futr), None).unwrap_or_else(|e| panic!("{class} {opts}: {e}")));
                // Inline, as a small predict from JS runs (its products shared with the helper thread).
                let inline = bits(crate::kernels::inline::run(|| nf.predict(None, Some(&futr), None)).unwrap());
                assert!(fc == inline, "{class} {opts}: the inline forecast differs from the pool's with {threads} threads");
                fc
            })
        };
        let one = run(1);
        assert!(!one.is_empty());
        for threads in [2, 4] {
            if run(threads) != one {
                differ.push(format!("{class} {opts} with {threads} threads ({precision})"));
            }
        }
    }
    assert!(differ.is_empty(), "forecasts differ from one thread's:\n{}", differ.join("\n"));
}

/// Found by the model-file fuzz target (issue 14): in a file with a valid checksum (written by
/// another program), a series length near 2^64 wrapped the offset below the stored values, passed
/// the check and panicked allocating its timestamps.
#[test]
fn a_series_length_that_wraps_the_offset_is_refused() {
    let mut two = air_passengers();
    let other = InputFrame { unique_id: vec!["B".into(); two.len()], ..two.clone() };
    two.unique_id.extend(other.unique_id);
    two.ds.extend(other.ds);
    let y = two.y.as_ref().unwrap().clone();
    two.y.as_mut().unwrap().extend(y);
    let mut model = nf("MLP", json!({"maxSteps": 1, "hiddenSize": 8}));
    model.fit(&two, None, &FitOptions::default(), &Control::default()).unwrap();
    let path = std::env::temp_dir().join(format!("nd-wrap-{}.nd", std::process::id()));
    model.save(&path).unwrap();
    let (mut config, tensors) = file::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    for len in [u64::MAX, u64::MAX - 100, 0] {
        config["data"]["series"][1]["len"] = json!(len);
        let e = persist::from_parts(&config, tensors.clone()).err().expect("refused");
        assert!(e.kind == crate::ErrorKind::Format && e.message.contains("runs past the stored values"), "{e}");
    }
}

/// Every progress report's training loss of one fit.
fn fit_losses(model: &mut NeuralForecast, df: &InputFrame, opts: &FitOptions) -> Vec<f64> {
    let losses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = losses.clone();
    let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| sink.lock().unwrap().push(e.train_loss))), ..Default::default() };
    model.fit(df, None, opts, &ctl).unwrap();
    let l = losses.lock().unwrap().clone();
    l
}

#[test]
fn a_second_fit_continues_from_the_fitted_weights_and_use_init_models_starts_over() {
    let (train, _) = split(&air_passengers(), 12);
    let opts = json!({"maxSteps": 40});
    let mut warm = nf("MLP", opts.clone());
    let first = fit_losses(&mut warm, &train, &FitOptions::default());
    let once = warm.predict(None, None, None).unwrap();
    let second = fit_losses(&mut warm, &train, &FitOptions::default());
    // Continuing: the second fit starts near where the first ended, far below a fresh start.
    assert!(second[0] < 0.5 * first[0], "warm fit starts at {} vs fresh {}", second[0], first[0]);
    assert_ne!(warm.predict(None, None, None).unwrap(), once, "the weights moved on");
    // use_init_models: bit for bit a fresh object's fit, however trained before.
    let reset = FitOptions { use_init_models: true, ..Default::default() };
    let again = fit_losses(&mut warm, &train, &reset);
    // (Reports are thinned by time, so which steps report differs; the first and last do.)
    assert_eq!((again[0], again.last()), (first[0], first.last()), "same seed, same losses as the first fit");
    assert_eq!(warm.predict(None, None, None).unwrap(), once, "same forecast as the first fit");
    // A loaded model trains further too.
    fit_losses(&mut warm, &train, &FitOptions::default());
    let path = std::env::temp_dir().join(format!("nd-warm-{}.nd", std::process::id()));
    warm.save(&path).unwrap();
    let mut loaded = NeuralForecast::load(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let resumed = fit_losses(&mut loaded, &train, &FitOptions::default());
    fit_losses(&mut warm, &train, &FitOptions::default());
    assert_eq!(loaded.predict(None, None, None).unwrap(), warm.predict(None, None, None).unwrap(), "a loaded model continues as the saved one would");
    assert!(resumed[0] < 0.5 * first[0]);
}

#[test]
fn conformal_intervals_are_the_cross_validation_errors_around_the_point_forecast() {
    let (train, _) = split(&air_passengers(), 12);
    let tiny = json!({"maxSteps": 15});
    let pi = PredictionIntervals { n_windows: 3, ..Default::default() };
    let mut model = nf("MLP", tiny.clone());
    model.fit(&train, None, &FitOptions { prediction_intervals: Some(pi.clone()), ..Default::default() }, &Control::default()).unwrap();
    // The scores are a cross-validation's absolute errors, of models trained as fit trains them.
    let mut cv_model = nf("MLP", tiny.clone());
    let cv = cv_model.cross_validation(&train, None, &CvOptions { n_windows: 3, ..Default::default() }, &Control::default()).unwrap();
    let errors: Vec<f32> = cv.column("MLP").unwrap().iter().zip(cv.column("y").unwrap()).map(|(f, y)| (f - y).abs() as f32).collect();
    assert_eq!(model.conformal.as_ref().unwrap().scores[0].as_ref().unwrap(), &errors);
    // The point forecast is a plain fit's: calibration trains copies.
    let mut plain = nf("MLP", tiny);
    plain.fit(&train, None, &FitOptions::default(), &Control::default()).unwrap();
    let point = plain.predict(None, None, None).unwrap();
    for method in [IntervalMethod::Distribution, IntervalMethod::Error] {
        model.conformal.as_mut().unwrap().spec.method = method;
        let opts = PredictOptions { level: Some(vec![90.0, 80.0]), ..Default::default() };
        let fc = model.predict_cancellable(None, None, None, &opts, &std::sync::atomic::AtomicBool::new(false)).unwrap();
        let names: Vec<&str> = fc.columns.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["MLP", "MLP-lo-90", "MLP-lo-80", "MLP-hi-80", "MLP-hi-90"]);
        assert_eq!(fc.column("MLP"), point.column("MLP"));
        let mean: Vec<f32> = point.column("MLP").unwrap().iter().map(|v| *v as f32).collect();
        let want = conformal::intervals(method, &mean, &errors, 3, 12, &conformal::levels(&[80.0, 90.0]).unwrap());
        for (c, w) in fc.columns[1..].iter().zip(&want) {
            assert_eq!(&c.1, w, "{method:?} {}", c.0);
        }
        for i in 0..fc.len() {
            let col = |n: &str| fc.column(n).unwrap()[i];
            assert!(col("MLP-lo-90") <= col("MLP-lo-80") && col("MLP-lo-80") <= col("MLP") && col("MLP") <= col("MLP-hi-80") && col("MLP-hi-80") <= col("MLP-hi-90"), "{method:?} row {i}");
        }
        // Saved and loaded with the scores.
        let path = std::env::temp_dir().join(format!("nd-conformal-{}.nd", std::process::id()));
        model.save(&path).unwrap();
        let loaded = NeuralForecast::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.predict_cancellable(None, None, None, &opts, &std::sync::atomic::AtomicBool::new(false)).unwrap(), fc);
    }
}

#[test]
fn a_cancelled_checkpointed_fit_resumes_to_the_uninterrupted_forecasts() {
    // PatchTST has dropout and BatchNorm statistics (the task's state), the others train after it
    // (finished models, then one in training); validation every 5 steps reports each check.
    let (train, _) = split(&air_passengers(), 12);
    let specs = || {
        let m = |class: &str, o: serde_json::Value| ModelSpec { class: class.into(), options: o };
        let common = json!({"h": 12, "inputSize": 24, "maxSteps": 30, "scalerType": "standard", "windowsBatchSize": 32, "valCheckSteps": 5, "earlyStopPatienceSteps": 3, "numLrDecays": 2});
        let mut patch = common.clone();
        patch["hiddenSize"] = json!(16);
        patch["nHeads"] = json!(4);
        patch["dropout"] = json!(0.2);
        // A recurrent model and a multivariate one (time windows, a sampler without an epoch).
        let mut lstm = common.clone();
        lstm["recurrent"] = json!(true);
        lstm["encoderHiddenSize"] = json!(8);
        lstm["decoderHiddenSize"] = json!(8);
        let mut mixer = common.clone();
        mixer["nSeries"] = json!(1);
        NeuralForecast::new(vec![m("PatchTST", patch), m("MLP", common), m("LSTM", lstm), m("TSMixer", mixer)], FreqSpec::Alias("ME".into())).unwrap()
    };
    let path = std::env::temp_dir().join(format!("nd-ckpt-{}/run.ckpt", std::process::id()));
    let fit = |nf: &mut NeuralForecast, cancel_at: Option<(&'static str, usize)>| {
        let ctl = Control::default();
        let flag = ctl.cancel.clone();
        let ctl = Control {
            on_progress: Some(Box::new(move |e: &ProgressEvent| {
                if cancel_at.is_some_and(|(m, s)| e.model == m && e.step == s) {
                    flag.store(true, Ordering::Relaxed);
                }
            })),
            ..ctl
        };
        let ck = CheckpointOptions { path: path.clone(), every: 5, resume: true };
        nf.fit(&train, None, &FitOptions { val_size: 12, checkpoint: Some(ck), ..Default::default() }, &ctl)
    };
    let mut whole = specs();
    whole.fit(&train, None, &FitOptions { val_size: 12, ..Default::default() }, &Control::default()).unwrap();
    let expected = whole.predict(None, None, None).unwrap();
    // Stopped mid-PatchTST, then mid-MLP (after PatchTST finished), and so on, then run to the end.
    for at in [("PatchTST", 10), ("MLP", 15), ("LSTM", 10), ("TSMixer", 5)] {
        let err = fit(&mut specs(), Some(at)).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Aborted, "{at:?}");
    }
    let mut resumed = specs();
    fit(&mut resumed, None).unwrap();
    assert_eq!(resumed.predict(None, None, None).unwrap(), expected);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

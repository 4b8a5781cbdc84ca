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
    let opts = CvOptions { n_windows: 3, step_size: Some(12), val_size: 0, refit: false, verbose: false };
    let cv = model.cross_validation(&full, None, &opts, &Control::default()).unwrap();
    assert_eq!(cv.len(), 36);
    assert_eq!(cv.columns[0].0, "cutoff");
    assert_eq!(cv.columns.last().unwrap().0, "y");
    let y = cv.column("y").unwrap();
    assert_eq!(&y[24..], &full.y.as_ref().unwrap()[132..]);
    let cutoffs = cv.column("cutoff").unwrap();
    assert_eq!(cutoffs[0], full.ds[107]);
    assert_eq!(cutoffs[35], full.ds[131]);
    let refit = CvOptions { refit: true, ..opts };
    assert_eq!(model.cross_validation(&full, None, &refit, &Control::default()).unwrap().len(), 36);
}

#[test]
fn validation_and_early_stopping_run() {
    let (train, _) = split(&air_passengers(), 12);
    let mut model = nf("MLP", json!({"maxSteps": 60, "valCheckSteps": 10, "earlyStopPatienceSteps": 1}));
    let vals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = vals.clone();
    let ctl = Control { on_progress: Some(Box::new(move |e: &ProgressEvent| sink.lock().unwrap().push(e.val_loss))), ..Default::default() };
    model.fit(&train, None, &FitOptions { val_size: 12, verbose: false }, &ctl).unwrap();
    assert!(vals.lock().unwrap().iter().any(|v| v.is_some()));
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
    assert_eq!(model.predict(None, Some(&futr), None).unwrap().len(), 12);
    let e = model.predict(None, None, None).unwrap_err();
    assert!(e.message.contains("futrDf"), "{e}");
    let short = InputFrame { unique_id: futr.unique_id[..11].to_vec(), ds: futr.ds[..11].to_vec(), y: None, columns: vec![("trend".into(), trend[n..n + 11].to_vec())] };
    let e = model.predict(None, Some(&short), None).unwrap_err();
    assert!(e.message.contains("missing the row") && e.message.contains("1960-12-31"), "{e}");
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

//! Fuzz targets (issue 14), as property tests: the model-file reader on damaged real files, and
//! generated frames through the engine's input path. Every case must end in `Ok` or `Err`, never a
//! panic. `cargo test --release --lib fuzz_` runs a seeded short slice; `PROPTEST_CASES=<n>` runs
//! more (and `PROPTEST_RNG_SEED=<n>` other cases): see docs/RELIABILITY.md.

use std::collections::HashMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};

use super::file::{self, StoredTensor};
use super::*;

/// The slice's config: `cases` unless `PROPTEST_CASES` says otherwise, seed 14 unless
/// `PROPTEST_RNG_SEED` does, and no regression files.
fn config(cases: u32) -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(14);
    }
    c.failure_persistence = None;
    c
}

fn rows(n_series: usize, len: usize) -> InputFrame {
    let mut f = InputFrame { y: Some(Vec::new()), columns: vec![("x".into(), Vec::new())], ..Default::default() };
    for s in 0..n_series {
        for t in 0..len {
            f.unique_id.push(format!("s{s}"));
            f.ds.push(t as f64);
            f.y.as_mut().unwrap().push(10.0 + s as f64 + (t as f64 * 0.5).sin());
            f.columns[0].1.push((t as f64).cos());
        }
    }
    f
}

/// The bytes of a real saved model (two series, exogenous and static columns, an MLP and an
/// NHITS), its decoded contents, and its forecast.
fn saved() -> &'static (Vec<u8>, (Value, HashMap<String, StoredTensor>)) {
    static SAVED: OnceLock<(Vec<u8>, (Value, HashMap<String, StoredTensor>))> = OnceLock::new();
    SAVED.get_or_init(|| {
        let models = vec![
            ModelSpec { class: "MLP".into(), options: json!({"h": 3, "inputSize": 6, "hiddenSize": 8, "maxSteps": 2, "histExogList": ["x"], "statExogList": ["s"]}) },
            ModelSpec { class: "NHITS".into(), options: json!({"h": 3, "inputSize": 6, "mlpUnits": [[4, 4], [4, 4], [4, 4]], "maxSteps": 2}) },
        ];
        let mut nf = NeuralForecast::new(models, FreqSpec::Step(1.0)).unwrap();
        let statics = InputFrame { unique_id: vec!["s0".into(), "s1".into()], ds: vec![0.0; 2], y: None, columns: vec![("s".into(), vec![0.0, 1.0])] };
        nf.fit(&rows(2, 30), Some(&statics), &FitOptions::default(), &Control::default()).unwrap();
        let path = std::env::temp_dir().join(format!("nd-fuzz-saved-{}.nd", std::process::id()));
        nf.save(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let decoded = file::decode(&bytes, "saved").unwrap();
        (bytes, decoded)
    })
}

/// Damage done to a file's bytes.
#[derive(Clone, Debug)]
enum Damage {
    Truncate(usize),
    Flip(Vec<(usize, u8)>),
    Splice(usize, Vec<u8>),
    HeaderLength(u64),
    Random(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        any::<usize>().prop_map(Damage::Truncate),
        prop::collection::vec((any::<usize>(), 1..=255u8), 1..4).prop_map(Damage::Flip),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(at, b)| Damage::Splice(at, b)),
        any::<u64>().prop_map(Damage::HeaderLength),
        prop::collection::vec(any::<u8>(), 0..512).prop_map(Damage::Random),
    ]
}

fn damaged(original: &[u8], d: &Damage) -> Vec<u8> {
    let n = original.len();
    match d {
        Damage::Truncate(k) => original[..k % n].to_vec(),
        Damage::Flip(flips) => {
            let mut b = original.to_vec();
            for &(i, x) in flips {
                b[i % n] ^= x;
            }
            b
        }
        Damage::Splice(at, bytes) => {
            let at = at % (n + 1);
            [&original[..at], bytes, &original[at..]].concat()
        }
        Damage::HeaderLength(len) => [&len.to_le_bytes()[..], &original[8..]].concat(),
        Damage::Random(b) => b.clone(),
    }
}

/// A JSON value, hostile numbers and shapes weighted in.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(i64::MAX), Just(i64::MIN), Just(1 << 53), -3i64..100].prop_map(Value::from),
        prop_oneof![Just(u64::MAX), Just(u64::MAX / 2 + 7)].prop_map(Value::from),
        prop_oneof![Just(1e308), Just(-1e308), Just(5e-324), Just(-0.0), Just(0.5), Just(1e15)].prop_map(Value::from),
        prop_oneof![Just(String::new()), Just("MLP".to_string()), Just("NHITS".to_string()), Just("ME".to_string()), Just("x".repeat(10_000))].prop_map(Value::from),
        prop::collection::vec(any::<char>(), 0..6).prop_map(|c| Value::from(c.into_iter().collect::<String>())),
    ];
    // Mostly leaves: a configuration breaks in its numbers and strings more than in its shape.
    prop_oneof![4 => leaf.clone(), 1 => leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop_oneof![Just("h".to_string()), Just("len".to_string()), Just("class".to_string()), Just("x".to_string())], inner), 0..3)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })]
}

/// Every path to a value in `v` (object keys and array indices).
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(k.clone());
                paths(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(x, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn set(v: &mut Value, path: &[String], to: Value) {
    let mut cur = v;
    for p in path {
        cur = match cur {
            Value::Object(m) => m.get_mut(p).unwrap(),
            Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    *cur = to;
}

/// Loads what a file holds and, when that works, forecasts from it: either may fail, neither panics.
fn load_and_predict(config: &Value, tensors: HashMap<String, StoredTensor>) {
    if let Ok(nf) = persist::from_parts(config, tensors) {
        let _ = nf.predict(None, None, None);
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// Damaged bytes of a real file are refused (`Err`), or, where the damage left the meaning
    /// alone (a changed space in the header's padding), read the same.
    #[test]
    fn fuzz_model_file_reader_refuses_damaged_files(d in damage()) {
        let (bytes, original) = saved();
        let b = damaged(bytes, &d);
        match file::decode(&b, "fuzzed") {
            Err(e) => prop_assert_eq!(e.kind, crate::ErrorKind::Format),
            Ok(read) => prop_assert!(read == *original, "damage {:?} read as another model", d),
        }
    }

    /// A configuration changed anywhere (with a valid checksum: a file written by another
    /// program) loads or is refused, and a loaded one predicts or fails, without a panic.
    #[test]
    fn fuzz_model_file_configuration_is_checked(edits in prop::collection::vec((any::<prop::sample::Index>(), json_value()), 1..4), drop_tensor in any::<Option<prop::sample::Index>>()) {
        let (_, (config, tensors)) = saved();
        let mut config = config.clone();
        for (at, to) in edits {
            let mut all = Vec::new();
            paths(&config, &mut Vec::new(), &mut all);
            set(&mut config, &all[at.index(all.len())].clone(), to);
        }
        let mut tensors = tensors.clone();
        if let Some(i) = drop_tensor {
            let mut names: Vec<String> = tensors.keys().cloned().collect();
            names.sort();
            tensors.remove(&names[i.index(names.len())]);
        }
        load_and_predict(&config, tensors);
    }
}

/// A generated frame's columns: ids from a few (and odd) names, ds on or off the grid, values
/// with NaN, infinities and extremes, columns of other lengths.
#[derive(Clone, Debug)]
struct Frame {
    ids: Vec<String>,
    ds: Vec<f64>,
    y: Vec<f64>,
    x: Option<Vec<f64>>,
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -50.0..50.0f64,
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(-0.0), Just(1e300), Just(-1e300), Just(f64::MAX), Just(5e-324), Just(3.5e38), Just(1e16)],
    ]
}

fn frame() -> impl Strategy<Value = (Frame, usize)> {
    (1..4usize, 0..40usize, any::<bool>(), prop::collection::vec((any::<prop::sample::Index>(), 0..3u8, number()), 0..3), prop_oneof![Just(1.0), Just(2.0), Just(-1.0), Just(0.0), Just(86_400_000.0), Just(86_400_000.0)], 0..3usize).prop_map(
        |(n, len, exog, edits, stretch, h)| {
            let mut f = rows(n, len);
            let mut frame = Frame { ids: f.unique_id, ds: f.ds, y: f.y.take().unwrap(), x: exog.then(|| f.columns.remove(0).1) };
            for (at, col, v) in edits {
                if frame.ids.is_empty() {
                    break;
                }
                let i = at.index(frame.ids.len());
                match col {
                    0 => frame.ds[i] = v,
                    1 => frame.y[i] = v,
                    _ => frame.ids[i] = format!("{v}"),
                }
            }
            // Steps stretched, reversed or collapsed, or epoch ms one day apart (for calendar freqs).
            frame.ds.iter_mut().for_each(|d| *d *= stretch);
            (frame, h + 1)
        },
    )
}

fn input(f: &Frame, len_delta: Option<(u8, usize)>) -> InputFrame {
    let mut i = InputFrame { unique_id: f.ids.clone(), ds: f.ds.clone(), y: Some(f.y.clone()), columns: f.x.clone().map(|x| vec![("x".to_string(), x)]).unwrap_or_default() };
    if let Some((col, cut)) = len_delta {
        match col {
            0 => i.ds.truncate(i.ds.len().saturating_sub(cut)),
            1 => i.y.as_mut().unwrap().truncate(f.y.len().saturating_sub(cut)),
            _ => i.unique_id.extend(std::iter::repeat("extra".to_string()).take(cut)),
        }
    }
    i
}

proptest! {
    #![proptest_config(config(300))]

    /// Generated frames through the engine's input path: validation, windows, one training step,
    /// a forecast, the future frame. Each ends in `Ok` or `Err`, never a panic.
    #[test]
    fn fuzz_frames_through_fit_and_predict(
        (f, h) in frame(),
        freq in prop_oneof![Just(FreqSpec::Step(1.0)), Just(FreqSpec::Step(2.0)), Just(FreqSpec::Alias("D".into())), Just(FreqSpec::Alias("ME".into())), Just(FreqSpec::Alias("B".into()))],
        len_delta in any::<Option<(u8, usize)>>().prop_map(|o| o.map(|(c, k)| (c % 3, k % 3 + 1))),
        exog in any::<bool>(),
        future_h in any::<Option<u16>>(),
    ) {
        let options = if exog { json!({"h": h, "inputSize": 4, "hiddenSize": 4, "maxSteps": 1, "windowsBatchSize": 4, "histExogList": ["x"]}) } else { json!({"h": h, "inputSize": 4, "hiddenSize": 4, "maxSteps": 1, "windowsBatchSize": 4, "startPaddingEnabled": true}) };
        let mut nf = NeuralForecast::new(vec![ModelSpec { class: "MLP".into(), options }], freq).unwrap();
        let df = input(&f, len_delta);
        if nf.fit(&df, None, &FitOptions::default(), &Control::default()).is_ok() {
            let _ = nf.predict(None, None, None);
            let _ = nf.predict(Some(&df), None, None);
            let _ = nf.make_future_frame(Some(&df), future_h.map(usize::from));
            let _ = nf.predict_insample(1, &std::sync::atomic::AtomicBool::new(false));
        } else {
            let _ = nf.make_future_frame(Some(&df), future_h.map(usize::from));
        }
    }
}


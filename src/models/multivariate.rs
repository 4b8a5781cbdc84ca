//! What the multivariate models (NeuralForecast's `MULTIVARIATE = True`) share: their defaults,
//! the required `nSeries`, and the constructor checks. The pipeline feeds them time windows over
//! all series (`data::multivariate`): `insample_y [B, L, N]`, `hist_exog [B, X, L, N]`,
//! `futr_exog [B, F, L + h, N]`, `stat_exog [N, S]`; they return `[B, h, N·m]`.

use super::options::{CommonOptions, Defaults};
use super::reader::OptionReader;
use super::Capabilities;
use crate::error::{Error, Result};

/// NeuralForecast's multivariate defaults: 32 windows per training and inference batch.
pub const DEFAULTS: Defaults = Defaults { windows_batch_size: 32, inference_windows_batch_size: Some(32), ..Defaults::BASE };

/// `nSeries`, which NeuralForecast requires of every multivariate model.
pub fn read_n_series(r: &mut OptionReader, class: &str) -> Result<usize> {
    if r.raw("nSeries").map_or(true, |v| v.is_null()) {
        return Err(Error::type_err(format!(
            "{class} is a multivariate model: set option 'nSeries' to the number of unique time series in your dataset"
        )));
    }
    r.usize_min("nSeries", 1, 1)
}

/// NeuralForecast's constructor checks: exogenous lists the model cannot use are refused; the
/// univariate RevIN scaler (`scalerType: 'revin'`) is refused too (its affine map is per feature
/// of univariate windows; TSMixer's own `revin` option is the multivariate one).
pub fn check(class: &str, caps: Capabilities, c: &CommonOptions) -> Result<()> {
    for (list, supported, what, key) in [
        (&c.futr_exog_list, caps.futr_exog, "future", "futrExogList"),
        (&c.hist_exog_list, caps.hist_exog, "historic", "histExogList"),
        (&c.stat_exog_list, caps.stat_exog, "static", "statExogList"),
    ] {
        if !supported && !list.is_empty() {
            return Err(Error::type_err(format!("{class} does not support {what} exogenous variables: option '{key}' must be empty")));
        }
    }
    if c.scaler_type == "revin" {
        return Err(Error::range(format!("{class} option 'scalerType': 'revin' is not supported for multivariate models; use another scaler")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::models::tests::{forward, mv_batch as batch};
    use crate::models::{build, Batch};
    use crate::nn::{named_params, param_count};
    use crate::tensor::gradcheck::check_gradients_tol;
    use crate::tensor::Tensor;
    use crate::ErrorKind;

    const CLASSES: [&str; 4] = ["MLPMultivariate", "TSMixer", "TSMixerx", "iTransformer"];

    /// The exogenous kinds (historic, future, static) a class takes.
    fn exog_of(class: &str) -> (usize, usize, usize) {
        match class {
            "TSMixer" => (0, 0, 0),
            "iTransformer" => (0, 1, 0),
            _ => (1, 1, 1),
        }
    }

    #[test]
    fn parameter_counts_match_neuralforecast() {
        // ../shared/reference/results: AirPassengers (1 series, h 12, input 24), the
        // AirPassengers panel (2 series) and sunspots (h 24, input 120).
        for (class, n, h, l, want) in [
            ("TSMixer", 1, 12, 24, 2080),
            ("TSMixerx", 1, 12, 24, 40_963),
            ("MLPMultivariate", 1, 12, 24, 1_087_500),
            ("TSMixer", 2, 12, 24, 2532),
            ("TSMixerx", 2, 12, 24, 41_158),
            ("MLPMultivariate", 2, 12, 24, 1_124_376),
            ("TSMixer", 1, 24, 120, 33_292),
            ("TSMixerx", 1, 24, 120, 55_651),
            ("iTransformer", 1, 12, 24, 6_324_748),
            ("iTransformer", 2, 12, 24, 6_324_748),
            ("iTransformer", 1, 24, 120, 6_380_056),
        ] {
            let m = build(class, &json!({"h": h, "inputSize": l, "nSeries": n})).unwrap();
            assert_eq!(param_count(m.as_ref()), want, "{class} N={n} h={h} L={l}");
        }
    }

    #[test]
    fn forward_shapes_with_exogenous_and_quantiles() {
        for class in CLASSES {
            let (x, f, s) = exog_of(class);
            let mut o = json!({"h": 5, "inputSize": 8, "nSeries": 3, "loss": {"type": "MQLoss", "level": [80, 90]}});
            o["histExogList"] = json!(["a", "b"][..2 * x]);
            o["futrExogList"] = json!(["c"][..f]);
            o["statExogList"] = json!(["s"][..s]);
            match class {
                "MLPMultivariate" => o["hiddenSize"] = json!(8),
                "iTransformer" => o.as_object_mut().unwrap().extend(json!({"hiddenSize": 8, "nHeads": 2, "dFf": 8}).as_object().unwrap().clone()),
                _ => o["ffDim"] = json!(8),
            }
            let m = build(class, &o).unwrap();
            let (nx, nf, ns) = (2 * x, f, s);
            let y = forward(m.as_ref(), &batch(4, 8, 5, 3, nx, nf, ns, 1));
            assert_eq!(y.shape(), &[4, 5, 3 * 5], "{class}");
        }
    }

    #[test]
    fn grad_through_tiny_multivariate_models() {
        // Evaluation mode (BatchNorm on running statistics) and RevIN off: its statistics are
        // detached, as in NeuralForecast, which a finite-difference check would rightly flag.
        // iTransformer's useNorm detaches its mean the same way.
        for (class, own) in [
            ("MLPMultivariate", json!({"hiddenSize": 6})),
            ("TSMixer", json!({"ffDim": 4, "revin": false})),
            ("TSMixerx", json!({"ffDim": 4, "revin": false})),
            ("iTransformer", json!({"hiddenSize": 4, "nHeads": 2, "dFf": 6, "useNorm": false})),
        ] {
            let mut o = json!({"h": 3, "inputSize": 5, "nSeries": 2});
            o.as_object_mut().unwrap().extend(own.as_object().unwrap().clone());
            let (nx, nf, ns) = exog_of(class);
            o["histExogList"] = json!(["x"][..nx]);
            o["futrExogList"] = json!(["f"][..nf]);
            o["statExogList"] = json!(["s"][..ns]);
            let m = build(class, &o).unwrap();
            let b = batch(2, 5, 3, 2, nx, nf, ns, 2);
            let mut inputs = vec![b.insample_y.clone()];
            inputs.extend([&b.hist_exog, &b.futr_exog, &b.stat_exog].into_iter().flatten().cloned());
            check_gradients_tol(
                class,
                |x| {
                    let mut rest = x[1..].iter().cloned();
                    let bb = Batch {
                        insample_y: x[0].clone(),
                        insample_mask: b.insample_mask.clone(),
                        hist_exog: (nx > 0).then(|| rest.next().unwrap()),
                        futr_exog: (nf > 0).then(|| rest.next().unwrap()),
                        stat_exog: (ns > 0).then(|| rest.next().unwrap()),
                    };
                    forward(m.as_ref(), &bb)
                },
                &inputs,
                3e-2,
                3e-2,
            );
        }
    }

    #[test]
    fn normalising_models_follow_each_series_level() {
        // At initialisation a RevIN model's forecast of a series shifted by 1000 is shifted by
        // 1000: normalisation and denormalisation are per series (TSMixer's revin, iTransformer's useNorm).
        for (class, own) in [("TSMixer", json!({"ffDim": 4})), ("iTransformer", json!({"hiddenSize": 8, "nHeads": 2, "dFf": 8}))] {
            let mut o = json!({"h": 2, "inputSize": 6, "nSeries": 2});
            o.as_object_mut().unwrap().extend(own.as_object().unwrap().clone());
            let m = build(class, &o).unwrap();
            let b = batch(1, 6, 2, 2, 0, 0, 0, 3);
            let y0 = forward(m.as_ref(), &b).to_vec();
            let shift = Tensor::from_vec(vec![0.0, 1000.0], &[1, 1, 2]);
            let shifted = Batch { insample_y: b.insample_y.add(&shift), ..batch(1, 6, 2, 2, 0, 0, 0, 3) };
            let y1 = forward(m.as_ref(), &shifted).to_vec();
            for t in 0..2 {
                assert!((y1[t * 2] - y0[t * 2]).abs() < 1e-3, "{class}");
                assert!((y1[t * 2 + 1] - y0[t * 2 + 1] - 1000.0).abs() < 1e-2, "{class}");
            }
        }
    }

    #[test]
    fn constructor_errors_match_neuralforecast() {
        for class in CLASSES {
            let e = build(class, &json!({"h": 2, "inputSize": 4})).err().unwrap();
            assert!(e.kind == ErrorKind::Type && e.message.contains("multivariate model") && e.message.contains("'nSeries'"), "{e}");
            let e = build(class, &json!({"h": 2, "inputSize": 4, "nSeries": 0})).err().unwrap();
            assert_eq!(e.kind, ErrorKind::Range, "{e}");
            let e = build(class, &json!({"h": 2, "inputSize": 4, "nSeries": 2, "scalerType": "revin"})).err().unwrap();
            assert!(e.kind == ErrorKind::Range && e.message.contains("scalerType"), "{e}");
            let v = build(class, &json!({"h": 2, "inputSize": 4, "nSeries": 2})).unwrap().options_json();
            assert_eq!((v["nSeries"].clone(), v["windowsBatchSize"].clone(), v["inferenceWindowsBatchSize"].clone()), (json!(2), json!(32), json!(32)));
        }
        for key in ["futrExogList", "histExogList", "statExogList"] {
            let e = build("TSMixer", &json!({"h": 2, "inputSize": 4, "nSeries": 2, key: ["x"]})).err().unwrap();
            assert!(e.kind == ErrorKind::Type && e.message.contains(key), "{e}");
        }
        for class in ["TSMixer", "TSMixerx", "iTransformer"] {
            let e = build(class, &json!({"h": 2, "inputSize": 4, "nSeries": 2, "dropout": 1.5})).err().unwrap();
            assert!(e.kind == ErrorKind::Range && e.message.contains("dropout"), "{e}");
        }
        let d = |class: &str| build(class, &json!({"h": 2, "inputSize": 4, "nSeries": 2})).unwrap().options_json()["dropout"].clone();
        assert_eq!((d("TSMixer"), d("TSMixerx"), d("iTransformer")), (json!(0.9), json!(0.0), json!(0.1)));
        let e = build("iTransformer", &json!({"h": 2, "inputSize": 4, "nSeries": 2, "hiddenSize": 4, "nHeads": 8})).err().unwrap();
        assert!(e.kind == ErrorKind::Range && e.message.contains("nHeads"), "{e}");
        let e = build("iTransformer", &json!({"h": 2, "inputSize": 4, "nSeries": 2, "histExogList": ["x"]})).err().unwrap();
        assert!(e.kind == ErrorKind::Type && e.message.contains("histExogList"), "{e}");
    }

    #[test]
    fn parameter_names_follow_neuralforecast() {
        let m = build("TSMixerx", &json!({"h": 2, "inputSize": 4, "nSeries": 2, "ffDim": 4, "statExogList": ["s"], "nBlock": 1})).unwrap();
        let names: Vec<String> = named_params(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        for want in ["norm.affine_weight", "temporal_projection.weight", "feature_mixer_hist.feature_lin_1.weight", "feature_mixer_stat.feature_norm.weight", "first_mixing.temporal_mixer.temporal_norm.bias", "mixing_block.0.feature_mixer_stat.project_residual.weight", "out.bias"] {
            assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
        }
        let m = build("TSMixer", &json!({"h": 2, "inputSize": 4, "nSeries": 2})).unwrap();
        let buffers: Vec<String> = crate::nn::named_buffers(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        assert!(buffers.contains(&"mixing_layers.1.feature_mixer.feature_norm.running_var".to_string()), "{buffers:?}");
    }
}

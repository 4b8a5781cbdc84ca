//! `nn::Recurrent` against PyTorch's `nn.GRU`, `nn.RNN` and `nn.LSTM` on the same weights: the
//! gradient checks prove each cell differentiates what it computes, this proves it computes what
//! PyTorch does (gate order, where the reset gate applies, biases).

use super::{named_params, Cell, Ctx, Recurrent};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Outputs `[2, 4, 3]` of a 2-layer, input 2, hidden 3, batch-first network whose j-th parameter
/// (PyTorch's order) holds `0.4·sin(1.3k + j)` at flat index k, on `x[k] = 0.5·cos(0.7k)` of shape
/// `[2, 4, 2]`; from torch 2.x in float64 (the NeuralForecast venv), rounded to 1e-6.
const TORCH: [(&str, [f32; 24]); 3] = [
    (
        "GRU",
        [
            0.289531, 0.058754, -0.137252, 0.400034, 0.105201, -0.246595, 0.462856, 0.122908, -0.328479, 0.470915, 0.143464, -0.376742, 0.288491, 0.061222, -0.138323, 0.384348,
            0.113725, -0.241345, 0.446439, 0.130304, -0.320629, 0.47674, 0.138717, -0.372885,
        ],
    ),
    (
        "RNN",
        [
            0.048608, 0.801367, -0.250863, 0.090632, 0.652675, 0.168012, 0.27503, 0.522605, 0.262338, 0.186991, 0.616604, 0.157704, 0.057392, 0.80093, -0.25745, 0.055944,
            0.685826, 0.116728, 0.259865, 0.539008, 0.246602, 0.219026, 0.575274, 0.215313,
        ],
    ),
    (
        "LSTM",
        [
            0.112827, 0.018867, -0.183406, 0.152989, 0.0445, -0.292732, 0.17007, 0.062963, -0.353508, 0.172824, 0.072867, -0.385695, 0.111874, 0.020743, -0.183805, 0.150285,
            0.045735, -0.292045, 0.167369, 0.064048, -0.352925, 0.173973, 0.073705, -0.385874,
        ],
    ),
];

#[test]
fn recurrent_layers_compute_what_pytorch_computes() {
    let x = Tensor::from_vec((0..16).map(|k| 0.5 * (0.7 * k as f32).cos()).collect(), &[2, 4, 2]);
    for (name, want) in TORCH {
        let cell = match name {
            "GRU" => Cell::Gru,
            "RNN" => Cell::Rnn { relu: false },
            _ => Cell::Lstm,
        };
        let net = Recurrent::new(cell, 2, 3, 2, false, true, 0.0, &mut Rng::seed(0));
        let params = named_params(&net);
        let order = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"];
        assert_eq!(params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), order, "{name}: PyTorch's names and order");
        for (j, (_, p)) in params.iter().enumerate() {
            for (k, v) in p.data_mut().iter_mut().enumerate() {
                *v = 0.4 * (1.3 * k as f32 + j as f32).sin();
            }
        }
        let got = net.forward(&x, &mut Ctx::eval(&mut Rng::seed(0)));
        assert_eq!(got.shape(), &[2, 4, 3]);
        for (g, w) in got.to_vec().iter().zip(want) {
            assert!((g - w).abs() < 2e-5, "{name}: got {:?}, want {want:?}", got.to_vec());
        }
    }
}

/// `nn.LSTM(2, 3, 2, proj_size=2, batch_first=True)` with the same weight and input pattern (its
/// order adds `weight_hr_l{k}` after each layer's biases): outputs `[2, 4, 2]`, then `h_n`
/// `[2 layers, 2, 2]` and `c_n` `[2 layers, 2, 3]`.
const TORCH_PROJECTED: ([f32; 16], [f32; 8], [f32; 12]) = (
    [0.115565, -0.072993, 0.178033, -0.114792, 0.210832, -0.137969, 0.22908, -0.150621, 0.115567, -0.072861, 0.178416, -0.114634, 0.211357, -0.137866, 0.229132, -0.150795],
    [0.192433, -0.172457, 0.185069, -0.166596, 0.22908, -0.150621, 0.229132, -0.150795],
    [-0.539441, -0.522222, 0.147976, -0.483778, -0.55265, 0.142943, 0.367665, -0.70955, -0.425274, 0.367288, -0.709204, -0.426085],
);

#[test]
fn projected_lstm_and_its_final_state_compute_what_pytorch_computes() {
    let x = Tensor::from_vec((0..16).map(|k| 0.5 * (0.7 * k as f32).cos()).collect(), &[2, 4, 2]);
    let net = Recurrent::with_projection(2, 3, 2, 2, false, true, 0.0, &mut Rng::seed(0));
    let params = named_params(&net);
    let names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_hr_l1"];
    assert_eq!(params.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), names);
    for (j, (_, p)) in params.iter().enumerate() {
        for (k, v) in p.data_mut().iter_mut().enumerate() {
            *v = 0.4 * (1.3 * k as f32 + j as f32).sin();
        }
    }
    let run = net.forward_from(&x, None, &mut Ctx::eval(&mut Rng::seed(0)));
    let flat = |ts: &[Tensor]| ts.iter().flat_map(|t| t.to_vec()).collect::<Vec<f32>>();
    let (out, h, c) = TORCH_PROJECTED;
    for (what, got, want) in [("output", run.output.to_vec(), &out[..]), ("h_n", flat(&run.state.h), &h[..]), ("c_n", flat(&run.state.c), &c[..])] {
        assert_eq!(got.len(), want.len(), "{what}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 2e-5, "{what}: got {got:?}, want {want:?}");
        }
    }
}

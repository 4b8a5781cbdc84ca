//! StemGNN (Cao et al., "Spectral Temporal Graph Neural Network for Multivariate Time-series
//! Forecasting") as NeuralForecast 3.3 builds it.
//!
//! A latent correlation layer learns one graph over the series from the batch: a GRU runs over
//! the series axis, self-attention scores every pair of series, and the batch mean of the scores
//! is the adjacency. Its normalised Laplacian's Chebyshev polynomials stand in for the graph
//! Fourier basis (NeuralForecast computes no eigenvectors): two StockBlocks multiply the windows
//! by them, take a DFT over the 4 polynomial orders, pass its real and imaginary parts through
//! GLUs, invert the DFT and mix the orders with a learned weight. The first block's backcast is
//! the second's input; the two forecasts are summed and a two-layer head maps them to `h` steps.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{multivariate, Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{init, join, Cell, Ctx, Linear, Module, Recurrent};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// Chebyshev orders, the length of the DFT axis.
const ORDERS: usize = 4;

/// `torch.fft.fft` over 4 points as real matrices: `X_q = Σ_k x_k e^{-2πi qk/4}`.
const DFT_RE: [f32; 16] = [1., 1., 1., 1., 1., 0., -1., 0., 1., -1., 1., -1., 1., 0., -1., 0.];
const DFT_IM: [f32; 16] = [0., 0., 0., 0., 0., -1., 0., 1., 0., 0., 0., 0., 0., 1., 0., -1.];
/// `torch.fft.irfft(n=4)`: reads bins 0..=2 only (Hermitian weights 1, 2, 1; the imaginary parts
/// of bins 0 and 2 are ignored), so bin 3's column is zero and its GLU outputs get no gradient.
const IRFFT_RE: [f32; 16] = [0.25, 0.5, 0.25, 0., 0.25, 0., -0.25, 0., 0.25, -0.5, 0.25, 0., 0.25, 0., -0.25, 0.];
const IRFFT_IM: [f32; 16] = [0., 0., 0., 0., 0., -0.5, 0., 0., 0., 0., 0., 0., 0., 0.5, 0., 0.];

fn dft(m: &[f32; 16]) -> Tensor {
    Tensor::from_vec(m.to_vec(), &[ORDERS, ORDERS])
}

#[derive(Clone, Debug)]
pub struct StemGnnOptions {
    pub n_stacks: usize,
    pub multi_layer: usize,
    pub dropout_rate: f64,
    pub leaky_rate: f64,
}

/// NeuralForecast's `GLU`: `linear_left(x) · sigmoid(linear_right(x))`.
struct Glu {
    left: Linear,
    right: Linear,
}

impl Glu {
    fn new(fan_in: usize, fan_out: usize, rng: &mut Rng) -> Glu {
        Glu { left: Linear::new(fan_in, fan_out, true, rng), right: Linear::new(fan_in, fan_out, true, rng) }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        self.left.forward(x).mul(&self.right.forward(x).sigmoid())
    }
}

impl Module for Glu {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.left.visit(&join(prefix, "linear_left"), f);
        self.right.visit(&join(prefix, "linear_right"), f);
    }
}

/// `StockBlockLayer`; `backcast` only in the first block (`stack_cnt == 0`), though every block
/// has (and NeuralForecast counts) a `backcast_short_cut`.
struct StockBlock {
    /// `[1, 4, 1, m·L, m·L]`: one `m·L × m·L` map per Chebyshev order.
    weight: Tensor,
    forecast: Linear,
    forecast_result: Linear,
    backcast: Option<Linear>,
    backcast_short_cut: Linear,
    /// Real and imaginary paths interleaved, as NeuralForecast's ModuleList: `GLUs[2i]` real.
    glus: Vec<Glu>,
}

impl StockBlock {
    fn new(l: usize, multi: usize, first: bool, rng: &mut Rng) -> StockBlock {
        let ml = multi * l;
        // xavier_normal_ on a 5-d tensor: fan_in = 4·(m·L)², fan_out = (m·L)².
        let weight = init::xavier_normal(&[1, ORDERS, 1, ml, ml], ORDERS * ml * ml, ml * ml, 1.0, rng);
        let forecast = Linear::new(ml, ml, true, rng);
        let forecast_result = Linear::new(ml, l, true, rng);
        let backcast = first.then(|| Linear::new(ml, l, true, rng));
        let backcast_short_cut = Linear::new(l, l, true, rng);
        let width = ORDERS * ml;
        let glus = (0..6).map(|i| Glu::new(if i < 2 { ORDERS * l } else { width }, width, rng)).collect();
        StockBlock { weight, forecast, forecast_result, backcast, backcast_short_cut, glus }
    }

    /// `spe_seq_cell`: `gfted [B, 4, N, L]` → the inverse DFT `[B, N, 4, m·L]` (NeuralForecast's
    /// `[B, 4, N, m·L]` with the order axis behind the series: the GLUs already emit that layout,
    /// so the inverse transform is applied there and nothing is permuted back).
    fn spectral(&self, gfted: &Tensor) -> Tensor {
        let (b, n, l) = (gfted.dim(0), gfted.dim(2), gfted.dim(3));
        let orders = gfted.reshape(&[b, ORDERS, n * l]);
        // The DFT over the order axis, then per series its 4 orders' windows side by side.
        let part = |m: &[f32; 16]| dft(m).matmul(&orders).reshape(&[b, ORDERS, n, l]).permute(&[0, 2, 1, 3]).reshape(&[b, n, ORDERS * l]);
        let (mut real, mut img) = (part(&DFT_RE), part(&DFT_IM));
        for i in 0..3 {
            real = self.glus[2 * i].forward(&real);
            img = self.glus[2 * i + 1].forward(&img);
        }
        let ml = real.dim(2) / ORDERS;
        let (real, img) = (real.reshape(&[b, n, ORDERS, ml]), img.reshape(&[b, n, ORDERS, ml]));
        dft(&IRFFT_RE).matmul(&real).add(&dft(&IRFFT_IM).matmul(&img))
    }

    /// `x [B, N, L]` and the Chebyshev stack `[4, N, N]` → the forecast `[B, N, L]` and, in the
    /// first block, the backcast `[B, N, L]` the next block reads.
    fn forward(&self, x: &Tensor, mul_l: &Tensor) -> (Tensor, Option<Tensor>) {
        // The "graph Fourier transform": each order's polynomial times every window.
        let gfted = mul_l.matmul(&x.unsqueeze(1));
        let iffted = self.spectral(&gfted);
        let (b, n, ml) = (iffted.dim(0), iffted.dim(1), iffted.dim(3));
        // Σ_k iffted_k · weight_k: with the orders side by side, one product with the stacked weights.
        let igfted = iffted.reshape(&[b, n, ORDERS * ml]).matmul(&self.weight.reshape(&[ORDERS * ml, ml]));
        let forecast = self.forecast_result.forward(&self.forecast.forward(&igfted).sigmoid());
        let backcast = self.backcast.as_ref().map(|bc| bc.forward(&igfted).sub(&self.backcast_short_cut.forward(x)).sigmoid());
        (forecast, backcast)
    }
}

impl Module for StockBlock {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight"), &self.weight);
        self.forecast.visit(&join(prefix, "forecast"), f);
        self.forecast_result.visit(&join(prefix, "forecast_result"), f);
        self.backcast.visit(&join(prefix, "backcast"), f);
        self.backcast_short_cut.visit(&join(prefix, "backcast_short_cut"), f);
        self.glus.visit(&join(prefix, "GLUs"), f);
    }
}

pub struct StemGnn {
    h: usize,
    alpha: f32,
    dropout: f32,
    weight_key: Tensor,
    weight_query: Tensor,
    gru: Recurrent,
    blocks: Vec<StockBlock>,
    fc_in: Linear,
    fc_out: Linear,
}

impl StemGnn {
    /// `latent_correlation_layer`: the Chebyshev stack `[4, N, N]` of the batch's graph.
    fn latent_correlation(&self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let n = x.dim(2);
        // nn.GRU(L, N) over the series axis: the sequence is the N series, each step's features
        // its window; `[B, N(series), N(hidden)]`.
        let states = self.gru.forward(&x.permute(&[0, 2, 1]), ctx);
        let attention = self.self_graph_attention(&states, ctx).mean_axis(0, false);
        // The degree is taken before the adjacency is symmetrised, as NeuralForecast does.
        let degree = attention.sum_axis(1, false);
        let attention = attention.add(&attention.transpose(0, 1)).mul_scalar(0.5);
        let degree_hat = Tensor::ones(&[n]).div(&degree.sqrt().add_scalar(1e-7)).diag();
        let laplacian = degree_hat.matmul(&degree.diag().sub(&attention).matmul(&degree_hat));
        cheb_polynomial(&laplacian)
    }

    /// `[B, N, N]` scores `softmax_j(LeakyReLU(key_i + query_j))` with dropout, where key and
    /// query project each hidden unit's values over the series.
    fn self_graph_attention(&self, states: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (b, n) = (states.dim(0), states.dim(1));
        let input = states.permute(&[0, 2, 1]);
        let key = input.matmul(&self.weight_key);
        let query = input.matmul(&self.weight_query).reshape(&[b, 1, n]);
        key.add(&query).leaky_relu(self.alpha).softmax().dropout(self.dropout, ctx.train, ctx.rng)
    }
}

/// `[T0, T1, T2, T3]` of the Laplacian with NeuralForecast's quirk: T0 is zeros, not the
/// identity, so T2 = 2L² and T3 = 2L·T2 − L (and the DFT's first input is always zero).
fn cheb_polynomial(laplacian: &Tensor) -> Tensor {
    let n = laplacian.dim(0);
    let first = Tensor::zeros(&[n, n]);
    let third = laplacian.matmul(laplacian).mul_scalar(2.0).sub(&first);
    let forth = laplacian.matmul(&third).mul_scalar(2.0).sub(laplacian);
    Tensor::stack(&[first, laplacian.clone(), third, forth], 0)
}

impl Spec for StemGnnOptions {
    const CLASS: &'static str = "StemGNN";
    const DEFAULTS: Defaults = Defaults { num_lr_decays: 3, scaler_type: "robust", ..multivariate::DEFAULTS };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: false, hist_exog: false, stat_exog: false, multivariate: true };
    type Net = StemGnn;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        let n_stacks = r.usize("nStacks", 2)?;
        if n_stacks != 2 {
            // NeuralForecast: "StemGNN currently only supports n_stacks=2." (the forward sums
            // exactly two blocks' forecasts).
            return Err(Error::range(format!("StemGNN option 'nStacks' must be 2 (NeuralForecast's StemGNN only supports n_stacks=2), got {n_stacks}")));
        }
        Ok(StemGnnOptions {
            n_stacks,
            multi_layer: r.usize_min("multiLayer", 5, 1)?,
            dropout_rate: r.f64_in("dropoutRate", 0.5, 0.0, 1.0, false)?,
            leaky_rate: r.f64_in("leakyRate", 0.2, f64::MIN, f64::MAX, false)?,
        })
    }
    fn check(&self, c: &CommonOptions) -> Result<()> {
        multivariate::check(Self::CLASS, Self::CAPABILITIES, c)
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("nStacks", json!(self.n_stacks)),
            ("multiLayer", json!(self.multi_layer)),
            ("dropoutRate", json!(self.dropout_rate)),
            ("leakyRate", json!(self.leaky_rate)),
        ])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (n, l, ho) = (c.n_series.unwrap_or(1) as f64, c.input_size as f64, (c.h * outputs) as f64);
        let ml = self.multi_layer as f64 * l;
        let w = ORDERS as f64 * ml;
        let linear = |i: f64, o: f64| (i + 1.0) * o;
        let block = ORDERS as f64 * ml * ml
            + linear(ml, ml)
            + linear(ml, l)
            + linear(l, l)
            + 4.0 * linear(ORDERS as f64 * l, w)
            + 8.0 * linear(w, w);
        let gru = 3.0 * n * (l + n + 2.0);
        let params = 2.0 * n + gru + self.n_stacks as f64 * block + linear(ml, l) + linear(l, l) + linear(l, ho);
        // Per window (all N series): the GRU's gates over N steps, the N×N scores, and per block
        // the transforms (4 orders, real and imaginary, 4·L and 4·m·L wide per series), each
        // GLU's two linears, sigmoid and product, the linears behind it; the head.
        let per_block = n * (24.0 * l + 27.0 * w + 3.0 * ml);
        let per_window = 18.0 * n * n + 4.0 * n * l + self.n_stacks as f64 * per_block + 2.0 * n * ho;
        Footprint { params, per_window }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> StemGnn {
        let (n, l) = (c.n_series.unwrap_or(1), c.input_size);
        // xavier_uniform_ (gain 1.414) on `[N, 1]`: fan_in 1, fan_out N.
        let weight_key = init::xavier_uniform(&[n, 1], 1, n, 1.414, rng);
        let weight_query = init::xavier_uniform(&[n, 1], 1, n, 1.414, rng);
        let gru = Recurrent::new(Cell::Gru, l, n, 1, false, true, 0.0, rng);
        let blocks = (0..self.n_stacks).map(|i| StockBlock::new(l, self.multi_layer, i == 0, rng)).collect();
        let fc_in = Linear::new(l, l, true, rng);
        let fc_out = Linear::new(l, c.h * outputs, true, rng);
        StemGnn { h: c.h, alpha: self.leaky_rate as f32, dropout: self.dropout_rate as f32, weight_key, weight_query, gru, blocks, fc_in, fc_out }
    }
}

impl Module for StemGnn {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        f(join(prefix, "weight_key"), &self.weight_key);
        f(join(prefix, "weight_query"), &self.weight_query);
        self.gru.visit(&join(prefix, "GRU"), f);
        self.blocks.visit(&join(prefix, "stock_block"), f);
        self.fc_in.visit(&join(prefix, "fc.0"), f);
        self.fc_out.visit(&join(prefix, "fc.2"), f);
    }
}

impl Network for StemGnn {
    /// `insample_y [B, L, N]` → `[B, h, N·m]`.
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let x = &batch.insample_y;
        let b = x.dim(0);
        let mul_l = self.latent_correlation(x, ctx);
        // NeuralForecast's X `[B, 1, N, L]`, without the channel axis.
        let mut input = x.permute(&[0, 2, 1]);
        let mut forecast: Option<Tensor> = None;
        for block in &self.blocks {
            let (f, backcast) = block.forward(&input, &mul_l);
            forecast = Some(match forecast {
                Some(sum) => sum.add(&f),
                None => f,
            });
            if let Some(backcast) = backcast {
                input = backcast;
            }
        }
        let forecast = forecast.expect("StemGNN has two blocks");
        // fc: Linear(L, L), LeakyReLU (PyTorch's default slope, not leakyRate), Linear(L, h·m).
        let y = self.fc_out.forward(&self.fc_in.forward(&forecast).leaky_relu(0.01));
        // [B, N, h·m] → [B, h·m, N] → [B, h, m·N], as NeuralForecast reshapes it.
        y.permute(&[0, 2, 1]).reshape(&[b, self.h, usize::MAX])
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{forward, mv_batch};
    use super::*;
    use crate::nn::{named_params, param_count};
    use crate::tensor::gradcheck::check_gradients_tol;
    use crate::ErrorKind;

    fn build(opts: Value) -> Box<dyn super::super::Model> {
        super::super::build("StemGNN", &opts).unwrap()
    }

    #[test]
    fn parameter_counts_match_neuralforecast() {
        // NeuralForecast 3.3 (`sum(p.numel() for p in StemGNN(...).parameters())`); the first two
        // are ../shared/reference/results (AirPassengers and its 2-series panel).
        for (opts, want) in [
            (json!({"h": 12, "inputSize": 24, "nSeries": 1}), 4_221_695),
            (json!({"h": 12, "inputSize": 24, "nSeries": 2}), 4_221_784),
            (json!({"h": 12, "inputSize": 24, "nSeries": 3}), 4_221_879),
            // NeuralForecast counts MQLoss's 5 quantiles as a (frozen) parameter; ours does not.
            (json!({"h": 5, "inputSize": 8, "nSeries": 4, "multiLayer": 2, "loss": {"type": "MQLoss"}}), 87_078 - 5),
        ] {
            assert_eq!(param_count(build(opts.clone()).as_ref()), want, "{opts}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for n_stacks in [1, 3] {
            let e = super::super::build("StemGNN", &json!({"h": 4, "inputSize": 8, "nSeries": 2, "nStacks": n_stacks})).err().unwrap();
            assert!(e.kind == ErrorKind::Range && e.message.contains("'nStacks'"), "{e}");
        }
        for (opts, kind, key) in [
            (json!({"dropoutRate": 1.5}), ErrorKind::Range, "dropoutRate"),
            (json!({"multiLayer": 0}), ErrorKind::Range, "multiLayer"),
            (json!({"nSeries": 0}), ErrorKind::Range, "nSeries"),
            (json!({"scalerType": "revin"}), ErrorKind::Range, "scalerType"),
            (json!({"histExogList": ["a"]}), ErrorKind::Type, "histExogList"),
            (json!({"futrExogList": ["a"]}), ErrorKind::Type, "futrExogList"),
            (json!({"statExogList": ["a"]}), ErrorKind::Type, "statExogList"),
        ] {
            let mut o = json!({"h": 4, "inputSize": 8, "nSeries": 2});
            o.as_object_mut().unwrap().extend(opts.as_object().unwrap().clone());
            let e = super::super::build("StemGNN", &o).err().unwrap();
            assert!(e.kind == kind && e.message.contains(key), "{e}");
        }
        let e = super::super::build("StemGNN", &json!({"h": 4, "inputSize": 8})).err().unwrap();
        assert!(e.kind == ErrorKind::Type && e.message.contains("'nSeries'"), "{e}");
        let v = build(json!({"h": 4, "inputSize": 8, "nSeries": 2})).options_json();
        assert_eq!(
            [&v["nStacks"], &v["multiLayer"], &v["dropoutRate"], &v["leakyRate"], &v["numLrDecays"], &v["windowsBatchSize"], &v["scalerType"]],
            [&json!(2), &json!(5), &json!(0.5), &json!(0.2), &json!(3), &json!(32), &json!("robust")]
        );
    }

    #[test]
    fn chebyshev_stack_starts_from_zeros() {
        let l = Tensor::from_vec(vec![1.0, -0.5, -0.5, 1.0], &[2, 2]);
        let t = cheb_polynomial(&l).to_vec();
        // T0 = 0, T1 = L, T2 = 2L² = [[2.5, -2], [-2, 2.5]], T3 = 2L·T2 − L.
        assert_eq!(t[..8], [0.0, 0.0, 0.0, 0.0, 1.0, -0.5, -0.5, 1.0]);
        assert_eq!(t[8..12], [2.5, -2.0, -2.0, 2.5]);
        assert_eq!(t[12..], [6.0, -6.0, -6.0, 6.0]);
    }

    #[test]
    fn dft_matrices_are_a_transform_pair() {
        // irfft(fft(x), n=4) = x for real x: the constant matrices compose to the identity.
        let mut rng = Rng::seed(3);
        let x = Tensor::randn(&[4, 5], &mut rng);
        let back = dft(&IRFFT_RE).matmul(&dft(&DFT_RE).matmul(&x)).add(&dft(&IRFFT_IM).matmul(&dft(&DFT_IM).matmul(&x)));
        for (a, b) in back.to_vec().iter().zip(x.to_vec()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn one_series_forecast_ignores_the_window() {
        // NeuralForecast's quirk, kept: with one series the attention is [[1]], its Laplacian
        // D^-½(D − A)D^-½ is 0, so every Chebyshev term and with it both blocks' inputs vanish;
        // the scaled forecast is a constant (scaling alone moves it).
        let m = build(json!({"h": 3, "inputSize": 6, "nSeries": 1, "multiLayer": 1}));
        let (a, b) = (forward(m.as_ref(), &mv_batch(2, 6, 3, 1, 0, 0, 0, 1)), forward(m.as_ref(), &mv_batch(2, 6, 3, 1, 0, 0, 0, 2)));
        assert_eq!(a.to_vec(), b.to_vec());
        let m = build(json!({"h": 3, "inputSize": 6, "nSeries": 2, "multiLayer": 1}));
        let (a, b) = (forward(m.as_ref(), &mv_batch(2, 6, 3, 2, 0, 0, 0, 1)), forward(m.as_ref(), &mv_batch(2, 6, 3, 2, 0, 0, 0, 2)));
        assert_ne!(a.to_vec(), b.to_vec());
    }

    #[test]
    fn grad_through_stemgnn() {
        // Training mode with a fixed seed per call: the attention dropout draws the same mask
        // each time, and the degree (row sums of the dropped-out scores) then varies by series.
        let m = build(json!({"h": 3, "inputSize": 5, "nSeries": 3, "multiLayer": 1, "dropoutRate": 0.3}));
        let b = mv_batch(2, 5, 3, 3, 0, 0, 0, 4);
        for train in [false, true] {
            check_gradients_tol(
                "StemGNN",
                |x| {
                    let bb = Batch { insample_y: x[0].clone(), insample_mask: b.insample_mask.clone(), hist_exog: None, futr_exog: None, stat_exog: None };
                    m.forward(&bb, &mut Ctx::new(train, &mut Rng::seed(5)))
                },
                &[b.insample_y.clone()],
                3e-3,
                3e-2,
            );
        }
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/stemgnn_reference.py: 3 series, inputSize 2, multiLayer 2 (m·L 4 ≠ L ≠ N),
        // MQLoss with one level (3 outputs per step), eval mode.
        let r: Value = serde_json::from_str(include_str!("stemgnn_reference.json")).unwrap();
        let floats = |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect::<Vec<f32>>();
        let names: Vec<&str> = r["names"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let m = build(json!({"h": 3, "inputSize": 2, "nSeries": 3, "multiLayer": 2, "loss": {"type": "MQLoss", "level": [80]}}));
        super::super::tests::load(m.as_ref(), &names, &floats("values"));
        let batch = Batch { insample_y: Tensor::from_vec(floats("y"), &[2, 2, 3]), insample_mask: Tensor::ones(&[2, 2, 3]), hist_exog: None, futr_exog: None, stat_exog: None };
        let out = forward(m.as_ref(), &batch);
        assert_eq!(out.shape(), &[2, 3, 9]);
        super::super::tests::assert_close(&out.to_vec(), &floats("out"));
        assert_eq!(named_params(m.as_ref())[0].0, "weight_key");
    }
}

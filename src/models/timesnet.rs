//! TimesNet (Wu et al., 2023; NeuralForecast's `TimesNet`): each TimesBlock finds the dominant
//! periods of its input by FFT, folds the 1-d series into a 2-d image per period (rows = cycles,
//! columns = phase), convolves it with an Inception block, unfolds, and sums the k results
//! weighted by the softmax of their spectral amplitudes, plus a residual.
//!
//! The window `[B, L]` is embedded (DataEmbedding with PE; future exogenous features of the
//! history only), stretched over time to `L + h` by a linear layer, passed through `encoderLayers`
//! TimesBlocks each followed by one LayerNorm shared by all layers, projected to the loss's
//! outputs, and the last h steps are the forecast.
//!
//! Deviations from NeuralForecast:
//! - an Inception block's mean of `numKernels` 'same' convolutions (kernels 1, 3, ..., 2n-1) is
//!   computed as ONE convolution whose kernel is the mean of the kernels zero-padded to 2n-1
//!   (exact up to rounding, and 2.4x fewer multiplications at the default 6 kernels), cropped
//!   to the taps that reach inside the fold (a 1 × T fold needs one row of an 11 × 11 kernel);
//! - the period search never picks the zeroed DC bin (NeuralForecast would divide by zero when
//!   all other amplitudes are 0, e.g. a constant batch);
//! - odd `hiddenSize` and `topK >= (inputSize + h) // 2 + 1` are refused at construction (in
//!   NeuralForecast the positional encoding fails on an odd size, and topk on too many periods, at
//!   the first forward pass).

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::transformer::DataEmbedding;
use crate::nn::{init, join, Conv2d, Ctx, LayerNorm, Linear, Module};
use crate::rng::Rng;
use crate::tensor::{Conv2dSpec, PadMode, Tensor};

/// NeuralForecast's `Inception_Block_V1`: the mean of `n` 'same' 2-d convolutions with kernels
/// 1, 3, ..., 2n-1 (kaiming-normal fan_out weights, zero biases).
pub struct Inception {
    kernels: Vec<Conv2d>,
}

impl Inception {
    pub fn new(in_ch: usize, out_ch: usize, n: usize, rng: &mut Rng) -> Inception {
        let kernels = (0..n)
            .map(|i| {
                let k = 2 * i + 1;
                let spec = Conv2dSpec { padding: (i, i, i, i), ..Conv2dSpec::default() };
                Conv2d { weight: init::kaiming_normal(&[out_ch, in_ch, k, k], out_ch * k * k, rng), bias: Some(init::zeros(&[out_ch])), spec }
            })
            .collect();
        Inception { kernels }
    }

    fn params(in_ch: f64, out_ch: f64, n: usize) -> f64 {
        (0..n).map(|i| ((2 * i + 1) as f64).powi(2) * in_ch * out_ch + out_ch).sum()
    }

    /// The block as one convolution: every kernel centred in the largest one, so the mean of the
    /// convolutions is the convolution with the mean kernel `[out, in, 2n-1, 2n-1]` and mean bias.
    pub fn merged(&self) -> MergedInception {
        let n = self.kernels.len();
        let mut weight: Option<Tensor> = None;
        for (i, k) in self.kernels.iter().enumerate() {
            let p = n - 1 - i;
            let w = k.weight.pad(2, p, p, PadMode::Constant(0.0)).pad(3, p, p, PadMode::Constant(0.0));
            weight = Some(match weight {
                Some(acc) => acc.add(&w),
                None => w,
            });
        }
        let weight = weight.expect("an Inception block has at least one kernel").div_scalar(n as f32);
        let biases: Vec<Tensor> = self.kernels.iter().map(|k| k.bias.clone().expect("Inception kernels have biases")).collect();
        MergedInception { weight, bias: Tensor::stack(&biases, 0).mean_axis(0, false) }
    }
}

/// An Inception block merged into one kernel (built once per TimesBlock pass, used per period).
pub struct MergedInception {
    weight: Tensor,
    bias: Tensor,
}

impl MergedInception {
    /// `[B, in, H, W]` → `[B, out, H, W]`, 'same' padding. A fold is often smaller than the
    /// kernel (one row for the period T, a few columns for short periods): taps more than H-1
    /// rows (W-1 columns) from the centre only ever read padding, so the kernel is cropped to the
    /// central `min(K, 2H-1) × min(K, 2W-1)` taps. Same result; far fewer multiplications.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let p = (self.weight.dim(2) - 1) / 2;
        let (ph, pw) = (p.min(x.dim(2) - 1), p.min(x.dim(3) - 1));
        let weight = self.weight.narrow(2, p - ph, 2 * ph + 1).narrow(3, p - pw, 2 * pw + 1);
        x.conv2d(&weight, Some(&self.bias), Conv2dSpec { padding: (ph, ph, pw, pw), ..Conv2dSpec::default() })
    }
}

impl Module for Inception {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.kernels.visit(&join(prefix, "kernels"), f);
    }
}

/// The k periods of a batch `[B, T, N]` and their amplitudes `[B, k]` (with grad), NeuralForecast's
/// `FFT_for_Period`: frequencies ranked by the amplitude averaged over batch and channels (DC
/// excluded), each giving the period `T // f`.
fn fft_for_period(x: &Tensor, k: usize) -> (Vec<usize>, Tensor) {
    let t = x.dim(1);
    let (re, im) = x.transpose(1, 2).rfft();
    let amp = Tensor::complex_abs(&re, &im); // [B, N, F]
    let bins = amp.dim(-1);
    let mut mean = vec![0.0f64; bins];
    for (j, v) in amp.data().iter().enumerate() {
        mean[j % bins] += *v as f64;
    }
    // The choice carries no gradient; DC is never a candidate (NeuralForecast zeroes it).
    let mut order: Vec<usize> = (1..bins).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    order.truncate(k);
    let periods = order.iter().map(|&f| t / f).collect();
    (periods, amp.mean_axis(1, false).index_select(1, &order))
}

/// NeuralForecast's `TimesBlock`: Inception → GELU → Inception on each period's 2-d fold.
pub struct TimesBlock {
    k: usize,
    conv_in: Inception,
    conv_out: Inception,
}

impl TimesBlock {
    pub fn new(hidden: usize, conv_hidden: usize, k: usize, num_kernels: usize, rng: &mut Rng) -> TimesBlock {
        let conv_in = Inception::new(hidden, conv_hidden, num_kernels, rng);
        let conv_out = Inception::new(conv_hidden, hidden, num_kernels, rng);
        TimesBlock { k, conv_in, conv_out }
    }

    /// `[B, T, N]` → `[B, T, N]`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (b, t, n) = (x.dim(0), x.dim(1), x.dim(2));
        let (periods, amplitudes) = fft_for_period(x, self.k);
        let (conv_in, conv_out) = (self.conv_in.merged(), self.conv_out.merged());
        let folded: Vec<Tensor> = periods
            .iter()
            .map(|&p| {
                let length = t.div_ceil(p) * p;
                let image = x.pad(1, 0, length - t, PadMode::Constant(0.0)).reshape(&[b, length / p, p, n]).permute(&[0, 3, 1, 2]);
                let out = conv_out.forward(&conv_in.forward(&image).gelu());
                out.permute(&[0, 2, 3, 1]).reshape(&[b, length, n]).narrow(1, 0, t)
            })
            .collect();
        let k = periods.len();
        let weights = amplitudes.softmax().reshape(&[b, 1, 1, k]);
        Tensor::stack(&folded, 3).mul(&weights).sum_axis(-1, false).add(x)
    }
}

impl Module for TimesBlock {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.conv_in.visit(&join(prefix, "conv.0"), f);
        self.conv_out.visit(&join(prefix, "conv.2"), f);
    }
}

/// TimesNet's own options.
#[derive(Clone, Debug)]
pub struct TimesNetOptions {
    pub hidden_size: usize,
    pub dropout: f64,
    pub conv_hidden_size: usize,
    pub top_k: usize,
    pub num_kernels: usize,
    pub encoder_layers: usize,
}

impl Spec for TimesNetOptions {
    const CLASS: &'static str = "TimesNet";
    const DEFAULTS: Defaults = Defaults {
        learning_rate: 1e-4,
        windows_batch_size: 64,
        inference_windows_batch_size: Some(256),
        scaler_type: "standard",
        ..Defaults::BASE
    };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: false, stat_exog: false, multivariate: false };
    type Net = TimesNet;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(TimesNetOptions {
            hidden_size: r.usize_min("hiddenSize", 64, 2)?,
            dropout: r.f64_in("dropout", 0.1, 0.0, 1.0, false)?,
            conv_hidden_size: r.usize_min("convHiddenSize", 64, 1)?,
            top_k: r.usize_min("topK", 5, 1)?,
            num_kernels: r.usize_min("numKernels", 6, 1)?,
            encoder_layers: r.usize_min("encoderLayers", 2, 1)?,
        })
    }

    fn check(&self, c: &CommonOptions) -> Result<()> {
        if self.hidden_size % 2 != 0 {
            return Err(Error::range(format!(
                "TimesNet option 'hiddenSize' must be even (its sinusoidal positional encoding pairs sines and cosines), got {}",
                self.hidden_size
            )));
        }
        let t = c.input_size.saturating_add(c.h);
        if self.top_k > t / 2 {
            return Err(Error::range(format!(
                "TimesNet option 'topK' ({}) must be below the {} frequencies of a window of inputSize + h = {t} steps (at most {})",
                self.top_k,
                t / 2 + 1,
                t / 2
            )));
        }
        Ok(())
    }

    fn to_json(&self) -> Map<String, Value> {
        entries([
            ("hiddenSize", json!(self.hidden_size)),
            ("dropout", json!(self.dropout)),
            ("convHiddenSize", json!(self.conv_hidden_size)),
            ("topK", json!(self.top_k)),
            ("numKernels", json!(self.num_kernels)),
            ("encoderLayers", json!(self.encoder_layers)),
        ])
    }

    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let n = |v: usize| v as f64;
        let (l, h, f, o) = (n(c.input_size), n(c.h), n(c.futr_exog_list.len()), n(outputs));
        let (hid, conv, k, layers) = (n(self.hidden_size), n(self.conv_hidden_size), n(self.top_k), n(self.encoder_layers));
        let t = l + h;
        let block = Inception::params(hid, conv, self.num_kernels) + Inception::params(conv, hid, self.num_kernels);
        let params = layers * block
            + hid * (3.0 + f)
            + 2.0 * hid
            + (l + 1.0) * t
            + (hid + 1.0) * o;
        // Per period the fold is at most 2T long: its pad, permute, two conv outputs, GELU, unfold;
        // per layer the spectrum, the stacked periods, their weighting, residual and LayerNorm.
        let per_period = 2.0 * t * (4.0 * hid + 2.0 * conv) + t * hid;
        let per_layer = k * per_period + t * hid * (4.0 + 2.0 * k) + 3.0 * (t / 2.0 + 1.0) * hid;
        let embedding = l * (4.0 * hid + 3.0 + f);
        let per_window = embedding + 2.0 * t * hid + layers * per_layer + 2.0 * t * o;
        Footprint { params, per_window }
    }

    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> TimesNet {
        let (l, h, hid) = (c.input_size, c.h, self.hidden_size);
        // NeuralForecast's construction order, so that the seeded stream fills the same parts.
        let blocks = (0..self.encoder_layers).map(|_| TimesBlock::new(hid, self.conv_hidden_size, self.top_k, self.num_kernels, rng)).collect();
        let embedding = DataEmbedding::new(1, c.futr_exog_list.len(), hid, self.dropout as f32, rng);
        let layer_norm = LayerNorm::new(hid);
        let predict_linear = Linear::new(l, l + h, true, rng);
        let projection = Linear::new(hid, outputs, true, rng);
        TimesNet { h, input_size: l, blocks, embedding, layer_norm, predict_linear, projection }
    }
}

/// The TimesNet network.
pub struct TimesNet {
    h: usize,
    input_size: usize,
    blocks: Vec<TimesBlock>,
    embedding: DataEmbedding,
    layer_norm: LayerNorm,
    predict_linear: Linear,
    projection: Linear,
}

impl Module for TimesNet {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.blocks.visit(&join(prefix, "model"), f);
        self.embedding.visit(&join(prefix, "enc_embedding"), f);
        self.layer_norm.visit(&join(prefix, "layer_norm"), f);
        self.predict_linear.visit(&join(prefix, "predict_linear"), f);
        self.projection.visit(&join(prefix, "projection"), f);
    }
}

impl Network for TimesNet {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let y = &batch.insample_y;
        let (b, l) = (y.dim(0), y.dim(1));
        // Only the history part of the future exogenous features is used, as in NeuralForecast.
        let marks = batch.futr_exog.as_ref().map(|f| f.narrow(1, 0, self.input_size));
        let e = self.embedding.forward(&y.reshape(&[b, l, 1]), marks.as_ref(), ctx);
        let mut x = self.predict_linear.forward(&e.transpose(1, 2)).transpose(1, 2);
        for block in &self.blocks {
            x = self.layer_norm.forward(&block.forward(&x));
        }
        let t = x.dim(1);
        self.projection.forward(&x).narrow(1, t - self.h, self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    /// NeuralForecast's formulation: the mean of the separate 'same' convolutions.
    fn mean_of_convolutions(inc: &Inception, x: &Tensor) -> Tensor {
        let outs: Vec<Tensor> = inc.kernels.iter().map(|k| k.forward(x)).collect();
        Tensor::stack(&outs, 4).mean_axis(4, false)
    }

    #[test]
    fn inception_is_the_mean_of_its_convolutions() {
        let mut rng = Rng::seed(7);
        let mut inc = Inception::new(3, 4, 3, &mut rng);
        for k in &mut inc.kernels {
            k.bias = Some(Tensor::randn(&[4], &mut rng));
        }
        // 4 × 5 holds the whole 5 × 5 kernel; 1 × 2 and 2 × 1 folds crop it to 1 × 3 and 3 × 1.
        for shape in [[2, 3, 4, 5], [2, 3, 1, 2], [1, 3, 2, 1]] {
            let x = Tensor::randn(&shape, &mut rng);
            let (got, want) = (inc.merged().forward(&x), mean_of_convolutions(&inc, &x));
            assert_eq!(got.shape(), &[shape[0], 4, shape[2], shape[3]]);
            for (a, b) in got.to_vec().iter().zip(&want.to_vec()) {
                assert!((a - b).abs() < 1e-4, "{shape:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn periods_follow_the_dominant_frequency() {
        // A period-4 wave over 16 steps: frequency 4, period 4, and the next strongest after it.
        let x: Vec<f32> = (0..16).map(|t| (std::f32::consts::PI * t as f32 / 2.0).sin() + 0.1 * (t as f32 * 0.7).cos()).collect();
        let (periods, amp) = fft_for_period(&Tensor::from_vec(x, &[1, 16, 1]), 2);
        assert_eq!(periods[0], 4);
        assert_eq!(amp.shape(), &[1, 2]);
    }

    #[test]
    fn forward_equals_neuralforecast_on_the_same_weights() {
        // scripts/timesnet_reference.py: two TimesBlocks with a future column (periods 2, 2 from
        // two frequencies, then 11 and 3: a one-row fold and folds padded from 11 to 12 steps),
        // and one block with the default 11 × 11 Inception kernels, larger than its folds. Then
        // 3 Adam steps on MAE: the backward through the folds and amplitude weights, too.
        use crate::optim::Optimizer;
        use super::super::tests::{assert_close, floats, forward, reference_case};
        let cases: Vec<Value> = serde_json::from_str(include_str!("timesnet_reference.json")).unwrap();
        for r in &cases {
            let (m, batch) = reference_case("TimesNet", r);
            let out = forward(m.as_ref(), &batch);
            assert_close(&out.to_vec(), &floats(r, "out_eval"));
            let target = Tensor::from_vec(floats(r, "target"), out.shape());
            let (params, mut adam) = (crate::nn::named_params(m.as_ref()), crate::optim::Adam::new((0.9, 0.999), 1e-8, 0.0, false));
            for _ in 0..3 {
                let grads = forward(m.as_ref(), &batch).sub(&target).abs().mean_all().backward();
                adam.step(&params, &grads, 1e-3);
            }
            let (after, theirs) = (forward(m.as_ref(), &batch).to_vec(), floats(r, "out_after"));
            for (i, (a, b)) in after.iter().zip(&theirs).enumerate() {
                assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "after training, output {i}: ours {a}, NeuralForecast {b}");
            }
        }
    }

    #[test]
    fn names_and_counts_as_neuralforecast() {
        let opts = serde_json::json!({"h": 4, "inputSize": 8, "futrExogList": ["c"], "hiddenSize": 8, "convHiddenSize": 6, "topK": 2, "numKernels": 2});
        let m = crate::models::build("TimesNet", &opts).unwrap();
        // NeuralForecast: 2141 parameters; model.0.conv.0.kernels.1.weight is (6, 8, 3, 3).
        assert_eq!(crate::nn::param_count(m.as_ref()), 2141);
        let names: Vec<String> = crate::nn::named_params(m.as_ref()).into_iter().map(|(n, _)| n).collect();
        for want in ["model.0.conv.0.kernels.1.weight", "model.1.conv.2.kernels.0.bias", "enc_embedding.value_embedding.tokenConv.weight", "enc_embedding.temporal_embedding.embed.weight", "layer_norm.weight", "predict_linear.bias", "projection.weight"] {
            assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        use crate::models::tests::{base, error};
        // inputSize 8 + h 4 = 12 steps: 7 frequencies, so at most 6 periods.
        assert!(crate::models::build("TimesNet", &base(serde_json::json!({"topK": 6}))).is_ok());
        for (opts, option) in [
            (serde_json::json!({"topK": 7}), "topK"),
            (serde_json::json!({"topK": 0}), "topK"),
            (serde_json::json!({"hiddenSize": 7}), "hiddenSize"),
            (serde_json::json!({"numKernels": 0}), "numKernels"),
            (serde_json::json!({"convHiddenSize": 0}), "convHiddenSize"),
            (serde_json::json!({"encoderLayers": 0}), "encoderLayers"),
            (serde_json::json!({"dropout": 1.5}), "dropout"),
            (serde_json::json!({"histExogList": ["a"]}), "histExogList"),
        ] {
            let e = error("TimesNet", base(opts.clone()));
            assert!(e.to_string().contains(option), "{opts}: {e}");
        }
    }

    #[test]
    fn grad_inception_and_times_block() {
        let mut rng = Rng::seed(8);
        let inc = Inception::new(2, 3, 2, &mut rng);
        let mut inputs = vec![Tensor::randn(&[1, 2, 3, 4], &mut rng)];
        for k in &inc.kernels {
            inputs.push(k.weight.detach());
            inputs.push(Tensor::randn(&[3], &mut rng));
        }
        let rebuilt = |t: &[Tensor]| Inception {
            kernels: (0..2).map(|i| Conv2d { weight: t[1 + 2 * i].clone(), bias: Some(t[2 + 2 * i].clone()), spec: inc.kernels[i].spec }).collect(),
        };
        check_gradients("Inception", |t| rebuilt(t).merged().forward(&t[0]), &inputs);
        // A one-row fold: the kernel cropped to its centre row.
        inputs[0] = Tensor::randn(&[2, 2, 1, 4], &mut rng);
        check_gradients("Inception, cropped", |t| rebuilt(t).merged().forward(&t[0]), &inputs);

        // The block, through the data-dependent periods (fixed under the small probe steps) and
        // the amplitude weights: T = 9 gives periods of 9 // f.
        let block = TimesBlock::new(2, 3, 2, 2, &mut rng);
        let x = vec![Tensor::randn(&[2, 9, 2], &mut rng)];
        check_gradients("TimesBlock", |t| block.forward(&t[0]), &x);
    }
}

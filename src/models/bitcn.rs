//! BiTCN (Sprangers et al., 2023) as NeuralForecast 3.3 builds it. The per-step input (target,
//! historic, static and future exogenous features) is projected to `hiddenSize` channels and run
//! through a backward-looking TCN: `ceil(log2 L)` cells of dilation 1, 2, 4, ..., each a kernel-2
//! convolution, GELU, dropout and a 1×1 convolution split into a residual and a skip; the output
//! is the sum of the skips. With future exogenous variables a forward-looking (anti-causal) TCN
//! runs over their projection across the window and horizon. Dense layers over time map the
//! window to the horizon, and a linear layer gives each step's outputs.

use serde_json::{json, Map, Value};

use super::options::{entries, CommonOptions, Defaults};
use super::reader::OptionReader;
use super::seq_decoder::{encoder_features, encoder_input};
use super::{Batch, Capabilities, Footprint, Network, Spec};
use crate::error::{Error, Result};
use crate::nn::{join, Conv1d, Ctx, Linear, Module};
use crate::rng::Rng;
use crate::tensor::Tensor;

/// NeuralForecast fixes the kernel at 2.
const KERNEL: usize = 2;

#[derive(Clone, Debug)]
pub struct BiTcnOptions {
    hidden_size: usize,
    dropout: f64,
}

/// `TCNCell`: `(h, out) → (h + res, out + skip)` with `[res, skip] = conv2(drop(gelu(conv1(h))))`.
struct TcnCell {
    conv1: Conv1d,
    conv2: Conv1d,
}

/// The looking-forward branch, present only with future exogenous variables.
struct Forward {
    lin_futr: Linear,
    net_fwd: Vec<TcnCell>,
}

pub struct BiTcn {
    input_size: usize,
    h: usize,
    dropout: f32,
    lin_hist: Linear,
    net_bwd: Vec<TcnCell>,
    forward: Option<Forward>,
    temporal_lin1: Linear,
    temporal_lin2: Linear,
    output_lin: Linear,
}

/// Cells of dilation 1, 2, ..., 2^(n-1) whose receptive field covers `steps`: `ceil(log2 steps)`.
fn cells_for(steps: usize) -> usize {
    steps.next_power_of_two().trailing_zeros() as usize
}

impl TcnCell {
    /// `backward` pads on the left (causal), otherwise on the right (looking ahead).
    fn new(hidden: usize, dilation: usize, backward: bool, rng: &mut Rng) -> TcnCell {
        let mut conv1 = Conv1d::new(hidden, hidden, KERNEL, 1, 0, dilation, 1, true, rng);
        let pad = (KERNEL - 1) * dilation;
        conv1.padding = if backward { (pad, 0) } else { (0, pad) };
        TcnCell { conv1, conv2: Conv1d::new(hidden, 2 * hidden, 1, 1, 0, 1, 1, true, rng) }
    }

    fn params(hidden: f64) -> f64 {
        hidden * (hidden * KERNEL as f64 + 1.0) + 2.0 * hidden * (hidden + 1.0)
    }
}

impl Module for TcnCell {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.conv1.visit(&join(prefix, "conv1"), f);
        self.conv2.visit(&join(prefix, "conv2"), f);
    }
}

/// A TCN over `x [B, hidden, T]`: the sum of its cells' skips, `[B, hidden, T]`.
fn tcn(cells: &[TcnCell], x: Tensor, p: f32, ctx: &mut Ctx) -> Tensor {
    let hidden = x.dim(1);
    let mut state = x;
    let mut out: Option<Tensor> = None;
    for cell in cells {
        let z = cell.conv2.forward(&cell.conv1.forward(&state).gelu().dropout(p, ctx.train, ctx.rng));
        let (res, skip) = (z.narrow(1, 0, hidden), z.narrow(1, hidden, hidden));
        state = state.add(&res);
        out = Some(match out {
            Some(o) => o.add(&skip),
            None => skip,
        });
    }
    out.expect("at least one cell (inputSize >= 2)")
}

impl Spec for BiTcnOptions {
    const CLASS: &'static str = "BiTCN";
    const DEFAULTS: Defaults = Defaults { inference_windows_batch_size: Some(1024), ..Defaults::BASE };
    const CAPABILITIES: Capabilities = Capabilities { futr_exog: true, hist_exog: true, stat_exog: true, multivariate: false };
    type Net = BiTcn;

    fn read(r: &mut OptionReader, _: &CommonOptions) -> Result<Self> {
        Ok(BiTcnOptions { hidden_size: r.usize_min("hiddenSize", 16, 1)?, dropout: r.f64_in("dropout", 0.5, 0.0, 0.99, false)? })
    }
    fn check(&self, c: &CommonOptions) -> Result<()> {
        // NeuralForecast builds no backward cell for a one-step window and then fails in forward.
        if c.input_size < 2 {
            return Err(Error::range(format!("BiTCN option 'inputSize' ({}) must be at least 2: its backward TCN needs ceil(log2 inputSize) >= 1 cells", c.input_size)));
        }
        Ok(())
    }
    fn to_json(&self) -> Map<String, Value> {
        entries([("hiddenSize", json!(self.hidden_size)), ("dropout", json!(self.dropout))])
    }
    fn footprint(&self, c: &CommonOptions, outputs: usize) -> Footprint {
        let (l, h, d) = (c.input_size as f64, c.h as f64, self.hidden_size as f64);
        let (features, f) = (encoder_features(c) as f64, c.futr_exog_list.len() as f64);
        let bwd = cells_for(c.input_size) as f64;
        // Per cell and step: padded input and its columns, conv1, GELU, mask, conv2, the sums.
        let cell_values = |steps: f64, cells: f64| cells * steps * (3.0 * d + 3.0 * d + 4.0 * d);
        let (mut params, mut per_window) = ((features + 1.0) * d + bwd * TcnCell::params(d), l * features + 2.0 * l * d + cell_values(l, bwd));
        let mult = if f > 0.0 {
            let fwd = cells_for(c.input_size + c.h) as f64;
            params += (f + 1.0) * d + fwd * TcnCell::params(d);
            per_window += (l + h) * (f + 2.0 * d) + cell_values(l + h, fwd);
            3.0
        } else {
            1.0
        };
        params += (l + 1.0) * d + (d + 1.0) * h + (mult * d + 1.0) * outputs as f64;
        per_window += 2.0 * d * (3.0 * d + 2.0 * h) + h * (mult * d + outputs as f64);
        Footprint { params, per_window }
    }
    fn build(&self, c: &CommonOptions, outputs: usize, rng: &mut Rng) -> BiTcn {
        let (l, h, d) = (c.input_size, c.h, self.hidden_size);
        let lin_hist = Linear::new(encoder_features(c), d, true, rng);
        let net_bwd = (0..cells_for(l)).map(|i| TcnCell::new(d, 1 << i, true, rng)).collect();
        let forward = (!c.futr_exog_list.is_empty()).then(|| Forward {
            lin_futr: Linear::new(c.futr_exog_list.len(), d, true, rng),
            net_fwd: (0..cells_for(l + h)).map(|i| TcnCell::new(d, 1 << i, false, rng)).collect(),
        });
        let mult = if forward.is_some() { 3 } else { 1 };
        BiTcn {
            input_size: l,
            h,
            dropout: self.dropout as f32,
            lin_hist,
            net_bwd,
            forward,
            temporal_lin1: Linear::new(l, d, true, rng),
            temporal_lin2: Linear::new(d, h, true, rng),
            output_lin: Linear::new(mult * d, outputs, true, rng),
        }
    }
}

impl Module for BiTcn {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        self.lin_hist.visit(&join(prefix, "lin_hist"), f);
        self.net_bwd.visit(&join(prefix, "net_bwd"), f);
        if let Some(fw) = &self.forward {
            fw.lin_futr.visit(&join(prefix, "lin_futr"), f);
            fw.net_fwd.visit(&join(prefix, "net_fwd"), f);
        }
        self.temporal_lin1.visit(&join(prefix, "temporal_lin1"), f);
        self.temporal_lin2.visit(&join(prefix, "temporal_lin2"), f);
        self.output_lin.visit(&join(prefix, "output_lin"), f);
    }
}

impl Network for BiTcn {
    fn forward(&self, batch: &Batch, ctx: &mut Ctx) -> Tensor {
        let (l, h, p) = (self.input_size, self.h, self.dropout);
        // The looking-forward TCN over the future exogenous values of window and horizon.
        let futr = match (&self.forward, &batch.futr_exog) {
            (Some(fw), Some(x)) => {
                let z = fw.lin_futr.forward(x).dropout(p, ctx.train, ctx.rng).transpose(1, 2);
                let z = tcn(&fw.net_fwd, z, p, ctx);
                Some((z.narrow(2, 0, l), z.narrow(2, l, h)))
            }
            _ => None,
        };
        let x = self.lin_hist.forward(&encoder_input(batch, l)).dropout(p, ctx.train, ctx.rng).transpose(1, 2);
        let mut x = tcn(&self.net_bwd, x, p, ctx);
        if let Some((window, _)) = &futr {
            x = Tensor::concat(&[x, window.clone()], 1);
        }
        // [B, C, L] → [B, C, hidden] → [B, C, h], over time.
        let x = self.temporal_lin1.forward(&x).gelu().dropout(p, ctx.train, ctx.rng);
        let mut x = self.temporal_lin2.forward(&x);
        if let Some((_, horizon)) = &futr {
            x = Tensor::concat(&[x, horizon.clone()], 1);
        }
        self.output_lin.forward(&x.transpose(1, 2))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::error;
    use super::cells_for;
    use serde_json::json;

    #[test]
    fn cells_cover_the_receptive_field_as_neuralforecast() {
        // ceil(log2((L - 1) / (k - 1) + 1)) with k = 2.
        for (steps, want) in [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (24, 5), (32, 5), (33, 6), (36, 6)] {
            assert_eq!(cells_for(steps), want, "{steps}");
        }
    }

    #[test]
    fn constructor_errors_name_the_option() {
        for (opts, key) in [
            (json!({"h": 3, "inputSize": 1}), "inputSize"),
            (json!({"h": 3, "inputSize": 8, "hiddenSize": 0}), "hiddenSize"),
            (json!({"h": 3, "inputSize": 8, "dropout": 1.0}), "dropout"),
        ] {
            let e = error("BiTCN", opts).to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}

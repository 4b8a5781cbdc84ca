//! FEDformer's frequency-enhanced blocks (Zhou et al., "FEDformer: Frequency Enhanced Decomposed
//! Transformer for Long-term Series Forecasting"), as NeuralForecast 3.3 runs them inside the
//! decomposition transformer: `FourierBlock` (self-attention on a few Fourier modes of the
//! queries, each mixed across features by complex weights) and `FourierCrossAttention` (the
//! selected modes of queries against keys, a complex tanh, then the same mixing).
//!
//! Complex weights are held as one real tensor with a trailing axis of 2 (re, im), as
//! `torch.view_as_real` lays them out, so Adam steps both parts as PyTorch's does.

use super::module::{join, Ctx};
use super::transformer::InnerAttention;
use crate::rng::Rng;
use crate::tensor::{PadMode, Tensor};

/// NumPy's legacy global generator (`np.random.seed(int)`, MT19937) and its list shuffle, which
/// pick FEDformer's random modes after `pl.seed_everything(random_seed)`.
pub struct NumpyLegacyRng {
    mt: [u32; 624],
    pos: usize,
}

impl NumpyLegacyRng {
    pub fn seed(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32.wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        NumpyLegacyRng { mt, pos: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.pos >= 624 {
            for i in 0..624 {
                let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
                self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ if y & 1 == 1 { 0x9908_b0df } else { 0 };
            }
            self.pos = 0;
        }
        let mut y = self.mt[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A uniform integer in `0..=max` by masked rejection (`random_interval`).
    fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for s in [1, 2, 4, 8, 16] {
            mask |= mask >> s;
        }
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }

    /// `np.random.shuffle(list)`: Fisher–Yates from the end.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.interval(i as u32) as usize;
            x.swap(i, j);
        }
    }
}

/// `get_frequency_modes(seq_len, modes, mode_select_method)`: `min(modes, seq_len/2)` of the
/// frequencies `0..seq_len/2`, a random choice (`'random'`, drawn from `rng`) or the lowest,
/// sorted.
pub fn frequency_modes(seq_len: usize, modes: usize, random: bool, rng: &mut NumpyLegacyRng) -> Vec<usize> {
    let modes = modes.min(seq_len / 2);
    let mut index: Vec<usize> = (0..seq_len / 2).collect();
    if random {
        rng.shuffle(&mut index);
    }
    index.truncate(modes);
    index.sort_unstable();
    index
}

/// Complex weights `[8, E, O, M]` (plus the (re, im) axis) drawn as `scale · torch.rand(cfloat)`:
/// both parts uniform in `[0, scale)`.
fn complex_weights(e: usize, o: usize, modes: usize, scale: f32, rng: &mut Rng) -> Tensor {
    let n = 8 * e * o * modes * 2;
    Tensor::param((0..n).map(|_| scale * rng.uniform(0.0, 1.0)).collect(), &[8, e, o, modes, 2])
}

/// The real and imaginary parts `[8, E, O, M]` of complex weights.
fn parts(w: &Tensor) -> (Tensor, Tensor) {
    let shape = &w.shape()[..4];
    (w.narrow(-1, 0, 1).reshape(shape), w.narrow(-1, 1, 1).reshape(shape))
}

/// `einsum('bhex,heox->bhox')`: per head and mode, the `[E]` features of `x` `[B, H, E, M]`
/// mixed by the weights `[H, E, O, M]` into `[B, H, O, M]`, as one batched complex product over
/// (head, mode).
fn mix_modes(x: (&Tensor, &Tensor), w: &Tensor) -> (Tensor, Tensor) {
    let (wr, wi) = parts(w);
    let by_mode = |t: &Tensor| t.permute(&[1, 3, 0, 2]);
    let (xr, xi) = (by_mode(x.0), by_mode(x.1));
    let (wr, wi) = (wr.permute(&[0, 3, 1, 2]), wi.permute(&[0, 3, 1, 2]));
    let (re, im) = Tensor::complex_matmul(&xr, &xi, &wr, &wi);
    (re.permute(&[2, 0, 3, 1]), im.permute(&[2, 0, 3, 1]))
}

/// NeuralForecast's `AutoCorrelationLayer` views the Fourier blocks' `[B, H, E, L]` output as
/// `[B, L, H·E]` without a permute; [`AttentionLayer`](super::transformer::AttentionLayer)
/// moves `[B, H, L, E]` heads behind the positions first, so the buffer is handed over as that.
fn as_heads_by_position(x: &Tensor) -> Tensor {
    let (b, h, e, l) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3));
    x.reshape(&[b, l, h, e]).permute(&[0, 2, 1, 3])
}

/// `FourierBlock`: the rfft of the queries over time, the selected modes mixed by the weights,
/// written to the first `M` frequency slots (NeuralForecast writes mode `wi` to slot `wi`, not to
/// the mode's own frequency), the rest zero, and the inverse rfft. Keys and values are unused.
#[derive(Clone)]
pub struct FourierBlock {
    /// `[8, E, O, M, 2]`
    pub weights: Tensor,
    pub index: Vec<usize>,
    /// Whether this copy names the weights: NeuralForecast shares one block across all layers
    /// of the encoder (and one across the decoder's), so only the first copy holds them.
    pub owner: bool,
}

impl FourierBlock {
    /// `hidden` features in 8 heads; modes from `seq_len`.
    pub fn new(hidden: usize, seq_len: usize, modes: usize, random: bool, numpy: &mut NumpyLegacyRng, rng: &mut Rng) -> Self {
        let index = frequency_modes(seq_len, modes, random, numpy);
        let scale = 1.0 / (hidden * hidden) as f32;
        FourierBlock { weights: complex_weights(hidden / 8, hidden / 8, index.len(), scale, rng), index, owner: true }
    }
}

impl InnerAttention for FourierBlock {
    fn attend(&self, q: &Tensor, _k: &Tensor, _v: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let l = q.dim(2);
        let (re, im) = q.transpose(2, 3).rfft();
        let bins = re.dim(-1);
        let (re, im) = mix_modes((&re.index_select(-1, &self.index), &im.index_select(-1, &self.index)), &self.weights);
        let fill = |t: Tensor| t.pad(-1, 0, bins - self.index.len(), PadMode::Constant(0.0));
        as_heads_by_position(&Tensor::irfft(&fill(re), &fill(im), l))
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if self.owner {
            f(join(prefix, "weights1"), &self.weights);
        }
    }
}

/// `FourierCrossAttention` (tanh): the selected modes `Q` `[E, Mq]` of the queries and `K`
/// `[E, Mk]` of the keys (per batch item and head), `tanh(Qᵀ·K)·Kᵀ` mixed by the weights,
/// scattered to the query modes' own frequencies, divided by `in · out` channels, inverse rfft.
/// The values are unused.
#[derive(Clone)]
pub struct FourierCrossAttention {
    /// `[8, E, O, Mq, 2]`
    pub weights: Tensor,
    pub index_q: Vec<usize>,
    pub index_kv: Vec<usize>,
    /// `in_channels · out_channels`
    pub channels: usize,
    /// See [`FourierBlock::owner`].
    pub owner: bool,
}

impl FourierCrossAttention {
    pub fn new(hidden: usize, seq_len_q: usize, seq_len_kv: usize, modes: usize, random: bool, numpy: &mut NumpyLegacyRng, rng: &mut Rng) -> Self {
        let index_q = frequency_modes(seq_len_q, modes, random, numpy);
        let index_kv = frequency_modes(seq_len_kv, modes, random, numpy);
        let scale = 1.0 / (hidden * hidden) as f32;
        let weights = complex_weights(hidden / 8, hidden / 8, index_q.len(), scale, rng);
        FourierCrossAttention { weights, index_q, index_kv, channels: hidden * hidden, owner: true }
    }
}

impl InnerAttention for FourierCrossAttention {
    fn attend(&self, q: &Tensor, k: &Tensor, _v: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let l = q.dim(2);
        let modes = |x: &Tensor, index: &[usize]| {
            let (re, im) = x.transpose(2, 3).rfft();
            (re.index_select(-1, index), im.index_select(-1, index), re.dim(-1))
        };
        let (qr, qi, bins) = modes(q, &self.index_q);
        let (kr, ki, _) = modes(k, &self.index_kv);
        let t = |x: &Tensor| x.transpose(2, 3);
        // einsum('bhex,bhey->bhxy'), tanh, einsum('bhxy,bhey->bhex').
        let (sr, si) = Tensor::complex_matmul(&t(&qr), &t(&qi), &kr, &ki);
        let (sr, si) = Tensor::complex_tanh(&sr, &si);
        let (vr, vi) = Tensor::complex_matmul(&sr, &si, &t(&kr), &t(&ki));
        let (re, im) = mix_modes((&t(&vr), &t(&vi)), &self.weights);
        // Each frequency reads its mode's column, or the zero column after the last mode.
        let m = self.index_q.len();
        let mut source = vec![m; bins];
        for (i, &j) in self.index_q.iter().enumerate() {
            source[j] = i;
        }
        let scale = 1.0 / self.channels as f32;
        let place = |x: Tensor| x.pad(-1, 0, 1, PadMode::Constant(0.0)).index_select(-1, &source).mul_scalar(scale);
        as_heads_by_position(&Tensor::irfft(&place(re), &place(im), l))
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(String, &Tensor)) {
        if self.owner {
            f(join(prefix, "weights1"), &self.weights);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::gradcheck::check_gradients;

    #[test]
    fn numpy_shuffle_and_modes() {
        // np.random.seed(1); l = list(range(100)); np.random.shuffle(l); l[:10]
        let mut rng = NumpyLegacyRng::seed(1);
        let mut l: Vec<usize> = (0..100).collect();
        rng.shuffle(&mut l);
        assert_eq!(l[..10], [80, 84, 33, 81, 93, 17, 36, 82, 69, 65]);
        // Fewer frequencies than modes: all of them, whatever the draw.
        assert_eq!(frequency_modes(24, 64, true, &mut rng), (0..12).collect::<Vec<_>>());
        assert_eq!(frequency_modes(200, 3, false, &mut rng), [0, 1, 2]);
    }

    fn block_inputs(l: usize, s: usize, seed: u64) -> Vec<Tensor> {
        let mut rng = Rng::seed(seed);
        vec![Tensor::randn(&[2, 8, l, 2], &mut rng), Tensor::randn(&[2, 8, s, 2], &mut rng)]
    }

    #[test]
    fn grad_fourier_blocks() {
        let (mut numpy, mut rng) = (NumpyLegacyRng::seed(3), Rng::seed(4));
        // Weights much larger than NeuralForecast's 1/hidden² so the check sees them.
        let mut block = FourierBlock::new(16, 9, 3, true, &mut numpy, &mut rng);
        block.weights = block.weights.mul_scalar(200.0).detach();
        let x = block_inputs(9, 9, 5);
        check_gradients("FourierBlock", |t| FourierBlock { weights: t[1].clone(), ..block.clone() }.attend(&t[0], &t[0], &t[0], &mut Ctx::eval(&mut Rng::seed(0))), &[x[0].clone(), block.weights.clone()]);
        let mut cross = FourierCrossAttention::new(16, 7, 10, 2, true, &mut numpy, &mut rng);
        cross.weights = cross.weights.mul_scalar(200.0).detach();
        cross.channels = 1;
        let x = block_inputs(7, 10, 6);
        check_gradients(
            "FourierCrossAttention",
            |t| FourierCrossAttention { weights: t[2].clone(), ..cross.clone() }.attend(&t[0], &t[1], &t[1], &mut Ctx::eval(&mut Rng::seed(0))),
            &[x[0].clone(), x[1].clone(), cross.weights.clone()],
        );
    }
}

//! Seeded random numbers. ChaCha8 is portable and reproducible: the same seed gives the same stream
//! on every platform, which is what "deterministic results for a fixed seed" needs.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The crate's random number generator.
#[derive(Clone, Debug, PartialEq)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn seed(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }
    /// A uniform draw from [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.0.gen::<f32>()
    }
    /// A standard normal draw.
    pub fn normal(&mut self) -> f32 {
        StandardNormal.sample(&mut self.0)
    }
    /// A uniform integer in [0, n). `n` must be > 0.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }
    /// A uniform 64-bit integer (the key of a counter-based stream: the dropout masks).
    pub fn next_u64(&mut self) -> u64 {
        self.0.gen::<u64>()
    }
    /// A uniform f64 in [0, 1).
    pub fn unit_f64(&mut self) -> f64 {
        self.0.gen::<f64>()
    }
    /// A fresh generator derived from this one (for a sub-task that must not shift this stream).
    pub fn fork(&mut self) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(self.0.gen::<u64>()))
    }
    /// Where the stream stands, to continue it later with [`Rng::from_state`] (checkpoints).
    pub fn state(&self) -> RngState {
        RngState { seed: self.0.get_seed(), stream: self.0.get_stream(), word_pos: self.0.get_word_pos() }
    }
    /// The generator at `state`: it draws what the one `state` was taken from would have drawn next.
    pub fn from_state(state: &RngState) -> Rng {
        let mut r = ChaCha8Rng::from_seed(state.seed);
        r.set_stream(state.stream);
        r.set_word_pos(state.word_pos);
        Rng(r)
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// A generator's whole state: ChaCha's key, stream and position (a counter-based generator keeps
/// no other state, so these three continue the stream exactly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngState {
    pub seed: [u8; 32],
    pub stream: u64,
    pub word_pos: u128,
}

impl RngState {
    /// As text: `seed-hex:stream:position` (JSON numbers cannot hold a u128 exactly).
    pub fn to_text(&self) -> String {
        let seed: String = self.seed.iter().map(|b| format!("{b:02x}")).collect();
        format!("{seed}:{}:{}", self.stream, self.word_pos)
    }
    /// Reads [`RngState::to_text`]; None when `text` is not one.
    pub fn from_text(text: &str) -> Option<RngState> {
        let mut parts = text.split(':');
        let (hex, stream, pos) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(RngState { seed, stream: stream.parse().ok()?, word_pos: pos.parse().ok()? })
    }
}

/// A counter-based stream of uniform 32-bit draws: the draw at position `n` is a hash of `n` under
/// a key (taken from an [`Rng`] with [`Rng::next_u64`]), so a dropout mask can be recomputed in
/// backward instead of stored, and split over threads without changing a value.
#[derive(Clone, Copy, Debug)]
pub struct Counter {
    key: [u32; 2],
}

/// Wellons' `lowbias32`: a 32-bit permutation whose every output bit depends on every input bit
/// (bias 0.17 in his avalanche tests), with 32-bit multiplies only, so loops over it vectorize on
/// AVX2 and NEON as well as on AVX-512.
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x21f0_aaad);
    x ^= x >> 15;
    x = x.wrapping_mul(0x735a_2d97);
    x ^ (x >> 15)
}

impl Counter {
    pub fn new(key: u64) -> Counter {
        Counter { key: [key as u32, (key >> 32) as u32] }
    }
    /// The stream of positions `hi·2³² + lo`, drawn by `lo` with [`Counter::draw`]: a loop over
    /// one 2³² block then hashes 32-bit positions only.
    #[inline(always)]
    pub fn block(self, hi: u32) -> Counter {
        Counter { key: [self.key[0] ^ lowbias32(hi), self.key[1]] }
    }
    /// The draw at position `lo` of this block. Two keyed rounds: one would make the masks of two
    /// keys shifted copies of each other.
    #[inline(always)]
    pub fn draw(self, lo: u32) -> u32 {
        lowbias32(lowbias32(lo ^ self.key[0]) ^ self.key[1])
    }
    /// The draw at any position.
    #[inline(always)]
    pub fn draw_at(self, n: u64) -> u32 {
        self.block((n >> 32) as u32).draw(n as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::{Rng, RngState};

    #[test]
    fn a_restored_state_continues_the_stream() {
        let mut a = Rng::seed(11);
        a.normal();
        a.below(5);
        let text = a.state().to_text();
        let mut b = Rng::from_state(&RngState::from_text(&text).unwrap());
        let draws = |r: &mut Rng| (r.next_u64(), r.uniform(0.0, 1.0).to_bits(), r.normal().to_bits());
        assert_eq!(draws(&mut a), draws(&mut b));
        assert_eq!(RngState::from_text("00:1:2"), None);
        assert_eq!(RngState::from_text(&format!("{}:1", "0".repeat(64))), None);
    }
}

//! Seeded random numbers. ChaCha8 is portable and reproducible: the same seed gives the same stream
//! on every platform, which is what "deterministic results for a fixed seed" needs.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The crate's random number generator.
#[derive(Clone, Debug)]
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
    /// Fills `out` with uniform 32-bit integers (in bulk: far cheaper per value than `uniform`).
    pub fn fill_u32(&mut self, out: &mut [u32]) {
        self.0.fill(out);
    }
    /// A uniform f64 in [0, 1).
    pub fn unit_f64(&mut self) -> f64 {
        self.0.gen::<f64>()
    }
    /// A fresh generator derived from this one (for a sub-task that must not shift this stream).
    pub fn fork(&mut self) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(self.0.gen::<u64>()))
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

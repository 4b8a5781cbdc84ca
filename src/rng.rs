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
    /// Large fills run in chunks on the thread pool, each chunk seeking to its own stretch of the
    /// same stream, so the values are those of one sequential fill whatever the thread count.
    pub fn fill_u32(&mut self, out: &mut [u32]) {
        const CHUNK: usize = 1 << 13;
        if out.len() < 4 * CHUNK || crate::kernels::inline::active() {
            self.0.fill(out);
            return;
        }
        use rayon::prelude::*;
        let start = self.0.get_word_pos();
        let base = &self.0;
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(i, c)| {
            let mut r = base.clone();
            r.set_word_pos(start + (i * CHUNK) as u128);
            r.fill(c);
        });
        self.0.set_word_pos(start + out.len() as u128);
    }
    /// A uniform 64-bit integer (a seed for a counter-based stream, such as attention's dropout).
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
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn a_chunked_fill_is_the_sequential_stream() {
        // Start mid-block, so the seeks must count the words already used.
        let (mut a, mut b) = (Rng::seed(3), Rng::seed(3));
        a.below(7);
        b.below(7);
        let mut big = vec![0u32; 100_003];
        a.fill_u32(&mut big);
        let mut one = vec![0u32; 100_003];
        for v in one.iter_mut() {
            let mut w = [0u32; 1];
            b.fill_u32(&mut w);
            *v = w[0];
        }
        assert_eq!(big, one);
        assert_eq!(a.below(1 << 30), b.below(1 << 30), "the stream continues after the fill");
    }
}

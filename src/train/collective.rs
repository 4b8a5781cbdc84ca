//! Data-parallel training: the few collective operations the trainer needs, behind a trait so the
//! engine never sees MPI. [`Local`] is the one-process world; the MPI implementation (cargo feature
//! `mpi`, [`super::mpi`]) runs every MPI call on a thread of its own.

use crate::error::{Error, Result};

/// A group of processes training one model together, each knowing its rank. Every rank must make
/// the same calls in the same order with buffers of the same length (but for the byte buffers,
/// which may differ in length between ranks).
pub trait Collective: Send + Sync {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// Rank 0's `buf` on every rank.
    fn broadcast_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>>;
    /// The element-wise sum of every rank's `buf`, on every rank.
    fn all_reduce_sum_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>>;
    fn all_reduce_sum_f64(&self, buf: Vec<f64>) -> Result<Vec<f64>>;
    /// Rank 0's `buf` on every rank, whatever its length (the other ranks' `buf` is ignored).
    fn broadcast_bytes(&self, buf: Vec<u8>) -> Result<Vec<u8>>;
    /// Every rank's `buf`, of any length, in rank order, on every rank.
    fn all_gather_bytes(&self, buf: Vec<u8>) -> Result<Vec<Vec<u8>>>;
}

/// A world of one process: every operation returns its buffer as it is.
pub struct Local;

impl Collective for Local {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn broadcast_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
        Ok(buf)
    }
    fn all_reduce_sum_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
        Ok(buf)
    }
    fn all_reduce_sum_f64(&self, buf: Vec<f64>) -> Result<Vec<f64>> {
        Ok(buf)
    }
    fn broadcast_bytes(&self, buf: Vec<u8>) -> Result<Vec<u8>> {
        Ok(buf)
    }
    fn all_gather_bytes(&self, buf: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        Ok(vec![buf])
    }
}

/// Rank `rank`'s part of `n` items split into `size` contiguous parts whose lengths differ by at
/// most one: the range `begin..end`.
pub fn share(n: usize, rank: usize, size: usize) -> std::ops::Range<usize> {
    let size = size.max(1);
    n * rank / size..n * (rank + 1) / size
}

/// The error of a collective step that failed on some rank: this rank's own, or one naming the
/// other ranks' failures.
pub fn failed<T>(local: Result<T>, failures: f64, what: &str) -> Error {
    match local {
        Err(e) => e,
        Ok(_) => Error::value(format!("data-parallel fit stopped at {what}: {failures} other rank(s) failed or were aborted (their own errors say why)")),
    }
}

/// `local` if it succeeded on every rank, else an error on every rank (see [`failed`]): a rank
/// that fails alone (its shard of the data refused) must not leave the others waiting for it in
/// their next collective.
pub fn agree<T>(world: &dyn Collective, local: Result<T>, what: &str) -> Result<T> {
    let failures = world.all_reduce_sum_f64(vec![if local.is_err() { 1.0 } else { 0.0 }])?[0];
    if failures > 0.0 {
        return Err(failed(local, failures, what));
    }
    local
}

/// Refuses a world whose ranks disagree on any of the named `values` (each rank's model sizes and
/// step counts): their collectives would not line up, and MPI would mix or truncate buffers.
pub fn check_same(world: &dyn Collective, values: &[(&str, f64)]) -> Result<()> {
    let n = world.size() as f64;
    let buf: Vec<f64> = values.iter().flat_map(|(_, v)| [*v, v * v]).collect();
    let sums = world.all_reduce_sum_f64(buf)?;
    for (i, (what, v)) in values.iter().enumerate() {
        let (sum, squares) = (sums[2 * i], sums[2 * i + 1]);
        // Equal values iff the variance is zero; the values are small whole numbers, exact in f64.
        if squares * n != sum * sum {
            return Err(Error::value(format!(
                "data-parallel fit: the ranks disagree on {what} (rank {} has {v}, the mean over {} ranks is {}): every rank must build the same models with the same options",
                world.rank(),
                world.size(),
                sum / n
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod threads {
    //! An in-process world of threads, for testing the trainer's collectives without MPI.

    use std::sync::{Arc, Barrier, Mutex};

    use super::Collective;
    use crate::error::Result;

    struct Shared {
        barrier: Barrier,
        slots: Mutex<Vec<Vec<f64>>>,
    }

    /// One rank of a world of threads: each operation deposits its buffer, waits for every rank,
    /// then combines them in rank order (as a deterministic MPI reduction would).
    pub struct Threads {
        rank: usize,
        size: usize,
        shared: Arc<Shared>,
    }

    impl Threads {
        pub fn world(size: usize) -> Vec<Threads> {
            let shared = Arc::new(Shared { barrier: Barrier::new(size), slots: Mutex::new(vec![Vec::new(); size]) });
            (0..size).map(|rank| Threads { rank, size, shared: shared.clone() }).collect()
        }

        fn exchange(&self, buf: Vec<f64>, combine: impl Fn(&[Vec<f64>]) -> Vec<f64>) -> Vec<f64> {
            self.shared.slots.lock().unwrap()[self.rank] = buf;
            self.shared.barrier.wait();
            let out = combine(&self.shared.slots.lock().unwrap());
            // Nobody overwrites a slot before every rank has read them all.
            self.shared.barrier.wait();
            out
        }

        fn sum(&self, buf: Vec<f64>) -> Vec<f64> {
            self.exchange(buf, |all| (0..all[0].len()).map(|i| all.iter().map(|b| b[i]).sum()).collect())
        }
    }

    impl Collective for Threads {
        fn rank(&self) -> usize {
            self.rank
        }
        fn size(&self) -> usize {
            self.size
        }
        fn broadcast_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
            Ok(self.exchange(buf.into_iter().map(f64::from).collect(), |all| all[0].clone()).into_iter().map(|v| v as f32).collect())
        }
        fn all_reduce_sum_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
            // Summed in f32, as MPI sums f32 buffers.
            let all = self.exchange(buf.into_iter().map(f64::from).collect(), |all| all.concat());
            let n = all.len() / self.size;
            Ok((0..n).map(|i| (0..self.size).fold(0.0f32, |acc, r| acc + all[r * n + i] as f32)).collect())
        }
        fn all_reduce_sum_f64(&self, buf: Vec<f64>) -> Result<Vec<f64>> {
            Ok(self.sum(buf))
        }
        fn broadcast_bytes(&self, buf: Vec<u8>) -> Result<Vec<u8>> {
            Ok(self.exchange(buf.into_iter().map(f64::from).collect(), |all| all[0].clone()).into_iter().map(|b| b as u8).collect())
        }
        fn all_gather_bytes(&self, buf: Vec<u8>) -> Result<Vec<Vec<u8>>> {
            // Each rank's bytes after its length, one byte a slot.
            let all = self.exchange(buf.into_iter().map(f64::from).collect(), |all| all.iter().flat_map(|b| std::iter::once(b.len() as f64).chain(b.iter().copied())).collect());
            let mut rest = &all[..];
            let mut out = Vec::with_capacity(self.size);
            while let Some((&len, tail)) = rest.split_first() {
                let (bytes, tail) = tail.split_at(len as usize);
                out.push(bytes.iter().map(|&b| b as u8).collect());
                rest = tail;
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::threads::Threads;
    use super::*;

    #[test]
    fn the_local_world_is_one_rank_that_keeps_its_buffers() {
        let w = Local;
        assert_eq!((w.rank(), w.size()), (0, 1));
        assert_eq!(w.broadcast_f32(vec![1.0, 2.0]).unwrap(), [1.0, 2.0]);
        assert_eq!(w.all_reduce_sum_f32(vec![3.0]).unwrap(), [3.0]);
        assert_eq!(w.all_reduce_sum_f64(vec![4.0, 5.0]).unwrap(), [4.0, 5.0]);
        check_same(&w, &[("anything", 7.0)]).unwrap();
    }

    #[test]
    fn shares_cover_every_item_once_in_order() {
        for n in 0..20 {
            for size in 1..6 {
                let parts: Vec<_> = (0..size).map(|r| share(n, r, size)).collect();
                assert_eq!(parts[0].start, 0);
                assert_eq!(parts[size - 1].end, n);
                for w in parts.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                assert!(parts.iter().all(|p| p.len() == n / size || p.len() == n / size + 1), "{n} over {size}: {parts:?}");
            }
        }
    }

    #[test]
    fn a_world_of_threads_broadcasts_sums_and_refuses_ranks_that_disagree() {
        let out: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = Threads::world(3)
                .into_iter()
                .map(|w| {
                    s.spawn(move || {
                        let r = w.rank() as f32;
                        let b = w.broadcast_f32(vec![r + 1.0]).unwrap();
                        let f = w.all_reduce_sum_f32(vec![r, 1.0]).unwrap();
                        let d = w.all_reduce_sum_f64(vec![r as f64 * 0.5]).unwrap();
                        let same = check_same(&w, &[("steps", 5.0)]).is_ok();
                        let bytes = (w.broadcast_bytes(vec![r as u8; w.rank() + 1]).unwrap(), w.all_gather_bytes(vec![7; w.rank()]).unwrap());
                        assert_eq!(bytes, (vec![0], vec![vec![], vec![7], vec![7, 7]]));
                        let differ = check_same(&w, &[("steps", 5.0), ("parameters", r as f64)]).map_err(|e| e.to_string());
                        (b, f, d, same, differ)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (b, f, d, same, differ) in out {
            assert_eq!(b, [1.0]);
            assert_eq!(f, [3.0, 3.0]);
            assert_eq!(d, [1.5]);
            assert!(same);
            assert!(differ.unwrap_err().contains("disagree on parameters"));
        }
    }
}

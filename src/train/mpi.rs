//! The [`Collective`] over MPI (cargo feature `mpi`, rsmpi on the system's MPI library).
//!
//! MPI lives on one thread of its own: it initialises MPI, makes every MPI call, and finalises
//! MPI when asked to ([`finalize`]). The engine's threads send it requests over a channel and
//! wait for the answer, so MPI needs only `MPI_THREAD_FUNNELED` and no engine type sees it.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use mpi::collective::SystemOperation;
use mpi::topology::Communicator;
use mpi::traits::*;

use super::Collective;
use crate::error::{Error, Result};

enum Op {
    Broadcast(Vec<f32>),
    SumF32(Vec<f32>),
    SumF64(Vec<f64>),
    BroadcastBytes(Vec<u8>),
    GatherBytes(Vec<u8>),
    Finalize,
}

enum Answer {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Bytes(Vec<u8>),
    Gathered(std::result::Result<Vec<Vec<u8>>, String>),
    Done,
}

/// MPI counts are C ints: longer byte buffers are broadcast in parts of this many bytes.
const PART: usize = 1 << 30;

type Request = (Op, Sender<Answer>);

/// This process's rank of `MPI_COMM_WORLD`, served by the MPI thread.
pub struct Mpi {
    rank: usize,
    size: usize,
    requests: Mutex<Option<Sender<Request>>>,
}

static WORLD: OnceLock<std::result::Result<Arc<Mpi>, String>> = OnceLock::new();

/// The process's MPI world, started on first use (MPI initialises once per process).
pub fn world() -> Result<Arc<Mpi>> {
    WORLD.get_or_init(start).clone().map_err(Error::value)
}

fn start() -> std::result::Result<Arc<Mpi>, String> {
    let (requests, inbox) = channel::<Request>();
    let (ready, started) = channel();
    std::thread::Builder::new()
        .name("neuro-divergent-mpi".into())
        .spawn(move || serve(inbox, ready))
        .map_err(|e| format!("could not start the MPI thread: {e}"))?;
    let (rank, size) = started.recv().map_err(|_| "the MPI thread ended while initialising MPI".to_string())??;
    Ok(Arc::new(Mpi { rank, size, requests: Mutex::new(Some(requests)) }))
}

fn serve(inbox: Receiver<Request>, ready: Sender<std::result::Result<(usize, usize), String>>) {
    let Some((universe, _)) = mpi::initialize_with_threading(mpi::Threading::Funneled) else {
        ready.send(Err("MPI was already initialised in this process by something else".into())).ok();
        return;
    };
    let world = universe.world();
    ready.send(Ok((world.rank() as usize, world.size() as usize))).ok();
    for (op, reply) in inbox {
        let answer = match op {
            Op::Broadcast(mut buf) => {
                world.process_at_rank(0).broadcast_into(&mut buf[..]);
                Answer::F32(buf)
            }
            Op::SumF32(buf) => {
                let mut out = vec![0.0f32; buf.len()];
                world.all_reduce_into(&buf[..], &mut out[..], SystemOperation::sum());
                Answer::F32(out)
            }
            Op::SumF64(buf) => {
                let mut out = vec![0.0f64; buf.len()];
                world.all_reduce_into(&buf[..], &mut out[..], SystemOperation::sum());
                Answer::F64(out)
            }
            Op::BroadcastBytes(mut buf) => {
                let root = world.process_at_rank(0);
                let mut len = buf.len() as u64;
                root.broadcast_into(&mut len);
                buf.resize(len as usize, 0);
                buf.chunks_mut(PART).for_each(|part| root.broadcast_into(part));
                Answer::Bytes(buf)
            }
            Op::GatherBytes(buf) => Answer::Gathered(gather_bytes(&world, &buf)),
            Op::Finalize => {
                drop(universe);
                reply.send(Answer::Done).ok();
                return;
            }
        };
        reply.send(answer).ok();
    }
}

/// Every rank's `buf` on every rank: the lengths first, then the bytes. Refused on every rank
/// alike when they would not fit MPI's int counts.
fn gather_bytes(world: &mpi::topology::SimpleCommunicator, buf: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let mut lens = vec![0u64; world.size() as usize];
    world.all_gather_into(&(buf.len() as u64), &mut lens[..]);
    let total: u64 = lens.iter().sum();
    if total > mpi::Count::MAX as u64 {
        return Err(format!("the ranks' byte buffers add up to {total} bytes, more than one MPI gather moves ({})", mpi::Count::MAX));
    }
    let counts: Vec<mpi::Count> = lens.iter().map(|&n| n as mpi::Count).collect();
    let displs: Vec<mpi::Count> = counts.iter().scan(0, |at, &n| Some(std::mem::replace(at, *at + n))).collect();
    let mut all = vec![0u8; total as usize];
    world.all_gather_varcount_into(buf, &mut mpi::datatype::PartitionMut::new(&mut all[..], &counts[..], &displs[..]));
    let mut rest = &all[..];
    Ok(lens
        .iter()
        .map(|&n| {
            let (part, tail) = rest.split_at(n as usize);
            rest = tail;
            part.to_vec()
        })
        .collect())
}

impl Mpi {
    fn call(&self, op: Op) -> Result<Answer> {
        let (reply, answer) = channel();
        let sent = self.requests.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|r| r.send((op, reply)));
        if !matches!(sent, Some(Ok(()))) {
            return Err(Error::value("MPI has been finalised in this process (it ends with the process's main environment)"));
        }
        answer.recv().map_err(|_| Error::value("the MPI thread ended during a collective operation"))
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn broadcast_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
        match self.call(Op::Broadcast(buf))? {
            Answer::F32(v) => Ok(v),
            _ => unreachable!("a broadcast answers f32"),
        }
    }
    fn all_reduce_sum_f32(&self, buf: Vec<f32>) -> Result<Vec<f32>> {
        match self.call(Op::SumF32(buf))? {
            Answer::F32(v) => Ok(v),
            _ => unreachable!("an f32 sum answers f32"),
        }
    }
    fn all_reduce_sum_f64(&self, buf: Vec<f64>) -> Result<Vec<f64>> {
        match self.call(Op::SumF64(buf))? {
            Answer::F64(v) => Ok(v),
            _ => unreachable!("an f64 sum answers f64"),
        }
    }
    fn broadcast_bytes(&self, buf: Vec<u8>) -> Result<Vec<u8>> {
        match self.call(Op::BroadcastBytes(buf))? {
            Answer::Bytes(v) => Ok(v),
            _ => unreachable!("a byte broadcast answers bytes"),
        }
    }
    fn all_gather_bytes(&self, buf: Vec<u8>) -> Result<Vec<Vec<u8>>> {
        match self.call(Op::GatherBytes(buf))? {
            Answer::Gathered(v) => v.map_err(Error::value),
            _ => unreachable!("a byte gather answers the gathered bytes"),
        }
    }
}

/// Finalises MPI if it was started (a process that initialised MPI must finalise it before it
/// exits, or the launcher reports the job as failed). Waits at most `timeout` for a collective
/// still running. Later collectives fail with an error.
pub fn finalize(timeout: Duration) {
    let Some(Ok(world)) = WORLD.get() else { return };
    let Some(requests) = world.requests.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
    let (reply, answer) = channel();
    if requests.send((Op::Finalize, reply)).is_ok() {
        answer.recv_timeout(timeout).ok();
    }
}

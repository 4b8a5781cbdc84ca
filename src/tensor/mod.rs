//! Tensors with reverse-mode autodiff.
//!
//! A [`Tensor`] is a cheap handle (an `Arc`) to f32 storage, a shape, and — when it was computed from
//! tensors that need gradients — the inputs and the backward rule of the op that made it. Storage is
//! always contiguous row-major; ops that rearrange data (permute, narrow, …) copy, so every kernel
//! sees plain slices. Reshape and detach share storage.
//!
//! Each op lives in one file under `ops/`, with its forward computation and its [`Backward`] rule
//! side by side. [`Tensor::backward`] walks the recorded graph once in reverse topological order.

mod autodiff;
pub mod gradcheck;
pub mod ops;
pub mod precision;
mod shape;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub use autodiff::Gradients;
pub use ops::{interpolation_matrix, AttentionSpec, Conv2dSpec, PadMode};
pub use precision::{with_precision, Precision};
pub use shape::{broadcast_shapes, numel, strides_of};

use crate::kernels::half::{HalfKind, HalfMatrix};
use crate::rng::Rng;

/// The backward rule of one op: given the gradient of the op's output, the gradients of its inputs.
///
/// `inputs` are the op's inputs in the order it recorded them, `out` its output. Return one entry
/// per input, `None` where an input needs no gradient (check [`Tensor::requires_grad`]).
pub trait Backward: Send + Sync {
    fn backward(&self, inputs: &[Tensor], out: &Tensor, grad_out: &[f32]) -> Vec<Option<Vec<f32>>>;
    /// The op's name, for debugging and error messages.
    fn name(&self) -> &'static str;
}

/// How a tensor was made: the inputs and the rule to push gradients back into them.
pub(crate) struct Recorded {
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) rule: Box<dyn Backward>,
}

/// The values of a tensor (shared by its reshapes and detached copies) and, for a weight,
/// its inference layout (see [`Tensor::transposed`]), dropped whenever the values are written.
pub(crate) struct Storage {
    values: RwLock<Vec<f32>>,
    transposed: Mutex<Option<Arc<Transposed>>>,
}

impl Storage {
    fn new(values: Vec<f32>) -> Arc<Storage> {
        Arc::new(Storage { values: RwLock::new(values), transposed: Mutex::new(None) })
    }
}

/// `Wᵀ` of a `[rows, cols]` matrix `W`: `cols` rows of `stride` values, the first `rows` of each
/// being `W`'s column. With its rows contiguous, a product `x · Wᵀ` of many rows runs in the
/// `gemm` crate without packing `W` anew for every product; the stride is padded past a
/// multiple of 4 KB so that consecutive rows do not share an L1 cache set.
pub struct Transposed {
    pub rows: usize,
    pub cols: usize,
    pub stride: usize,
    pub values: Vec<f32>,
}

pub(crate) struct Node {
    id: usize,
    shape: Vec<usize>,
    storage: Arc<Storage>,
    made_by: Option<Recorded>,
    requires_grad: bool,
    /// 16-bit copy of a weight loaded from a file saved with 16-bit weights (`kernels::half`);
    /// dropped when the values are written.
    half: Mutex<Option<Arc<HalfMatrix>>>,
}

/// An n-dimensional f32 tensor. Cloning is cheap (shares the node).
#[derive(Clone)]
pub struct Tensor(Arc<Node>);

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Runs `f` with graph recording off on this thread (inference, optimizer updates).
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    with_grad_mode(false, f)
}

/// Runs `f` with graph recording set to `enabled` on this thread, restoring the previous mode after
/// (also on panic).
///
/// The mode is per thread, and a thread of a work-stealing pool can run unrelated work while it
/// waits inside `f`; so whoever needs a mode sets it here rather than assuming the thread's: every
/// engine call (`kernels::threads::on_worker`) and every training step do.
pub fn with_grad_mode<T>(enabled: bool, f: impl FnOnce() -> T) -> T {
    let before = GRAD_ENABLED.with(|g| g.replace(enabled));
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// Whether ops on this thread currently record a graph.
pub fn grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = self.data();
        let head: Vec<f32> = data.iter().take(8).copied().collect();
        write!(f, "Tensor(shape={:?}, data[..8]={:?}", self.shape(), head)?;
        if let Some(r) = &self.0.made_by {
            write!(f, ", op={}", r.rule.name())?;
        }
        write!(f, ")")
    }
}

impl Tensor {
    fn from_node(shape: Vec<usize>, storage: Arc<Storage>, made_by: Option<Recorded>, requires_grad: bool) -> Tensor {
        Tensor(Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shape,
            storage,
            made_by,
            requires_grad,
            half: Mutex::new(None),
        }))
    }

    /// A constant tensor (no gradient) from data in row-major order.
    ///
    /// ```
    /// use neuro_divergent::tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.shape(), &[2, 2]);
    /// ```
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Tensor {
        assert_eq!(data.len(), numel(shape), "data length {} does not fit shape {:?}", data.len(), shape);
        Tensor::from_node(shape.to_vec(), Storage::new(data), None, false)
    }

    /// A trainable leaf: a parameter whose gradient [`Tensor::backward`] computes.
    pub fn param(data: Vec<f32>, shape: &[usize]) -> Tensor {
        assert_eq!(data.len(), numel(shape), "data length {} does not fit shape {:?}", data.len(), shape);
        Tensor::from_node(shape.to_vec(), Storage::new(data), None, true)
    }

    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::from_vec(vec![value; numel(shape)], shape)
    }

    /// The `n × n` identity matrix (a constant), `torch.eye(n)`.
    pub fn eye(n: usize) -> Tensor {
        let mut data = vec![0.0; n * n];
        data.iter_mut().step_by(n + 1).for_each(|v| *v = 1.0);
        Tensor::from_vec(data, &[n, n])
    }

    /// A 0-d tensor holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_vec(vec![value], &[])
    }

    /// Uniform draws from [lo, hi).
    pub fn rand_uniform(shape: &[usize], lo: f32, hi: f32, rng: &mut Rng) -> Tensor {
        Tensor::from_vec((0..numel(shape)).map(|_| rng.uniform(lo, hi)).collect(), shape)
    }

    /// Standard normal draws.
    pub fn randn(shape: &[usize], rng: &mut Rng) -> Tensor {
        Tensor::from_vec((0..numel(shape)).map(|_| rng.normal()).collect(), shape)
    }

    /// The result of an op: records `rule` when graph recording is on and an input needs a gradient.
    pub fn from_op(data: Vec<f32>, shape: &[usize], inputs: &[&Tensor], rule: impl Backward + 'static) -> Tensor {
        assert_eq!(data.len(), numel(shape), "op {} produced a wrong-sized buffer", rule.name());
        let track = grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let made_by = track.then(|| Recorded {
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            rule: Box::new(rule),
        });
        Tensor::from_node(shape.to_vec(), Storage::new(data), made_by, track)
    }

    /// A tensor with `self`'s storage under a new shape (used by reshape; the caller records the op).
    pub(crate) fn share_storage(&self, shape: &[usize], made_by: Option<Recorded>) -> Tensor {
        let requires_grad = made_by.is_some();
        Tensor::from_node(shape.to_vec(), Arc::clone(&self.0.storage), made_by, requires_grad)
    }

    /// A unique id for this node (gradients are keyed by it).
    pub fn id(&self) -> usize {
        self.0.id
    }

    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }

    /// Size of dimension `axis` (negative counts from the end).
    pub fn dim(&self, axis: isize) -> usize {
        self.0.shape[shape::axis_index(axis, self.rank())]
    }

    pub fn numel(&self) -> usize {
        numel(&self.0.shape)
    }

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    pub(crate) fn recorded(&self) -> Option<&Recorded> {
        self.0.made_by.as_ref()
    }

    /// Read access to the values, row-major.
    pub fn data(&self) -> RwLockReadGuard<'_, Vec<f32>> {
        self.0.storage.values.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the values, for optimizers updating a parameter in place.
    pub fn data_mut(&self) -> RwLockWriteGuard<'_, Vec<f32>> {
        let values = self.0.storage.values.write().unwrap_or_else(|e| e.into_inner());
        // The 16-bit copy and the transposed one would no longer match. Dropped with the write
        // lock held, so that no reader can make a new one from the values being written.
        *self.0.half.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.0.storage.transposed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        values
    }

    /// Rounds the values to 16 bits of `kind`, in place, and keeps those bits for products of a
    /// few rows (`kernels::half`): the weight of a model saved with 16-bit weights, as loaded.
    pub fn round_to_half(&self, kind: HalfKind) {
        let mut values = self.data_mut();
        let half = HalfMatrix::encode(kind, &values);
        values.iter_mut().zip(&half.bits).for_each(|(v, &b)| *v = kind.decode(b));
        *self.0.half.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(half));
    }

    /// The 16-bit copy of the values, if [`Tensor::round_to_half`] made one.
    pub fn half(&self) -> Option<Arc<HalfMatrix>> {
        self.0.half.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `Wᵀ` of this 2-d tensor `W` (see [`Transposed`]), made on first use and kept until the
    /// values are next written: the layout a weight has for inference products of many rows.
    pub fn transposed(&self) -> Arc<Transposed> {
        assert_eq!(self.rank(), 2, "transposed() needs a matrix, shape is {:?}", self.shape());
        let (rows, cols) = (self.shape()[0], self.shape()[1]);
        // Held while the copy is made and stored: a writer waits, then drops it (`data_mut`).
        let values = self.data();
        let mut cached = self.0.storage.transposed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = cached.as_ref().filter(|t| (t.rows, t.cols) == (rows, cols)) {
            return Arc::clone(t);
        }
        let stride = if rows >= 256 && rows % 1024 == 0 { rows + 16 } else { rows };
        let mut t = vec![0.0f32; cols * stride];
        for (i, row) in values.chunks_exact(cols.max(1)).take(rows).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                t[j * stride + i] = v;
            }
        }
        let t = Arc::new(Transposed { rows, cols, stride, values: t });
        *cached = Some(Arc::clone(&t));
        t
    }

    pub fn to_vec(&self) -> Vec<f32> {
        self.data().clone()
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> f32 {
        assert_eq!(self.numel(), 1, "item() needs a one-element tensor, shape is {:?}", self.shape());
        self.data()[0]
    }

    /// The same values, cut from the graph (no gradient flows through).
    pub fn detach(&self) -> Tensor {
        Tensor::from_node(self.0.shape.clone(), Arc::clone(&self.0.storage), None, false)
    }

    /// A copy of the values with fresh storage, cut from the graph.
    pub fn deep_copy(&self) -> Tensor {
        Tensor::from_vec(self.to_vec(), self.shape())
    }

    /// Runs reverse-mode autodiff from this tensor (which must hold one value, e.g. a loss).
    pub fn backward(&self) -> Gradients {
        autodiff::backward(self, 1.0)
    }

    /// The gradients of `scale` times this tensor (a loss scaler's scaled loss), without an op
    /// for the product: every gradient is `scale` times [`Tensor::backward`]'s, as rounded.
    pub fn backward_scaled(&self, scale: f32) -> Gradients {
        autodiff::backward(self, scale)
    }
}

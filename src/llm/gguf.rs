//! GGUF (v2/v3), llama.cpp's model file: a header of typed key-value metadata, a table of tensor
//! descriptions, then the tensor data at aligned offsets. Either the header alone is read (what
//! checking a model's options needs: a few MB of a file of hundreds) or the whole file; every count
//! and size in the header is checked against the bytes the file has left before anything is
//! allocated, so a truncated or hostile file gives an error, never a panic or a huge allocation.
//!
//! Tensors of type F32, F16, Q8_0 and Q4_1 are dequantised to f32 (the backbone is frozen, so it
//! runs on the exact values the quantised blocks stand for).

use std::collections::HashMap;

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"GGUF";
/// A tensor larger than this many values is refused before it is dequantised (2³² f32 = 16 GiB).
const MAX_TENSOR_VALUES: u64 = 1 << 32;
/// The first read of a header; it doubles until the header fits (SmolLM2's is about 3 MB: its
/// tokenizer's vocabulary and merges).
const HEADER_CHUNK: usize = 1 << 20;

/// A metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    /// An array of strings a header-only read stepped over (a tokenizer's vocabulary or merges):
    /// its length.
    Skipped(usize),
}

impl Value {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Int(i) if *i >= 0 => Some(*i as u64),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The length of an array, read or stepped over.
    pub fn array_len(&self) -> Option<usize> {
        match self {
            Value::Array(a) => Some(a.len()),
            Value::Skipped(n) => Some(*n),
            _ => None,
        }
    }
}

/// ggml's tensor types this reader dequantises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F32,
    F16,
    Q4_1,
    Q8_0,
}

impl Dtype {
    fn of(code: u32) -> Option<Dtype> {
        match code {
            0 => Some(Dtype::F32),
            1 => Some(Dtype::F16),
            3 => Some(Dtype::Q4_1),
            8 => Some(Dtype::Q8_0),
            _ => None,
        }
    }
    /// (values per block, bytes per block)
    fn block(self) -> (u64, u64) {
        match self {
            Dtype::F32 => (1, 4),
            Dtype::F16 => (1, 2),
            // f16 scale, f16 min, 16 bytes of 4-bit values.
            Dtype::Q4_1 => (32, 20),
            // f16 scale, 32 signed bytes.
            Dtype::Q8_0 => (32, 34),
        }
    }
}

struct TensorInfo {
    /// PyTorch order (slowest axis first): GGUF lists `ne[0]` (the contiguous axis) first.
    shape: Vec<usize>,
    dtype: Dtype,
    /// Byte range in the file.
    start: usize,
    len: usize,
}

/// A parsed GGUF file: its metadata and its tensors (dequantised on request, when the whole file
/// was read).
pub struct Gguf {
    /// The whole file, or (from [`Gguf::open_header`]) a prefix holding at least the header.
    bytes: Vec<u8>,
    pub metadata: HashMap<String, Value>,
    tensors: HashMap<String, TensorInfo>,
}

fn truncated(what: &str) -> Error {
    Error::format(format!("GGUF file is truncated or corrupted (it ends inside {what})"))
}

struct Cursor<'a> {
    /// The file or a prefix of it.
    bytes: &'a [u8],
    at: usize,
    /// The file's length: counts are checked against what the file holds, not the prefix.
    file_len: usize,
    /// Set when a read went past the prefix but not past the file: read more and parse again.
    short: bool,
    /// Step over arrays of strings instead of reading them (a header-only read).
    skip_strings: bool,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8], file_len: usize) -> Cursor<'a> {
        Cursor { bytes, at: 0, file_len, short: false, skip_strings: false }
    }
    fn remaining(&self) -> usize {
        self.file_len - self.at
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.bytes.len() - self.at {
            self.short = n <= self.remaining();
            return Err(truncated(what));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")))
    }
    /// A count of items of at least `min_bytes` each: refused when the rest of the file cannot hold
    /// them, before anything is allocated for them.
    fn count(&mut self, min_bytes: usize, what: &str) -> Result<usize> {
        let n = self.u64(what)?;
        if n.saturating_mul(min_bytes as u64) > self.remaining() as u64 {
            return Err(Error::range(format!("GGUF header claims {n} {what}, more than the {} bytes left in the file can hold", self.remaining())));
        }
        Ok(n as usize)
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.count(1, what)?;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| Error::format(format!("GGUF {what} is not UTF-8")))
    }
    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<Value> {
        let what = format!("the value of '{key}'");
        let b = |c: &mut Self, n: usize| c.take(n, &what).map(|s| s.to_vec());
        Ok(match ty {
            0 => Value::Int(b(self, 1)?[0] as i64),
            1 => Value::Int(b(self, 1)?[0] as i8 as i64),
            2 => Value::Int(u16::from_le_bytes(b(self, 2)?.try_into().expect("2")) as i64),
            3 => Value::Int(i16::from_le_bytes(b(self, 2)?.try_into().expect("2")) as i64),
            4 => Value::Int(u32::from_le_bytes(b(self, 4)?.try_into().expect("4")) as i64),
            5 => Value::Int(i32::from_le_bytes(b(self, 4)?.try_into().expect("4")) as i64),
            6 => Value::Float(f32::from_le_bytes(b(self, 4)?.try_into().expect("4")) as f64),
            7 => Value::Bool(b(self, 1)?[0] != 0),
            8 => Value::Str(self.string(&what)?),
            9 if depth < 2 => {
                let inner = self.u32(&what)?;
                // The smallest encoding of one element: a string is at least its 8-byte length.
                let min = match inner {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    8 | 10..=12 => 8,
                    _ => 12,
                };
                let n = self.count(min, &format!("elements in '{key}'"))?;
                if inner == 8 && self.skip_strings {
                    for _ in 0..n {
                        let len = self.count(1, &what)?;
                        self.take(len, &what)?;
                    }
                    return Ok(Value::Skipped(n));
                }
                Value::Array((0..n).map(|_| self.value(inner, key, depth + 1)).collect::<Result<_>>()?)
            }
            10 => Value::Int(u64::from_le_bytes(b(self, 8)?.try_into().expect("8")).min(i64::MAX as u64) as i64),
            11 => Value::Int(i64::from_le_bytes(b(self, 8)?.try_into().expect("8"))),
            12 => Value::Float(f64::from_le_bytes(b(self, 8)?.try_into().expect("8"))),
            other => return Err(Error::format(format!("GGUF metadata '{key}' has unknown value type {other}"))),
        })
    }
}

type Tensors = HashMap<String, TensorInfo>;

/// The metadata and the tensor table at the cursor (the start of a file).
fn parse_header(c: &mut Cursor) -> Result<(HashMap<String, Value>, Tensors)> {
    if c.take(4, "the magic number").ok() != Some(&MAGIC[..]) {
        return Err(Error::format("not a GGUF file (it does not start with 'GGUF')"));
    }
    let version = c.u32("the version")?;
    if !(2..=3).contains(&version) {
        return Err(Error::format(format!("GGUF version {version} is not supported (2 and 3 are)")));
    }
    // A tensor description takes at least 8 (name) + 4 (dims) + 4 (type) + 8 (offset) bytes;
    // a metadata entry at least 8 (key) + 4 (type) + 1.
    let n_tensors = c.count(24, "tensors")?;
    let n_kv = c.count(13, "metadata entries")?;
    let mut metadata = HashMap::new();
    for _ in 0..n_kv {
        let key = c.string("a metadata key")?;
        let ty = c.u32("a metadata type")?;
        let v = c.value(ty, &key, 0)?;
        metadata.insert(key, v);
    }
    let mut infos = Vec::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        let name = c.string("a tensor name")?;
        let n_dims = c.u32("a tensor's rank")?;
        if n_dims == 0 || n_dims > 4 {
            return Err(Error::format(format!("GGUF tensor '{name}' has rank {n_dims} (1 to 4 allowed)")));
        }
        let mut ne = Vec::new();
        for _ in 0..n_dims {
            ne.push(c.u64("a tensor's dimensions")?);
        }
        let code = c.u32("a tensor's type")?;
        let offset = c.u64("a tensor's offset")?;
        infos.push((name, ne, code, offset));
    }
    let align = match metadata.get("general.alignment") {
        None => 32,
        Some(v) => v.as_u64().filter(|a| a.is_power_of_two() && *a <= 1 << 20).ok_or_else(|| Error::format("GGUF 'general.alignment' is not a power of two"))? as usize,
    };
    let data_start = c.at.div_ceil(align) * align;
    let mut tensors = HashMap::new();
    for (name, ne, code, offset) in infos {
        let dtype = Dtype::of(code).ok_or_else(|| Error::value(format!("GGUF tensor '{name}' has ggml type {code}; this reader dequantises F32, F16, Q8_0 and Q4_1 only")))?;
        let values = ne.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).filter(|&n| n <= MAX_TENSOR_VALUES);
        let values = values.ok_or_else(|| Error::range(format!("GGUF tensor '{name}' claims dimensions {ne:?}, too large")))?;
        let (per_block, block_bytes) = dtype.block();
        if ne[0] % per_block != 0 {
            return Err(Error::format(format!("GGUF tensor '{name}': its rows ({}) are not whole blocks of {per_block}", ne[0])));
        }
        let len = values / per_block * block_bytes;
        let start = (data_start as u64).checked_add(offset).filter(|s| s.checked_add(len).is_some_and(|end| end <= c.file_len as u64));
        let start = start.ok_or_else(|| truncated(&format!("the data of tensor '{name}'")))?;
        let shape = ne.iter().rev().map(|&d| d as usize).collect();
        tensors.insert(name, TensorInfo { shape, dtype, start: start as usize, len: len as usize });
    }
    Ok((metadata, tensors))
}

impl Gguf {
    /// Reads and parses the whole file at `path`.
    pub fn open(path: &std::path::Path) -> Result<Gguf> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read the GGUF file '{}': {e}", path.display())))?;
        Gguf::parse(bytes)
    }

    /// Reads the header of the file at `path` only (metadata and tensor table, no tensor data):
    /// a first chunk, doubled until the header fits. Arrays of strings are stepped over (their
    /// lengths kept as [`Value::Skipped`]): allocating SmolLM2's 100k tokenizer strings was most of
    /// the time.
    pub fn open_header(path: &std::path::Path) -> Result<Gguf> {
        use std::io::Read;
        let io = |e: std::io::Error| Error::io(format!("cannot read the GGUF file '{}': {e}", path.display()));
        let mut file = std::fs::File::open(path).map_err(io)?;
        let mut file_len = usize::try_from(file.metadata().map_err(io)?.len()).unwrap_or(usize::MAX);
        let mut bytes = Vec::new();
        let mut want = HEADER_CHUNK.min(file_len);
        loop {
            (&mut file).take((want - bytes.len()) as u64).read_to_end(&mut bytes).map_err(io)?;
            if bytes.len() < want {
                // The file shrank since it was measured: what was read is all there is.
                file_len = bytes.len();
            }
            let mut c = Cursor { skip_strings: true, ..Cursor::new(&bytes, file_len) };
            match parse_header(&mut c) {
                Ok((metadata, tensors)) => return Ok(Gguf { bytes, metadata, tensors }),
                Err(_) if c.short && bytes.len() < file_len => want = want.saturating_mul(2).min(file_len),
                Err(e) => return Err(e),
            }
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn parse(bytes: Vec<u8>) -> Result<Gguf> {
        let (metadata, tensors) = parse_header(&mut Cursor::new(&bytes, bytes.len()))?;
        Ok(Gguf { bytes, metadata, tensors })
    }

    pub fn get(&self, key: &str) -> Result<&Value> {
        self.metadata.get(key).ok_or_else(|| Error::format(format!("GGUF metadata '{key}' is missing")))
    }

    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get(key)?.as_u64().ok_or_else(|| Error::format(format!("GGUF metadata '{key}' is not a non-negative integer")))
    }

    pub fn get_f64(&self, key: &str) -> Result<f64> {
        self.get(key)?.as_f64().ok_or_else(|| Error::format(format!("GGUF metadata '{key}' is not a number")))
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get(key)?.as_str().ok_or_else(|| Error::format(format!("GGUF metadata '{key}' is not a string")))
    }

    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        let a = self.get(key)?.as_array().ok_or_else(|| Error::format(format!("GGUF metadata '{key}' is not an array")))?;
        a.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| Error::format(format!("GGUF metadata '{key}' holds a non-string")))).collect()
    }

    fn info(&self, name: &str) -> Result<&TensorInfo> {
        self.tensors.get(name).ok_or_else(|| Error::format(format!("GGUF tensor '{name}' is missing")))
    }

    /// The PyTorch-order shape of tensor `name` (from the header).
    pub fn shape(&self, name: &str) -> Result<&[usize]> {
        Ok(&self.info(name)?.shape)
    }

    /// The tensor `name` in f32, with its PyTorch-order shape.
    pub fn tensor(&self, name: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let info = self.info(name)?;
        let raw = self.bytes.get(info.start..info.start + info.len).ok_or_else(|| Error::format(format!("GGUF tensor '{name}': its data was not read (only the header was)")))?;
        let f16 = |b: &[u8]| half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        let data = match info.dtype {
            Dtype::F32 => raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F16 => raw.chunks_exact(2).map(f16).collect(),
            Dtype::Q8_0 => raw
                .chunks_exact(34)
                .flat_map(|blk| {
                    let d = f16(&blk[..2]);
                    blk[2..].iter().map(move |&q| q as i8 as f32 * d)
                })
                .collect(),
            Dtype::Q4_1 => {
                let mut out = Vec::with_capacity(raw.len() / 20 * 32);
                for blk in raw.chunks_exact(20) {
                    let (d, m) = (f16(&blk[..2]), f16(&blk[2..4]));
                    // Low nibbles are the block's first 16 values, high nibbles its last 16.
                    out.extend(blk[4..].iter().map(|&q| (q & 0xf) as f32 * d + m));
                    out.extend(blk[4..].iter().map(|&q| (q >> 4) as f32 * d + m));
                }
                out
            }
        };
        Ok((data, info.shape.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GGUF v3 file with the given metadata entries (already encoded) and tensors.
    pub(crate) fn encode(kv: &[(&str, u32, Vec<u8>)], tensors: &[(&str, &[u64], u32, Vec<u8>)]) -> Vec<u8> {
        let s = |v: &str| [(v.len() as u64).to_le_bytes().to_vec(), v.as_bytes().to_vec()].concat();
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend((tensors.len() as u64).to_le_bytes());
        b.extend((kv.len() as u64).to_le_bytes());
        for (k, ty, v) in kv {
            b.extend(s(k));
            b.extend(ty.to_le_bytes());
            b.extend(v);
        }
        let mut offset = 0u64;
        for (name, ne, ty, data) in tensors {
            b.extend(s(name));
            b.extend((ne.len() as u32).to_le_bytes());
            for d in *ne {
                b.extend(d.to_le_bytes());
            }
            b.extend(ty.to_le_bytes());
            b.extend(offset.to_le_bytes());
            offset += (data.len() as u64).div_ceil(32) * 32;
        }
        b.resize(b.len().div_ceil(32) * 32, 0);
        for (_, _, _, data) in tensors {
            b.extend(data);
            b.resize(b.len().div_ceil(32) * 32, 0);
        }
        b
    }

    fn f16(x: f32) -> [u8; 2] {
        half::f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn dequantises_every_supported_type() {
        // Q4_1: d 0.5, m -1; nibbles j (low) and 15 - j (high) in byte j.
        let mut q41 = [f16(0.5), f16(-1.0)].concat();
        q41.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let mut q80 = f16(0.25).to_vec();
        q80.extend((0..32).map(|j: i32| (j - 16) as i8 as u8));
        let f32s: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f16s: Vec<u8> = [f16(3.0), f16(-0.5)].concat();
        let file = encode(
            &[("general.architecture", 8, [8u64.to_le_bytes().to_vec(), b"llama\0\0\0".to_vec()].concat())],
            &[("a", &[32], 3, q41), ("b", &[32], 8, q80), ("c", &[2, 1], 0, f32s), ("d", &[2], 1, f16s)],
        );
        let g = Gguf::parse(file).unwrap();
        let (a, shape) = g.tensor("a").unwrap();
        assert_eq!(shape, [32]);
        for j in 0..16 {
            assert_eq!(a[j], j as f32 * 0.5 - 1.0);
            assert_eq!(a[16 + j], (15 - j) as f32 * 0.5 - 1.0);
        }
        let (b, _) = g.tensor("b").unwrap();
        assert_eq!(b[0], -4.0);
        assert_eq!(b[31], 15.0 * 0.25);
        assert_eq!(g.tensor("c").unwrap(), (vec![1.5, -2.0], vec![1, 2]));
        assert_eq!(g.tensor("d").unwrap().0, [3.0, -0.5]);
        assert_eq!(g.get_str("general.architecture").unwrap(), "llama\0\0\0");
    }

    #[test]
    fn the_header_alone_is_read_in_growing_chunks() {
        // A header of about 3 chunks (one long string), then 2 chunks of F32 data.
        let long = "x".repeat(3 * HEADER_CHUNK);
        let s = |v: &str| [(v.len() as u64).to_le_bytes().to_vec(), v.as_bytes().to_vec()].concat();
        let names = [8u32.to_le_bytes().to_vec(), 3u64.to_le_bytes().to_vec(), s("a"), s("bc"), s("")].concat();
        let kv = [("long", 8, s(&long)), ("names", 9, names)];
        let values = 2 * HEADER_CHUNK / 4;
        let file = encode(&kv, &[("t", &[values as u64], 0, vec![7; 4 * values])]);
        let dir = std::env::temp_dir().join(format!("nd-gguf-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.gguf");
        std::fs::write(&path, &file).unwrap();
        let g = Gguf::open_header(&path).unwrap();
        assert_eq!(g.get_str("long").unwrap().len(), 3 * HEADER_CHUNK);
        // Arrays of strings are stepped over, their lengths kept; a whole read has them.
        assert_eq!(g.get("names").unwrap(), &Value::Skipped(3));
        assert_eq!(Gguf::parse(file.clone()).unwrap().strings("names").unwrap(), ["a", "bc", ""]);
        assert_eq!(g.shape("t").unwrap(), [values]);
        assert!(g.bytes().len() < file.len(), "read {} of {} bytes", g.bytes().len(), file.len());
        assert!(g.tensor("t").unwrap_err().message.contains("not read"));
        // Tensor data past the end is refused from the header alone.
        std::fs::write(&path, &file[..file.len() - 1]).unwrap();
        assert!(Gguf::open_header(&path).err().unwrap().message.contains("data of tensor 't'"));
        // A file cut inside its header.
        std::fs::write(&path, &file[..HEADER_CHUNK + 10]).unwrap();
        assert!(matches!(Gguf::open_header(&path).err().unwrap().kind, crate::ErrorKind::Format | crate::ErrorKind::Range));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_files_are_refused_with_clear_errors() {
        let file = encode(&[("k", 4, 7u32.to_le_bytes().to_vec())], &[("t", &[2], 0, vec![0; 8])]);
        assert!(Gguf::parse(file.clone()).is_ok());
        // Every truncation is an error (format or range), never a panic.
        // (The last 24 bytes are the data's alignment padding.)
        for cut in 0..file.len() - 24 {
            let e = Gguf::parse(file[..cut].to_vec()).err().unwrap_or_else(|| panic!("cut at {cut} parsed"));
            assert!(matches!(e.kind, crate::ErrorKind::Format | crate::ErrorKind::Range), "cut {cut}: {e:?}");
        }
        assert!(Gguf::parse(b"NOPE".to_vec()).err().unwrap().message.contains("not a GGUF file"));
        // A header claiming 2⁶⁰ tensors or a key of 2⁶⁰ bytes: RangeError before any allocation.
        let mut absurd = file.clone();
        absurd[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert_eq!(Gguf::parse(absurd).err().unwrap().kind, crate::ErrorKind::Range);
        let mut absurd = file.clone();
        absurd[24..32].copy_from_slice(&(1u64 << 60).to_le_bytes());
        assert_eq!(Gguf::parse(absurd).err().unwrap().kind, crate::ErrorKind::Range);
        // A tensor whose dimensions overflow.
        let big = encode(&[], &[("t", &[1 << 40, 1 << 40], 0, vec![0; 8])]);
        assert_eq!(Gguf::parse(big).err().unwrap().kind, crate::ErrorKind::Range);
        // An unsupported tensor type names the supported ones.
        let q5 = encode(&[], &[("t", &[32], 6, vec![0; 22])]);
        assert!(Gguf::parse(q5).err().unwrap().message.contains("Q4_1"));
    }
}

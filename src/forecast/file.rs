//! The saved-model file: one safetensors file (so Python's `safetensors` can read the weights)
//! whose `__metadata__` carries our format name and version, the configuration as JSON, and a
//! CRC-32 over configuration and tensor bytes. Written to a temporary file in the same folder,
//! synced, then renamed over the target, so a crash never leaves a half-written model behind.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::kernels::half::HalfKind;

const FORMAT: &str = "neuro-divergent";
/// Bumped whenever the layout of the configuration or tensor names changes incompatibly. Files
/// with 16-bit weights are version 2 (version 1 readers refuse them as newer); f32 files stay 1.
pub const FORMAT_VERSION: u32 = 2;

/// A named tensor as stored in the file: f32, or 16 bits (`half`; `data` then holds the values
/// those bits stand for).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    pub half: Option<HalfKind>,
}

impl StoredTensor {
    pub fn f32(shape: Vec<usize>, data: Vec<f32>) -> StoredTensor {
        StoredTensor { shape, data, half: None }
    }

    fn bytes_and_dtype(&self) -> (Vec<u8>, Dtype) {
        match self.half {
            None => (le_bytes(&self.data), Dtype::F32),
            Some(kind) => {
                let bytes = self.data.iter().flat_map(|&v| kind.encode(v).to_le_bytes()).collect();
                (bytes, if kind == HalfKind::Bf16 { Dtype::BF16 } else { Dtype::F16 })
            }
        }
    }
}

fn checksum(config: &str, names_and_bytes: &[(&str, &[u8])]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(config.as_bytes());
    for (name, bytes) in names_and_bytes {
        h.update(name.as_bytes());
        h.update(bytes);
    }
    h.finalize()
}

fn le_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises `config` and `tensors` into the bytes of a model file.
pub fn encode(config: &Value, tensors: &[(String, StoredTensor)]) -> Result<Vec<u8>> {
    let config_text = config.to_string();
    let mut sorted: Vec<(&str, (Vec<u8>, Dtype), &[usize])> = tensors.iter().map(|(n, t)| (n.as_str(), t.bytes_and_dtype(), t.shape.as_slice())).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let crc = checksum(&config_text, &sorted.iter().map(|(n, (b, _), _)| (*n, b.as_slice())).collect::<Vec<_>>());
    let views = sorted
        .iter()
        .map(|(n, (b, dtype), s)| TensorView::new(*dtype, s.to_vec(), b).map(|v| (n.to_string(), v)).map_err(|e| Error::format(e.to_string())))
        .collect::<Result<Vec<_>>>()?;
    let version = if tensors.iter().any(|(_, t)| t.half.is_some()) { FORMAT_VERSION } else { 1 };
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".to_string(), version.to_string()),
        ("config".to_string(), config_text),
        ("crc32".to_string(), format!("{crc:08x}")),
    ]);
    let mut bytes = safetensors::serialize(views, Some(meta)).map_err(|e| Error::format(format!("could not serialise the model: {e}")))?;
    sort_header(&mut bytes)?;
    Ok(bytes)
}

/// Rewrites a safetensors header with its keys sorted, so two saves of one model are the same
/// bytes: the crate writes `__metadata__` from a HashMap, whose order changes from run to run.
/// The rewrite has the same length (same entries, no whitespace), so the data offsets stand.
fn sort_header(bytes: &mut [u8]) -> Result<()> {
    let broken = || Error::format("could not serialise the model: malformed safetensors header".to_string());
    let len = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize).ok_or_else(broken)?;
    let header = bytes.get_mut(8..8usize.saturating_add(len)).ok_or_else(broken)?;
    // serde_json's Map is a BTreeMap here (no `preserve_order`), so serialising sorts the keys.
    let sorted = serde_json::from_slice::<Value>(header).map_err(|_| broken())?.to_string().into_bytes();
    if sorted.len() > header.len() {
        return Err(broken());
    }
    header[..sorted.len()].copy_from_slice(&sorted);
    header[sorted.len()..].fill(b' ');
    Ok(())
}

/// Parses model-file bytes, checking format, version and checksum. `origin` names the file in errors.
pub fn decode(bytes: &[u8], origin: &str) -> Result<(Value, HashMap<String, StoredTensor>)> {
    decode_as(bytes, origin, "model file")
}

/// [`decode`] of a file of another kind in the same container (`kind` names it: "checkpoint").
pub fn decode_as(bytes: &[u8], origin: &str, kind: &str) -> Result<(Value, HashMap<String, StoredTensor>)> {
    let bad = |why: String| Error::format(format!("{origin} is not a valid neuro-divergent {kind}: {why}"));
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("corrupted ({e})")))?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("corrupted ({e})")))?;
    let meta = metadata.metadata().clone().ok_or_else(|| bad("it has no metadata".into()))?;
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad("it was not written by neuro-divergent".into()));
    }
    let version: u32 = meta
        .get("format_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| bad("its format version is missing".into()))?;
    if version > FORMAT_VERSION {
        return Err(Error::format(format!(
            "{origin} was saved by a newer neuro-divergent (file format {version}); this version reads format {FORMAT_VERSION} and older: upgrade neuro-divergent"
        )));
    }
    let config_text = meta.get("config").ok_or_else(|| bad("its configuration is missing".into()))?;
    let mut named: Vec<(String, TensorView)> = st.tensors();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let crc = checksum(config_text, &named.iter().map(|(n, v)| (n.as_str(), v.data())).collect::<Vec<_>>());
    if meta.get("crc32") != Some(&format!("{crc:08x}")) {
        return Err(bad("checksum mismatch (the file is corrupted or was modified)".into()));
    }
    let config: Value = serde_json::from_str(config_text).map_err(|e| bad(format!("configuration is not JSON ({e})")))?;
    let mut tensors = HashMap::new();
    for (name, view) in named {
        let half = match view.dtype() {
            Dtype::F32 => None,
            Dtype::BF16 => Some(HalfKind::Bf16),
            Dtype::F16 => Some(HalfKind::F16),
            other => return Err(bad(format!("tensor '{name}' has dtype {other:?}, expected F32, BF16 or F16"))),
        };
        let data = match half {
            None => view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Some(kind) => view.data().chunks_exact(2).map(|c| kind.decode(u16::from_le_bytes([c[0], c[1]]))).collect(),
        };
        tensors.insert(name, StoredTensor { shape: view.shape().to_vec(), data, half });
    }
    Ok((config, tensors))
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("cannot create folder {}: {e}", dir.display())))?;
    }
    let file_name = path.file_name().ok_or_else(|| Error::value(format!("save path '{shown}' has no file name")))?;
    let prefix = format!(".{}.tmp-", file_name.to_string_lossy());
    remove_stale_temps(path, &prefix);
    let tmp = path.with_file_name(format!("{prefix}{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot write {shown}: {e}")));
    }
    Ok(())
}

/// Deletes the temporary files that saves to `path` by processes no longer running left behind
/// (a save killed between create and rename). Only where /proc tells which processes run: a
/// live process's temporary file is its save in progress.
fn remove_stale_temps(path: &Path, prefix: &str) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(prefix)).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Reads a model file from disk.
pub fn read(path: &Path) -> Result<(Value, HashMap<String, StoredTensor>)> {
    read_as(path, "model file")
}

/// [`read`] of a file of another kind in the same container (see [`decode_as`]).
pub fn read_as(path: &Path, kind: &str) -> Result<(Value, HashMap<String, StoredTensor>)> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read {kind} {shown}: {e}")))?;
    decode_as(&bytes, &shown, kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> (Value, Vec<(String, StoredTensor)>) {
        let cfg = json!({"models": [{"class": "MLP"}], "freq": "MS"});
        let t = vec![
            ("m0.w".to_string(), StoredTensor::f32(vec![2, 2], vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE])),
            ("m0.b".to_string(), StoredTensor::f32(vec![2], vec![0.5, 0.0])),
        ];
        (cfg, t)
    }

    #[test]
    fn round_trip_is_exact() {
        let (cfg, t) = sample();
        let bytes = encode(&cfg, &t).unwrap();
        let (cfg2, t2) = decode(&bytes, "mem").unwrap();
        assert_eq!(cfg, cfg2);
        assert_eq!(t2["m0.w"].data, t[0].1.data);
        assert_eq!(t2["m0.w"].shape, vec![2, 2]);
    }

    #[test]
    fn saves_of_one_model_are_the_same_bytes() {
        let (cfg, t) = sample();
        let first = encode(&cfg, &t).unwrap();
        // Each encode builds a fresh HashMap with its own random order: 20 tries make a
        // surviving order dependence all but certain to show.
        for _ in 0..20 {
            assert_eq!(encode(&cfg, &t).unwrap(), first);
        }
        decode(&first, "mem").unwrap();
    }

    #[test]
    fn sixteen_bit_tensors_round_trip_in_half_the_bytes() {
        let (cfg, mut t) = sample();
        let f32_len = encode(&cfg, &t).unwrap().len();
        let big: Vec<f32> = (0..4096).map(|i| (i as f32 * 0.01).sin()).collect();
        t.push(("m0.big".into(), StoredTensor::f32(vec![4096], big.clone())));
        let with_f32 = encode(&cfg, &t).unwrap().len() - f32_len;
        for kind in [HalfKind::Bf16, HalfKind::F16] {
            let rounded: Vec<f32> = big.iter().map(|&v| kind.decode(kind.encode(v))).collect();
            t[2].1 = StoredTensor { shape: vec![4096], data: big.clone(), half: Some(kind) };
            let bytes = encode(&cfg, &t).unwrap();
            assert!((bytes.len() - f32_len) * 2 <= with_f32 + 64, "{kind:?}: {} bytes for what took {with_f32} in f32", bytes.len() - f32_len);
            let (_, back) = decode(&bytes, "mem").unwrap();
            assert_eq!(back["m0.big"], StoredTensor { shape: vec![4096], data: rounded.clone(), half: Some(kind) });
            assert_eq!(back["m0.w"].half, None);
            // Written again as read, it reads back the same.
            let again: Vec<(String, StoredTensor)> = t.iter().map(|(n, _)| (n.clone(), back[n].clone())).collect();
            assert_eq!(decode(&encode(&cfg, &again).unwrap(), "mem").unwrap().1, back);
        }
    }

    #[test]
    fn any_flipped_byte_is_rejected() {
        let (cfg, t) = sample();
        let bytes = encode(&cfg, &t).unwrap();
        for i in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
            let mut b = bytes.clone();
            b[i] ^= 0x41;
            let err = decode(&b, "m.nd").unwrap_err();
            assert_eq!(err.kind, crate::ErrorKind::Format, "byte {i}: {err}");
        }
        assert!(decode(&bytes[..bytes.len() - 3], "m.nd").is_err());
        assert!(decode(b"", "m.nd").is_err());
    }

    #[test]
    fn newer_version_is_refused_clearly() {
        let (cfg, t) = sample();
        let bytes = encode(&cfg, &t).unwrap();
        let needle = b"\"format_version\":\"1\"";
        let at = bytes.windows(needle.len()).position(|w| w == needle).expect("version in header");
        let mut b = bytes.clone();
        b[at + needle.len() - 2] = b'9';
        let err = decode(&b, "m.nd").unwrap_err();
        assert!(err.message.contains("newer"), "{err}");
    }

    #[test]
    fn atomic_write_leaves_no_temp_file() {
        let dir = std::env::temp_dir().join(format!("nd-file-test-{}", std::process::id()));
        let path = dir.join("sub/model.nd");
        write_atomic(&path, b"abc").unwrap();
        write_atomic(&path, b"defg").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"defg");
        let names: Vec<_> = std::fs::read_dir(dir.join("sub")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

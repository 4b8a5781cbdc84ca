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

const FORMAT: &str = "neuro-divergent";
/// Bumped whenever the layout of the configuration or tensor names changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// A named f32 tensor as stored in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
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
    let mut sorted: Vec<(&str, Vec<u8>, &[usize])> =
        tensors.iter().map(|(n, t)| (n.as_str(), le_bytes(&t.data), t.shape.as_slice())).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let crc = checksum(&config_text, &sorted.iter().map(|(n, b, _)| (*n, b.as_slice())).collect::<Vec<_>>());
    let views = sorted
        .iter()
        .map(|(n, b, s)| {
            TensorView::new(Dtype::F32, s.to_vec(), b).map(|v| (n.to_string(), v)).map_err(|e| Error::format(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("config".to_string(), config_text),
        ("crc32".to_string(), format!("{crc:08x}")),
    ]);
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::format(format!("could not serialise the model: {e}")))
}

/// Parses model-file bytes, checking format, version and checksum. `origin` names the file in errors.
pub fn decode(bytes: &[u8], origin: &str) -> Result<(Value, HashMap<String, StoredTensor>)> {
    let bad = |why: String| Error::format(format!("{origin} is not a valid neuro-divergent model file: {why}"));
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
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!("tensor '{name}' has dtype {:?}, expected F32", view.dtype())));
        }
        let data = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        tensors.insert(name, StoredTensor { shape: view.shape().to_vec(), data });
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
    let tmp = path.with_file_name(format!(".{}.tmp-{}", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot save the model to {shown}: {e}")));
    }
    Ok(())
}

/// Reads a model file from disk.
pub fn read(path: &Path) -> Result<(Value, HashMap<String, StoredTensor>)> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(format!("cannot read model file {shown}: {e}")))?;
    decode(&bytes, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> (Value, Vec<(String, StoredTensor)>) {
        let cfg = json!({"models": [{"class": "MLP"}], "freq": "MS"});
        let t = vec![
            ("m0.w".to_string(), StoredTensor { shape: vec![2, 2], data: vec![1.0, -2.5, 3.25, f32::MIN_POSITIVE] }),
            ("m0.b".to_string(), StoredTensor { shape: vec![2], data: vec![0.5, 0.0] }),
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

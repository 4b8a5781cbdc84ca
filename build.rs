fn main() {
    // Without a rerun-if line cargo reruns this script, and so recompiles the crate, after an edit
    // to any file of the package, docs included.
    println!("cargo:rerun-if-changed=build.rs");
    // Only the Node addon needs napi's link setup; plain `cargo test`/`cargo bench` must not.
    if std::env::var_os("CARGO_FEATURE_NODE").is_some() {
        napi_build::setup();
    }
}

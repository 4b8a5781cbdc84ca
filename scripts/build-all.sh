#!/usr/bin/env bash
# Cross-builds the five targets that build on Linux (see ../shared/TOOLCHAIN.md): needs
# `pip install ziglang`, `cargo install cargo-zigbuild` and `rustup target add <triple>`.
# Windows (x86_64-pc-windows-msvc) is built by .github/workflows/release.yml on a Windows runner.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin; do
  echo "== $target"
  cross=""
  [ "$target" != "x86_64-unknown-linux-gnu" ] && cross="-x"
  npx napi build --platform --release --features node --js binding.js --dts binding.d.ts --target "$target" $cross
done
ls -la *.node

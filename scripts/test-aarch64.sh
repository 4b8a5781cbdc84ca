#!/usr/bin/env bash
# Runs the library's Rust tests built for aarch64 Linux under qemu-user, so the NEON kernels are
# tested on an x86-64 machine. Default filter: `kernels` (every SIMD kernel against its scalar
# path); pass other libtest filters to run more, e.g. `npm run test:aarch64 -- models::tests::mlp`.
# Then checks whether qemu-x86_64 can execute AVX-512 (it decides whether an AVX-512 path could
# be tested here). Needs: rustup target add aarch64-unknown-linux-gnu;
# apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user. Exits 0 with
# "skipped: ..." when one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
skip() {
  echo "test-aarch64: skipped: $*"
  exit 0
}
[ -d "$(rustc --print sysroot)/lib/rustlib/$target" ] || skip "no Rust standard library for $target (rustup target add $target)"
command -v aarch64-linux-gnu-gcc >/dev/null || skip "no aarch64-linux-gnu-gcc linker (apt-get install gcc-aarch64-linux-gnu)"
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || skip "no arm64 C library in $sysroot (apt-get install libc6-dev-arm64-cross)"
qemu=$(command -v qemu-aarch64 || command -v qemu-aarch64-static) || skip "no qemu-aarch64 (apt-get install qemu-user)"
echo "test-aarch64: $("$qemu" --version | head -1)"

# A target directory of its own keeps the x86-64 build warm.
export CARGO_TARGET_DIR="${AARCH64_TARGET_DIR:-$PWD/target-aarch64}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$qemu -L $sysroot"
[ $# -gt 0 ] || set -- kernels
nice -n 10 cargo test --release --target "$target" --lib --no-run
start=$(date +%s)
nice -n 10 cargo test --release --target "$target" --lib -- "$@"
echo "test-aarch64: tests matching '$*' passed under $(basename "$qemu") in $(($(date +%s) - start)) s"

# AVX-512: a tiny x86-64 program asks the CPU qemu emulates.
qemu_x86=$(command -v qemu-x86_64 || command -v qemu-x86_64-static) || skip "no qemu-x86_64 for the AVX-512 check"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'fn main() { print!("{}", std::arch::is_x86_feature_detected!("avx512f")) }' | rustc -O -o "$probe/avx512" -
for cpu in max Icelake-Server; do
  echo "test-aarch64: qemu-x86_64 -cpu $cpu reports avx512f: $("$qemu_x86" -cpu "$cpu" "$probe/avx512" 2>/dev/null)"
done

#!/usr/bin/env bash
# Packs the package, installs the tarball into a fresh TypeScript project outside the repo, and
# fits and predicts there with type-checking on. Two paths a user takes:
#   prebuilt: the tarball carries the binary built for this machine (run after `npm install`);
#   source:   the tarball carries no .node file, so the install hook compiles the addon with
#             cargo (slow: a full release build), must report progress, and must leave no target/.
# Usage: scripts/pack-smoke.sh [prebuilt|source|all]   (default all)
set -euo pipefail
which="${1:-all}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"

# The same tarball without any binary: what a platform with no prebuilt package installs.
make_source_tarball() {
  local dir="$work/unpacked"
  mkdir -p "$dir"
  tar -xzf "$tarball" -C "$dir"
  rm -f "$dir"/package/*.node
  tar -czf "$work/source.tgz" -C "$dir" package
  echo "$work/source.tgz"
}

smoke() {
  local name="$1" tgz="$2"
  local project="$work/$name"
  mkdir -p "$project"
  cd "$project"
  npm init -y >/dev/null
  npm pkg set type=module
  local start=$SECONDS
  # --foreground-scripts: the install hook's progress lines are part of what is tested.
  npm install --no-audit --no-fund --foreground-scripts "$tgz" typescript@7 tsx@4 @types/node@20 2>&1 | tee "$project/install.log" | grep '\[neuro-divergent\]' || true
  echo "[$name] npm install took $((SECONDS - start)) s"
  local pkg="$project/node_modules/neuro-divergent"
  ls "$pkg"/*.node >/dev/null
  if [ -e "$pkg/target" ]; then
    echo "[$name] the install left $(du -sh "$pkg/target" | cut -f1) of build files in $pkg/target" >&2
    exit 1
  fi
  if [ "$name" = source ] && ! grep -q 'crates compiled' "$project/install.log"; then
    echo "[$name] the source build reported no progress" >&2
    exit 1
  fi
  cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "target": "ES2022", "module": "nodenext", "moduleResolution": "nodenext", "strict": true, "noEmit": true, "types": ["node"] }, "include": ["main.ts"] }
JSON
  cat > main.ts <<'TS'
import { NeuralForecast, NHITS, MQLoss, toRows } from 'neuro-divergent'

const rows = Array.from({ length: 120 }, (_, t) => ({ unique_id: 'sine', ds: t, y: 10 + Math.sin((2 * Math.PI * t) / 12) }))
const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 30, loss: new MQLoss({ level: [80] }) })], freq: 1 })
await nf.fit(rows)
const fc = await nf.predict()
console.log(toRows(fc).slice(0, 3))
if ((fc['NHITS-median'] as Float64Array).length !== 12) throw new Error('expected 12 forecasts')
console.log('pack smoke test: ok')
TS
  npx tsc -p tsconfig.json
  node --import tsx main.ts
  cd "$repo"
}

case "$which" in
  prebuilt) smoke prebuilt "$tarball" ;;
  source) smoke source "$(make_source_tarball)" ;;
  all) smoke prebuilt "$tarball"; smoke source "$(make_source_tarball)" ;;
  *) echo "usage: $0 [prebuilt|source|all]" >&2; exit 2 ;;
esac

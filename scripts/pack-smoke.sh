#!/usr/bin/env bash
# Packs the package, installs the tarball into a fresh TypeScript project outside the repo, and
# fits and predicts there with type-checking on. Run after `npm install` (the tarball carries
# the binary built for this machine).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
cd "$work"
npm init -y >/dev/null
npm pkg set type=module
npm install --no-audit --no-fund "$work/$tarball" typescript@7 tsx@4 @types/node@20 >/dev/null
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

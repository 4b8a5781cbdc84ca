#!/usr/bin/env node
// npm install hook. Uses a prebuilt binary when one loads (the platform package, or one built
// earlier in this folder); otherwise builds the addon from source with cargo, so a fresh clone
// (or a platform without a prebuilt package) works after `npm install`.
'use strict'
const { execSync } = require('node:child_process')
const { existsSync, copyFileSync, readdirSync } = require('node:fs')
const { join, resolve } = require('node:path')

const root = join(__dirname, '..')

function loads() {
  if (!existsSync(join(root, 'binding.js'))) return false
  try {
    require(join(root, 'binding.js'))
    return true
  } catch {
    return false
  }
}

function run(cmd) {
  console.log(`[neuro-divergent] ${cmd}`)
  execSync(cmd, { cwd: root, stdio: 'inherit' })
}

if (process.env.NEURO_DIVERGENT_SKIP_BUILD) process.exit(0)
if (loads()) process.exit(0)

try {
  execSync('cargo --version', { stdio: 'ignore' })
} catch {
  console.error('[neuro-divergent] no prebuilt binary for this platform and no Rust toolchain to build one: install Rust (https://rustup.rs) and run npm install again')
  process.exit(1)
}

const cli = join(root, 'node_modules', '@napi-rs', 'cli')
if (existsSync(cli)) {
  // A clone with dev dependencies: the napi CLI writes binding.js, binding.d.ts and the .node file.
  run('npx napi build --platform --release --features node --js binding.js --dts binding.d.ts')
} else {
  // An installed package on a platform without a prebuilt binary: binding.js ships in the
  // package and looks for `neuro-divergent.<platform>.node` beside it.
  run('cargo build --release --features node --lib')
  const out = join(process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target'), 'release')
  const lib = readdirSync(out).find((f) => /^(lib)?neuro_divergent\.(so|dylib|dll)$/.test(f))
  if (!lib) throw new Error('cargo build produced no library')
  const abi = process.platform === 'linux' ? (process.report?.getReport()?.header?.glibcVersionRuntime ? '-gnu' : '-musl') : process.platform === 'win32' ? '-msvc' : ''
  copyFileSync(join(out, lib), join(root, `neuro-divergent.${process.platform}-${process.arch}${abi}.node`))
}
if (!loads()) {
  console.error('[neuro-divergent] the addon was built but does not load')
  process.exit(1)
}

#!/usr/bin/env node
// npm install hook. Uses a prebuilt binary when one loads (the platform package, or one built
// earlier in this folder); otherwise builds the addon from source with cargo, so a fresh clone
// (or a platform without a prebuilt package) works after `npm install`.
'use strict'
const { execSync, spawn } = require('node:child_process')
const { existsSync, copyFileSync, rmSync, openSync, writeSync } = require('node:fs')
const { join } = require('node:path')

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

// npm (7 and later) hides a dependency's install output unless `--foreground-scripts` is given, so
// a source build would look like a hang for minutes. Progress also goes to the terminal itself
// when there is one; stderr keeps it for logs and for `--foreground-scripts`.
let tty = null
try {
  if (process.platform !== 'win32' && !process.env.CI) tty = openSync('/dev/tty', 'w')
} catch {
  tty = null
}
function say(msg) {
  const line = `[neuro-divergent] ${msg}\n`
  process.stderr.write(line)
  if (tty !== null && !process.stderr.isTTY) {
    try {
      writeSync(tty, line)
    } catch {
      tty = null
    }
  }
}

function run(cmd) {
  say(cmd)
  execSync(cmd, { cwd: root, stdio: 'inherit' })
}

function elapsed(start) {
  const s = Math.round((Date.now() - start) / 1000)
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
}

/**
 * `cargo build` of the addon, reporting every 15 s how many crates are compiled. Resolves with
 * the built library's path (cargo names it in its JSON messages).
 */
function cargoBuild(env) {
  const start = Date.now()
  return new Promise((resolve, reject) => {
    const args = ['build', '--release', '--features', 'node', '--lib', '--message-format=json-render-diagnostics']
    say(`cargo ${args.join(' ')}`)
    const child = spawn('cargo', args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] })
    let crates = 0
    let last = ''
    let lib = null
    let buffered = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (chunk) => {
      buffered += chunk
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        let msg
        try {
          msg = JSON.parse(line)
        } catch {
          continue
        }
        if (msg.reason !== 'compiler-artifact') continue
        crates++
        last = msg.target?.name ?? ''
        if (msg.target?.name === 'neuro_divergent') {
          lib = (msg.filenames ?? []).find((f) => /\.(so|dylib|dll)$/.test(f)) ?? lib
        }
      }
    })
    const timer = setInterval(() => say(`building from source: ${crates} crates compiled (last: ${last || 'none yet'}), ${elapsed(start)} elapsed`), 15000)
    child.on('error', (e) => {
      clearInterval(timer)
      reject(e)
    })
    child.on('close', (code) => {
      clearInterval(timer)
      if (code !== 0) return reject(new Error(`cargo build failed (exit code ${code})`))
      if (!lib) return reject(new Error('cargo build produced no library'))
      say(`built in ${elapsed(start)}`)
      resolve(lib)
    })
  })
}

async function main() {
  if (process.env.NEURO_DIVERGENT_SKIP_BUILD) return
  if (loads()) return

  try {
    execSync('cargo --version', { stdio: 'ignore' })
  } catch {
    say('no prebuilt binary for this platform and no Rust toolchain to build one: install Rust (https://rustup.rs) and run npm install again')
    process.exit(1)
  }

  const cli = join(root, 'node_modules', '@napi-rs', 'cli')
  if (existsSync(cli)) {
    // A clone with dev dependencies: the napi CLI writes binding.js, binding.d.ts and the .node file.
    run('npx napi build --platform --release --features node --js binding.js --dts binding.d.ts')
  } else {
    // An installed package on a platform without a prebuilt binary: binding.js ships in the
    // package and looks for `neuro-divergent.<platform>.node` beside it.
    say(`no prebuilt binary for ${process.platform}-${process.arch}: compiling the addon from source (several minutes)`)
    const ownTarget = !process.env.CARGO_TARGET_DIR
    const lib = await cargoBuild(process.env)
    const abi = process.platform === 'linux' ? (process.report?.getReport()?.header?.glibcVersionRuntime ? '-gnu' : '-musl') : process.platform === 'win32' ? '-msvc' : ''
    copyFileSync(lib, join(root, `neuro-divergent.${process.platform}-${process.arch}${abi}.node`))
    // The build directory holds hundreds of megabytes nobody needs once the addon is copied out;
    // a target dir the user chose is theirs to keep.
    if (ownTarget) rmSync(join(root, 'target'), { recursive: true, force: true })
  }
  if (!loads()) {
    say('the addon was built but does not load')
    process.exit(1)
  }
}

main().catch((e) => {
  say(e.message)
  process.exit(1)
})

'use strict'
// npm run build:mpi: the addon with data-parallel training over MPI (cargo features node,mpi),
// written beside the default addon as neuro-divergent.<platform>.mpi.node. index.js loads it
// instead of the default one only under an MPI launcher. Needs an MPI library with its headers
// (Debian: libopenmpi-dev, or MPICH's) and libclang (libclang-dev) for the bindings.

const { execFileSync } = require('node:child_process')
const { copyFileSync, renameSync } = require('node:fs')
const { join } = require('node:path')

const ROOT = join(__dirname, '..')

/** napi-rs's platform names (the default addon's neuro-divergent.<tag>.node). */
function platformTag() {
  const { platform, arch } = process
  if (platform === 'linux') return `linux-${arch}-${process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl'}`
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function library() {
  if (process.platform === 'win32') return 'neuro_divergent.dll'
  return process.platform === 'darwin' ? 'libneuro_divergent.dylib' : 'libneuro_divergent.so'
}

try {
  execFileSync('cargo', ['build', '--release', '--lib', '--features', 'node,mpi'], { cwd: ROOT, stdio: 'inherit' })
} catch {
  console.error('build:mpi failed. It needs an MPI library with its headers (Debian: apt-get install libopenmpi-dev openmpi-bin) and libclang (apt-get install libclang-dev).')
  process.exit(1)
}
const built = join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', library())
const dest = join(ROOT, `neuro-divergent.${platformTag()}.mpi.node`)
// Copied then renamed, so a process loading the addon never sees half a file.
const partial = `${dest}.${process.pid}.partial`
copyFileSync(built, partial)
renameSync(partial, dest)
console.log(`built ${dest}`)

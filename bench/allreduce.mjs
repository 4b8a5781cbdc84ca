// MPI cost of data-parallel training (issue 17), for docs/BENCHMARKS.md and docs/SCALING.md:
// 1. one all-reduce of 1e4..1e7 f32 between 2 ranks through the engine's MPI collective, over
//    shared memory (Open MPI's default between processes of one machine) and over loopback TCP
//    (--mca btl tcp,self, what crossing machines adds, less the wire);
// 2. the step time of MLP (NeuralForecast's default size) at 1 rank and at 2 ranks.
// Needs Open MPI and the MPI build (`npm run build:mpi`). Usage: node bench/allreduce.mjs
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
const asRoot = process.getuid?.() === 0 ? ['--allow-run-as-root'] : []
const mpirun = (n, args, extra = [], env = {}) =>
  execFileSync('mpirun', ['-n', String(n), '--oversubscribe', ...asRoot, ...extra, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } })
const lines = (out) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l))

execFileSync('cargo', ['build', '--release', '--example', 'allreduce', '--features', 'mpi'], { cwd: root, stdio: 'inherit' })
const example = join(root, 'target', 'release', 'examples', 'allreduce')
console.log('all-reduce of n f32 between 2 ranks (median of reps, ms)')
console.log('transport        n           median   fastest')
for (const [name, mca] of [['shared memory', []], ['loopback TCP', ['--mca', 'btl', 'tcp,self']]]) {
  for (const r of lines(mpirun(2, [example], mca))) {
    console.log(`${name.padEnd(16)} ${String(r.floats).padEnd(11)} ${r.median_ms.toFixed(3).padStart(8)} ${r.min_ms.toFixed(3).padStart(9)}`)
  }
}
console.log('\nMLP (2 x 1024) step time, same frame on every rank, global batch 1024 windows')
const step = join(root, 'bench', 'mpi_step.mjs')
const runs = [
  ['1 rank, 2 threads', () => execFileSync(process.execPath, [step], { cwd: root, encoding: 'utf8', env: { ...process.env, THREADS: '2' } })],
  ['1 rank, 1 thread', () => execFileSync(process.execPath, [step], { cwd: root, encoding: 'utf8', env: { ...process.env, THREADS: '1' } })],
  ['2 ranks, 1 thread each', () => mpirun(2, [process.execPath, step], [], { THREADS: '1' })],
  ['2 ranks, 1 thread each, TCP', () => mpirun(2, [process.execPath, step], ['--mca', 'btl', 'tcp,self'], { THREADS: '1' })],
]
for (const [name, run] of runs) {
  const [r] = lines(run())
  console.log(`${name.padEnd(30)} ${r.ms_per_step} ms/step`)
}

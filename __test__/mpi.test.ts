// Data-parallel training over MPI (neuro-divergent/distributed). The mpirun tests need Open MPI
// (Debian: openmpi-bin) and the MPI build of the addon (`npm run build:mpi`, which needs
// libopenmpi-dev and libclang-dev and takes minutes, so the test does not run it: .ci/run does);
// without either they skip, saying so. The option checks run everywhere.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { NeuralForecast, MLP } from '../index.js'
import { mpiWorld } from 'neuro-divergent/distributed'
import { airPassengers, quick } from './helpers'

const root = join(__dirname, '..')
const script = join(__dirname, 'fixtures', 'mpi_fit.mjs')
const hasMpirun = !spawnSync('mpirun', ['--version']).error
const hasAddon = readdirSync(root).some((f) => f.startsWith(`neuro-divergent.${process.platform}-${process.arch}`) && f.endsWith('.mpi.node'))
const skip = !hasMpirun
  ? 'mpirun is not installed (Debian: openmpi-bin libopenmpi-dev libclang-dev): skipped the MPI tests'
  : !hasAddon
    ? 'the MPI build of the addon is missing (run `npm run build:mpi`): skipped the MPI tests'
    : false
if (skip) console.log(`# ${skip}`)

/** Runs the fixture under plain node (ranks 0) or mpirun -n `ranks`; the outputs' prefix. */
function run(mode: string, ranks: number, dir: string): string {
  const out = join(dir, `${mode}-${ranks}`)
  const launcher = ['-n', String(ranks), '--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : [])]
  const [cmd, args] = ranks === 0 ? [process.execPath, [script, mode, out]] : ['mpirun', [...launcher, process.execPath, script, mode, out]]
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000 })
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}\n${r.stderr}`)
  return out
}

/** The models' tensors of a saved NeuralForecast (a safetensors file), by name. */
function weights(path: string): Map<string, Float32Array> {
  const bytes = readFileSync(path)
  const n = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'))
  const data = bytes.subarray(8 + n)
  const out = new Map<string, Float32Array>()
  for (const [name, t] of Object.entries<any>(header)) {
    // Beside the weights (models.*) the file holds the training data (data.*).
    if (!name.startsWith('models.') || t.dtype !== 'F32') continue
    const [a, b] = t.data_offsets
    out.set(name, new Float32Array(data.buffer.slice(data.byteOffset + a, data.byteOffset + b)))
  }
  return out
}

const forecast = (prefix: string, rank: number) => JSON.parse(readFileSync(`${prefix}.${rank}.json`, 'utf8'))

test('mpirun -n 2 with the same frame on both ranks trains the one-process model; both ranks forecast alike', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-mpi-'))
  try {
    const single = run('same', 0, dir)
    const two = run('same', 2, dir)
    const [w0, w1, ws] = [weights(`${two}.0.nd`), weights(`${two}.1.nd`), weights(`${single}.0.nd`)]
    assert.ok(ws.size > 0)
    for (const [name, want] of ws) {
      assert.deepEqual(w0.get(name), w1.get(name), `${name}: the same on both ranks`)
      const got = w0.get(name)!
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - want[i])), 0)
      assert.ok(worst <= 1e-5 * scale, `${name}: largest difference ${worst} from the one-process fit, largest value ${scale}`)
    }
    const [f0, f1, fs] = [forecast(two, 0), forecast(two, 1), forecast(single, 0)]
    assert.equal(f0.size, 2)
    assert.deepEqual(f0.MLP, f1.MLP, 'identical forecasts on both ranks')
    assert.equal(f0.MLP.length, 48)
    f0.MLP.forEach((v: number, i: number) => assert.ok(Math.abs(v - fs.MLP[i]) <= 1e-4 * Math.abs(fs.MLP[i]), `row ${i}: ${v} vs ${fs.MLP[i]}`))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('mpirun -n 2 sharded: one model trained on both ranks\' series, each rank forecasting its own', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-mpi-'))
  try {
    const out = run('sharded', 2, dir)
    assert.deepEqual(weights(`${out}.0.nd`), weights(`${out}.1.nd`), 'one model')
    for (const [rank, ids] of [[0, ['s0', 's1']], [1, ['s2', 's3']]] as const) {
      const f = forecast(out, rank)
      assert.deepEqual([...new Set(f.unique_id)], ids)
      assert.equal(f.MLP.length, 24)
      assert.ok(f.MLP.every(Number.isFinite))
      const level = (k: number) => f.MLP.slice(12 * k, 12 * k + 12).reduce((a: number, b: number) => a + b, 0)
      assert.ok(level(1) > level(0), `each series on its own scale: ${ids[1]} above ${ids[0]}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("fit's world: a world of one is a plain fit; anything else but mpiWorld()'s world is a TypeError", async () => {
  const world = mpiWorld()
  if (!process.env.OMPI_COMM_WORLD_SIZE) assert.deepEqual({ ...world }, { rank: 0, size: 1 })
  assert.equal(mpiWorld(), world, 'one world per process')
  const fitted = async (opts: object) => {
    const nf = new NeuralForecast({ models: [new MLP({ ...quick, maxSteps: 3 })], freq: 'ME' })
    await nf.fit(airPassengers(), opts)
    return nf.predict()
  }
  assert.deepEqual(await fitted({ world }), await fitted({}))
  assert.deepEqual(await fitted({ world, sharded: true }), await fitted({}))
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, maxSteps: 3 })], freq: 'ME' })
  // @ts-expect-error not a world
  await assert.rejects(nf.fit(airPassengers(), { world: { rank: 0, size: 2 } }), (e: any) => e instanceof TypeError && /'world' must be the world mpiWorld\(\)/.test(e.message))
  await assert.rejects(nf.fit(airPassengers(), { sharded: true }), (e: any) => e instanceof TypeError && /'sharded' needs option 'world'/.test(e.message))
  // @ts-expect-error not a flag
  await assert.rejects(nf.fit(airPassengers(), { world, sharded: 'yes' }), (e: any) => e instanceof TypeError && /'sharded' must be true or false/.test(e.message))
})

// Data-parallel training over MPI (neuro-divergent/distributed). The mpirun tests need Open MPI
// (Debian: openmpi-bin) and the MPI build of the addon (`npm run build:mpi`, which needs
// libopenmpi-dev and libclang-dev and takes minutes, so the test does not run it: .ci/run does);
// without either they skip, saying so. The option checks run everywhere.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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

/** The command that runs the fixture under plain node (ranks 0) or mpirun -n `ranks`, writing to `out`. */
function command(mode: string, ranks: number, out: string, extra?: object): [string, string[]] {
  const fixture = [script, mode, out, ...(extra ? [JSON.stringify(extra)] : [])]
  const launcher = ['-n', String(ranks), '--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : [])]
  return ranks === 0 ? [process.execPath, fixture] : ['mpirun', [...launcher, process.execPath, ...fixture]]
}

/** Runs the fixture (see `command`) to its end, within 240 s; its exit status and output. */
function launch(mode: string, ranks: number, out: string, extra?: object) {
  const [cmd, args] = command(mode, ranks, out, extra)
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000 })
  return { ...r, shown: `${cmd} ${args.join(' ')}: ${r.error ?? ''}${r.stdout}\n${r.stderr}` }
}

/** Runs the fixture (see `command`), which must succeed; the outputs' prefix. */
function run(mode: string, ranks: number, dir: string, extra?: object, name = `${mode}-${ranks}`): string {
  const out = join(dir, name)
  const r = launch(mode, ranks, out, extra)
  assert.equal(r.status, 0, r.shown)
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

// Checkpoints under a world of two ranks: rank 0 writes one file, and a job restarted after it
// was killed resumes every rank from the step that file holds.
// The MLP is wider than the fixture's so that the 50 steps after the first checkpoint outlast the
// kill, polled every 2 ms, by far: 100-400 ms here (a loaded 2-core machine), not 10-40 ms.
const checkpointed = (path: string, fit: object = {}) => ({
  model: { maxSteps: 60, valCheckSteps: 10, earlyStopPatienceSteps: -1, numLrDecays: 2, hiddenSize: 256, windowsBatchSize: 128 },
  fit: { checkpointEvery: 10, checkpointPath: path, resume: true, ...fit },
})

/** The fixture under mpirun -n 2, SIGKILLed once `path` appears: mpirun and both ranks (each in a process group of its own), as when their machine fails. */
async function launchAndKill(mode: string, out: string, path: string): Promise<void> {
  const [cmd, args] = command(mode, 2, out, checkpointed(path))
  const pids = () => [0, 1].filter((rank) => existsSync(`${out}.${rank}.pid`)).map((rank) => Number(readFileSync(`${out}.${rank}.pid`, 'utf8')))
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL')
      return true
    } catch {
      return false // gone already
    }
  }
  const p = spawn(cmd, args, { stdio: 'ignore' })
  const exited = new Promise((resolve, reject) => p.on('exit', resolve).on('error', reject))
  const started = Date.now()
  while (!existsSync(path) && Date.now() - started < 120_000) await new Promise((r) => setTimeout(r, 2))
  // The ranks wrote their pids before training, so before the checkpoint appeared.
  const ranks = pids()
  kill(p.pid!)
  ranks.forEach(kill)
  await exited
  // SIGKILL is delivered asynchronously: wait until neither rank runs (a zombie writes nothing).
  const running = (pid: number) => {
    try {
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z')
    } catch {
      return false
    }
  }
  while (ranks.some(running) && Date.now() - started < 180_000) await new Promise((r) => setTimeout(r, 10))
  assert.equal(ranks.length, 2, 'both ranks had started')
}

for (const mode of ['same', 'sharded']) {
  test(`mpirun -n 2 ${mode}: a job SIGKILLed after its first checkpoint and restarted with resume ends with the uninterrupted forecasts on both ranks`, { skip, timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nd-mpi-ckpt-'))
    try {
      const path = join(dir, 'run.ckpt')
      const whole = run(mode, 2, dir, { model: checkpointed(path).model }, 'whole')
      const out = join(dir, 'resumed')
      await launchAndKill(mode, out, path)
      assert.ok(existsSync(path), 'rank 0 wrote the checkpoint')
      assert.ok(!existsSync(`${out}.0.json`) && !existsSync(`${out}.1.json`), 'killed mid-fit, not finished')
      // (Beside it, the temporary file of a write the kill interrupted, if it landed mid-write.)
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('ckpt') && !f.startsWith('.')), ['run.ckpt'], 'one checkpoint file for the world')
      run(mode, 2, dir, checkpointed(path), 'resumed')
      for (const rank of [0, 1]) assert.deepEqual(forecast(out, rank).MLP, forecast(whole, rank).MLP, `rank ${rank}: the forecasts of the uninterrupted run`)
      if (mode === 'same') assert.deepEqual(forecast(out, 0).MLP, forecast(out, 1).MLP)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

test('mpirun: resuming a 2-rank checkpoint with another option, sharded, another -n or one process fails on every rank, naming it, and the job ends', { skip, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-mpi-ckpt-'))
  try {
    const path = join(dir, 'run.ckpt')
    run('same', 2, dir, checkpointed(path), 'first')
    const written = readFileSync(path)
    const refused = (ranks: number, extra: object, what: string, mode = 'same') => {
      const r = launch(mode, ranks, join(dir, 'refused'), extra)
      assert.equal(r.error, undefined, `the job ended by itself: ${r.shown}`)
      assert.notEqual(r.status, 0, r.shown)
      const failures = r.stderr.split('\n').filter((l) => l.startsWith('fit failed: '))
      assert.equal(failures.length, ranks || 1, `every rank failed: ${r.shown}`)
      assert.ok(failures.every((l) => l.includes(what)), `${what}: ${r.shown}`)
    }
    refused(2, { ...checkpointed(path), model: { ...checkpointed(path).model, learningRate: 2e-3 } }, "MLP option 'learningRate'")
    refused(3, checkpointed(path), 'world size (2 processes in the checkpoint, 3 processes now: resume it with `mpirun -n 2`)')
    refused(0, checkpointed(path), 'world size (2 processes in the checkpoint, one process now')
    refused(2, checkpointed(path), "fit options ('sharded': false in the checkpoint, true now)", 'sharded')
    assert.deepEqual(readFileSync(path), written, 'the refusals left the checkpoint as it was')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

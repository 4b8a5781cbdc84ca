// The BullMQ queue backend: an Auto* search whose trials two worker processes fit, a worker
// killed mid-trial, data by reference, abort, and the error without bullmq. Starts its own
// redis-server on 127.0.0.1 (a free port, no persistence); skipped when redis-server is missing.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Queue } from 'bullmq'
import { NeuralForecast, MLP, AutoMLP, AbortError } from '../index.js'
import { BullMQBackend, runTrialWorker } from 'neuro-divergent/queue'
import { airPassengers, tinyMlpSpace as space } from './helpers'

const haveRedis = spawnSync('redis-server', ['--version']).status === 0
const skip = haveRedis ? false : 'redis-server is not installed (apt-get install redis-server): the queue tests are skipped'
if (!haveRedis) console.log(`# ${skip}`)

const WORKER = join(__dirname, 'fixtures', 'queue_worker.js')
const NO_BULLMQ = join(__dirname, 'fixtures', 'queue_no_bullmq.js')
const dir = mkdtempSync(join(tmpdir(), 'nd-queue-'))
const df = airPassengers()
const strip = (results: { fitSeconds: number }[]) => results.map(({ fitSeconds, ...rest }) => rest)

let port = 0
let redis: ChildProcess | undefined
const workers: ChildProcess[] = []
const connection = () => ({ host: '127.0.0.1', port })

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function startWorker(queue: string, log: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, REDIS_PORT: String(port), QUEUE: queue, TRIAL_LOG: log, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
  workers.push(child)
  return child
}

/** The "<pid> <trial>" lines the workers wrote to `log`. */
function started(log: string): { pid: number; trial: number }[] {
  if (!existsSync(log)) return []
  return readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [pid, trial] = l.split(' ').map(Number)
    return { pid, trial }
  })
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000) {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

/** Whether a Redis server answers PING on `port`. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('PING\r\n'))
    socket.once('data', (d) => {
      socket.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
  })
}

before(async () => {
  if (!haveRedis) return
  port = await freePort()
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  await until('redis-server', () => pong(port))
})

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM')
  await Promise.all(workers.map((w) => (w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : null)))
  redis?.kill('SIGTERM')
})

test('a search of 8 trials on two worker processes draws, scores and refits as the local backend', { skip }, async () => {
  const log = join(dir, 'search.log')
  startWorker('search', log)
  startWorker('search', log)
  const backend = new BullMQBackend({ connection: connection(), queue: 'search' })
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 8, config: space, randomSeed: 3, backend })
    const events: { trial?: number; step: number; maxSteps: number; model: string }[] = []
    const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
    await nf.fit(df, { valSize: 12, onProgress: (e) => events.push(e) })
    assert.deepEqual(auto.results.map((r) => r.trial).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
    assert.ok(auto.results.every((r, i) => Number.isFinite(r.validLoss) && r.fitSeconds > 0 && (i === 0 || auto.results[i - 1].validLoss <= r.validLoss)))
    // Progress of every trial reached the coordinator, each trial's through to its last step.
    for (let t = 0; t < 8; t++) assert.ok(events.some((e) => e.trial === t && e.model === 'AutoMLP' && e.step === e.maxSteps), `trial ${t}'s last step`)
    assert.equal((await nf.predict()).AutoMLP!.length, 12)
    // The same seed on this machine: the same configs and, fitted the same way, the same losses.
    const local = new AutoMLP({ h: 12, numSamples: 8, config: space, randomSeed: 3 })
    await new NeuralForecast({ models: [local], freq: 'ME' }).fit(df, { valSize: 12 })
    assert.deepEqual(strip(auto.results), strip(local.results))
    assert.deepEqual(auto.model!.options, local.model!.options)
    assert.equal(started(log).length, 8)
  } finally {
    await backend.close()
  }
})

test('TPE on the queue draws as a local search running as many trials at once', { skip }, async () => {
  const backend = new BullMQBackend({ connection: connection(), queue: 'search', concurrency: 2 })
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 12, config: space, searchAlg: 'tpe', backend })
    await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
    assert.equal(auto.results.length, 12)
    // The local backend runs floor(cores / cpus) trials at once: compare where that is 2.
    if (require('node:os').availableParallelism() === 2) {
      const local = new AutoMLP({ h: 12, numSamples: 12, config: space, searchAlg: 'tpe' })
      await new NeuralForecast({ models: [local], freq: 'ME' }).fit(df, { valSize: 12 })
      assert.deepEqual(strip(auto.results), strip(local.results))
    }
  } finally {
    await backend.close()
  }
})

test('a worker killed mid-trial: its trial runs again on another worker and counts once', { skip }, async () => {
  const log = join(dir, 'kill.log')
  // The victim alone serves the queue, so it takes a trial; it blocks once the trial has started.
  const victim = startWorker('kill', log, { HOLD: '1' })
  const backend = new BullMQBackend({ connection: connection(), queue: 'kill' })
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 8, config: space, backend })
    const search = new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
    await until('the victim to start a trial', () => started(log).some((s) => s.pid === victim.pid))
    const killed = started(log).find((s) => s.pid === victim.pid)!.trial
    victim.kill('SIGKILL') // by its own pid
    const rescuer = startWorker('kill', log)
    await search
    assert.deepEqual(auto.results.map((r) => r.trial).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7])
    assert.ok(auto.results.every((r) => Number.isFinite(r.validLoss)))
    // Delivered twice (the victim, then the rescuer), counted once.
    assert.deepEqual(started(log).filter((s) => s.trial === killed).map((s) => s.pid), [victim.pid, rescuer.pid])
  } finally {
    await backend.close()
  }
})

test('crossValidation fans its windows out: each equals a one-window cross-validation of the data before its cutoff', { skip }, async () => {
  const backend = new BullMQBackend({ connection: connection(), queue: 'search' })
  try {
    const mlp = () => new MLP({ h: 12, inputSize: 24, hiddenSize: 16, numLayers: 1, maxSteps: 20, scalerType: 'standard', randomSeed: 1 })
    const nf = new NeuralForecast({ models: [mlp()], freq: 'ME' })
    const windows = new Set<number>()
    // Two series, rows shuffled: the windows' rows must merge in NeuralForecast's order (series, cutoff, ds).
    const two = [...df, ...df.map((r) => ({ ...r, unique_id: 'Double', y: 2 * r.y }))].reverse()
    const cv = await backend.crossValidation(nf, two, { nWindows: 3, stepSize: 12, onProgress: (e) => windows.add(e.window) })
    assert.deepEqual([...windows].sort(), [0, 1, 2])
    // The rows and columns of the local refit, which continues each window from the last one's weights.
    const local = await new NeuralForecast({ models: [mlp()], freq: 'ME' }).crossValidation(two, { nWindows: 3, stepSize: 12, refit: true })
    assert.deepEqual(Object.keys(cv), Object.keys(local))
    for (const c of ['unique_id', 'ds', 'cutoff', 'y']) assert.deepEqual(cv[c], local[c], c)
    for (let w = 0; w < 3; w++) {
      const before = (id: string) => two.filter((r) => r.unique_id === id).reverse().slice(0, df.length - (2 - w) * 12)
      const alone = await new NeuralForecast({ models: [mlp()], freq: 'ME' }).crossValidation([...before('AirPassengers'), ...before('Double')], { nWindows: 1 })
      // Rows: AirPassengers' 3 windows of 12, then Double's.
      for (const [s, from] of [[0, 0], [1, 36]]) assert.deepEqual(cv.MLP!.slice(from + w * 12, from + (w + 1) * 12), alone.MLP!.slice(s * 12, (s + 1) * 12), `window ${w}, series ${s}`)
    }
    await assert.rejects(backend.crossValidation(nf, df, { nWindows: 20, stepSize: 12 }), /series 'AirPassengers' has 144 points, too few for 20 windows/)
    // An option the worker's crossValidation refuses comes back as its TypeError.
    await assert.rejects(backend.crossValidation(nf, df, { nWindows: 2, level: [80] }), (e: any) => e instanceof TypeError && /predictionIntervals/.test(e.message))
  } finally {
    await backend.close()
  }
})

test('fit on a worker: independent fits side by side, each nf then predicts as if fitted here', { skip }, async () => {
  const backend = new BullMQBackend({ connection: connection(), queue: 'search' })
  try {
    const mlp = () => new MLP({ h: 12, inputSize: 24, hiddenSize: 16, numLayers: 1, maxSteps: 20, scalerType: 'standard', randomSeed: 2 })
    const markets = [df, df.map((r) => ({ ...r, unique_id: 'Double', y: 2 * r.y }))]
    const remote = markets.map(() => new NeuralForecast({ models: [mlp()], freq: 'ME' }))
    await Promise.all(remote.map((nf, i) => backend.fit(nf, markets[i], { valSize: 12 })))
    for (const [i, nf] of remote.entries()) {
      const here = new NeuralForecast({ models: [mlp()], freq: 'ME' })
      await here.fit(markets[i], { valSize: 12 })
      assert.deepEqual(await nf.predict(), await here.predict(), `market ${i}`)
    }
    assert.equal((await remote[1].predict()).ds[0], '1961-01-31', 'ds of the kind given')
    await assert.rejects(backend.fit(remote[0], df, { valSize: -1 }), /BullMQBackend.fit option 'valSize' must be >= 0/)
  } finally {
    await backend.close()
  }
})

test('data over maxInlineBytes reaches the workers through a file under dataDir, removed after the search', { skip }, async () => {
  const shared = mkdtempSync(join(tmpdir(), 'nd-queue-data-'))
  const tight = { connection: connection(), queue: 'search', maxInlineBytes: 100 }
  const backend = new BullMQBackend({ ...tight, dataDir: shared })
  const refused = new BullMQBackend(tight)
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 2, config: space, backend })
    await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
    assert.ok(auto.results.every((r) => Number.isFinite(r.validLoss)))
    // The fitted models come back through dataDir too.
    const nf = new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 5 })], freq: 'ME' })
    await backend.fit(nf, df)
    assert.equal((await nf.predict()).MLP!.length, 12)
    assert.deepEqual(readdirSync(shared), [])
    const big = new AutoMLP({ h: 12, numSamples: 2, config: space, backend: refused })
    await assert.rejects(new NeuralForecast({ models: [big], freq: 'ME' }).fit(df, { valSize: 12 }), /over option 'maxInlineBytes' \(100\); give option 'dataDir'/)
  } finally {
    await Promise.all([backend.close(), refused.close()])
  }
})

test('abort removes the waiting trials from the queue and rejects with AbortError', { skip }, async () => {
  const backend = new BullMQBackend({ connection: connection(), queue: 'idle' }) // no worker serves it
  const queue = new Queue('idle', { connection: connection() })
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 8, config: space, backend })
    const controller = new AbortController()
    const search = new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12, signal: controller.signal })
    await until('8 waiting trials', async () => (await queue.getWaitingCount()) === 8)
    controller.abort()
    await assert.rejects(search, AbortError)
    assert.equal(await queue.getWaitingCount(), 0)
    assert.deepEqual(auto.results, [])
  } finally {
    await Promise.all([backend.close(), queue.close()])
  }
})

test('options are checked, naming the option; ASHA stays local', async () => {
  const connection = { host: '127.0.0.1', port: 1 }
  assert.throws(() => new BullMQBackend({ connection, queue: 'q', concurency: 2 } as any), /BullMQBackend: unknown option 'concurency'.*concurrency/)
  assert.throws(() => new BullMQBackend({ queue: 'q' } as any), /BullMQBackend option 'connection'/)
  assert.throws(() => new BullMQBackend({ connection, queue: '' }), /BullMQBackend option 'queue'/)
  assert.throws(() => new BullMQBackend({ connection, queue: 'q', maxInlineBytes: 0 }), RangeError)
  assert.throws(() => new BullMQBackend({ connection, queue: 'q', dataDir: 3 as any }), /option 'dataDir'/)
  assert.throws(() => new AutoMLP({ h: 12, backend: {} as any }), /AutoMLP option 'backend' must be a search backend/)
  const backend = new BullMQBackend({ connection, queue: 'q' })
  assert.throws(() => new AutoMLP({ h: 12, config: space, scheduler: 'asha', backend }), /scheduler 'asha' needs the local backend/)
  await assert.rejects(runTrialWorker({ connection, queue: 'q', lockDuration: -1 }), /runTrialWorker option 'lockDuration' must be >= 1/)
  await assert.rejects(backend.crossValidation({} as any, []), /BullMQBackend.crossValidation needs a NeuralForecast/)
  await backend.close()
})

test('without a Redis server, a search and a worker wait for one until their signal aborts', async () => {
  const closed = await freePort() // nothing listens there
  const backend = new BullMQBackend({ connection: { host: '127.0.0.1', port: closed }, queue: 'q' })
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.message)
  process.on('warning', onWarning)
  try {
    const auto = new AutoMLP({ h: 12, numSamples: 2, config: space, backend })
    await assert.rejects(new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12, signal: AbortSignal.timeout(500) }), AbortError)
    assert.ok(warnings.some((w) => /BullMQBackend: .*ECONNREFUSED/.test(w)), warnings.join('; '))
    await runTrialWorker({ connection: { host: '127.0.0.1', port: closed }, queue: 'q', signal: AbortSignal.timeout(300) })
  } finally {
    process.off('warning', onWarning)
    await backend.close()
  }
})

test('without bullmq, neuro-divergent/queue loads and its use names what to install', () => {
  const script = `
    const q = require('neuro-divergent/queue')
    try { new q.BullMQBackend({ connection: {}, queue: 'q' }) } catch (e) { console.log(e.message) }
    q.runTrialWorker({ connection: {}, queue: 'q' }).catch((e) => console.log(e.message))`
  const r = spawnSync(process.execPath, ['-r', NO_BULLMQ, '-e', script], { cwd: join(__dirname, '..'), encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  assert.equal(lines.length, 2)
  for (const l of lines) assert.match(l, /needs its optional peer dependencies bullmq and ioredis: npm install bullmq ioredis/)
})

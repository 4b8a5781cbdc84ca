// Many objects at once: fits train what they would alone, predicts serve the previous model during
// a refit and do not queue behind fits elsewhere, and an exiting environment does not wait for
// running work.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { NeuralForecast, MLP, NHITS, AbortError } from '../index.js'
import { airPassengers, type AirRow } from './helpers'

const rows = airPassengers()
const root = join(__dirname, '..')

/** `n` series shaped like AirPassengers, each scaled differently. */
function panel(n: number, length = 48): AirRow[] {
  const out: AirRow[] = []
  for (let s = 0; s < n; s++) for (const r of rows.slice(0, length)) out.push({ unique_id: `s${s}`, ds: r.ds, y: r.y * (1 + s / n) })
  return out
}

const small = (seed: number) => new MLP({ h: 12, inputSize: 24, hiddenSize: 32, numLayers: 2, maxSteps: 30, valCheckSteps: 10, earlyStopPatienceSteps: 2, windowsBatchSize: 64, randomSeed: seed })
const endless = () => new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, mlpUnits: [[64, 64], [64, 64], [64, 64]], windowsBatchSize: 64, maxSteps: 10_000_000 })], freq: 'ME' })

test('staggered fits with validation beside heavy predicts train exactly what each trains alone', async () => {
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8]
  const alone = []
  for (const seed of seeds) {
    const nf = new NeuralForecast({ models: [small(seed)], freq: 'ME' })
    await nf.fit(rows, { valSize: 12 })
    alone.push(await nf.predict())
  }
  // Two fitted objects predicting many series in loops while the fits run.
  const many = panel(100)
  const predictors = [new NeuralForecast({ models: [small(11)], freq: 'ME' }), new NeuralForecast({ models: [small(12)], freq: 'ME' })]
  await Promise.all(predictors.map((p) => p.fit(rows, { valSize: 12 })))
  let fitting = true
  let predicts = 0
  const loops = predictors.map(async (p) => {
    while (fitting) {
      await p.predict({ df: many })
      predicts++
    }
  })
  const together = await Promise.all(
    seeds.map(async (seed, i) => {
      await new Promise((r) => setTimeout(r, 7 * i))
      const nf = new NeuralForecast({ models: [small(seed)], freq: 'ME' })
      await nf.fit(rows, { valSize: 12 })
      return nf.predict()
    }),
  )
  fitting = false
  await Promise.all(loops)
  assert.ok(predicts > 0, 'the predict loops ran beside the fits')
  for (let i = 0; i < seeds.length; i++) assert.deepEqual(together[i], alone[i], `seed ${seeds[i]}: same forecast as fitted alone`)
})

test('during a refit: predict and save serve the previous model at once; a second fit or crossValidation is refused', async () => {
  const maxSteps = 1000
  const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, mlpUnits: [[64, 64], [64, 64], [64, 64]], windowsBatchSize: 64, maxSteps })], freq: 'ME' })
  await nf.fit(rows)
  const before = await nf.predict()
  const ac = new AbortController()
  let steps = 0
  const refit = nf.fit(rows.map((r) => ({ ...r, y: r.y * 3 })), { signal: ac.signal, onProgress: (e) => (steps = e.step) })
  const t0 = performance.now()
  const during = await nf.predict()
  const predictMs = performance.now() - t0
  assert.deepEqual(during, before, 'the previous model answers')
  await assert.rejects(nf.fit(rows), /already running a fit or crossValidation/)
  await assert.rejects(nf.crossValidation(rows, { nWindows: 1 }), /already running a fit or crossValidation/)
  const path = join(tmpdir(), `nd-refit-${process.pid}.ndf`)
  await nf.save(path)
  const loaded = await NeuralForecast.load(path)
  assert.deepEqual(await loaded.predict(), before, 'save during a refit wrote the previous model')
  rmSync(path, { force: true })
  assert.ok(steps < maxSteps, `the refit was still running (${steps} steps)`)
  assert.ok(predictMs < 1000, `predict during the refit took ${predictMs.toFixed(0)} ms`)
  ac.abort()
  await assert.rejects(refit, AbortError)
  assert.deepEqual(await nf.predict(), before, 'the aborted refit committed nothing')
  // The writer was released: the next fit starts (and is aborted at once here).
  await assert.rejects(nf.fit(rows, { signal: AbortSignal.timeout(10) }), AbortError)
})

test('one-series predicts answer in milliseconds while four fits run elsewhere, and file reads are not delayed', async () => {
  const nf = new NeuralForecast({ models: [small(3)], freq: 'ME' })
  await nf.fit(rows, { valSize: 12 })
  const one = rows.slice(-48)
  await nf.predict({ df: one })
  const ac = new AbortController()
  const fits = Array.from({ length: 4 }, () => endless().fit(rows, { signal: ac.signal }).catch((e) => e))
  await new Promise((r) => setTimeout(r, 300)) // the fits are training
  try {
    const times: number[] = []
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now()
      await nf.predict({ df: one })
      times.push(performance.now() - t0)
    }
    const t0 = performance.now()
    await readFile(join(root, 'package.json'))
    const readMs = performance.now() - t0
    // Queued behind the fits these took seconds (issue 18: 1.9 s with 2 fits, 4.8 s with 4).
    assert.ok(Math.max(...times) < 250, `slowest one-series predict ${Math.max(...times).toFixed(1)} ms (all: ${times.map((t) => t.toFixed(0)).join(' ')})`)
    assert.ok(readMs < 500, `fs.readFile took ${readMs.toFixed(0)} ms`)
  } finally {
    ac.abort()
  }
  for (const r of await Promise.all(fits)) assert.ok(r instanceof AbortError, String(r))
})

/** Runs `script` in a child node; resolves with its stdout lines and ms from `mark` line to exit. */
function child(script: string): Promise<{ out: string[]; exitMs: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let text = ''
    let marked = 0
    p.stdout.on('data', (d) => {
      text += d
      if (!marked && text.includes('MARK')) marked = performance.now()
    })
    const kill = setTimeout(() => p.kill('SIGKILL'), 60_000)
    p.on('error', reject)
    p.on('exit', (code) => {
      clearTimeout(kill)
      resolve({ out: text.trim().split('\n'), exitMs: marked ? performance.now() - marked : NaN, code })
    })
  })
}

const prelude = `
  const nd = require(${JSON.stringify(root)})
  const rows = ${JSON.stringify(rows)}
  const endless = () => new nd.NeuralForecast({ models: [new nd.NHITS({ h: 12, inputSize: 24, mlpUnits: [[64, 64], [64, 64], [64, 64]], windowsBatchSize: 64, maxSteps: 10000000 })], freq: 'ME' })
`

test('process.exit() during a fit exits at once', async () => {
  const r = await child(`${prelude}
    let told = false
    endless().fit(rows, { onProgress: (e) => { if (!told && e.step > 20) { told = true; console.log('MARK'); process.exit(7) } } })`)
  assert.equal(r.code, 7)
  assert.ok(r.exitMs < 2000, `exited ${r.exitMs.toFixed(0)} ms after process.exit()`)
})

test('process.exit() during a big predict exits at once', async () => {
  const r = await child(`${prelude}
    const nf = new nd.NeuralForecast({ models: [new nd.MLP({ h: 12, inputSize: 24, hiddenSize: 1024, numLayers: 4, maxSteps: 1 })], freq: 'ME' })
    const many = []
    for (let s = 0; s < 3000; s++) for (const r of rows.slice(0, 36)) many.push({ unique_id: 's' + s, ds: r.ds, y: r.y + s })
    nf.fit(rows).then(() => {
      nf.predict({ df: many }).then(() => console.log('predict finished first'))
      setTimeout(() => { console.log('MARK'); process.exit(3) }, 20)
    })`)
  assert.equal(r.code, 3)
  assert.ok(!r.out.includes('predict finished first'), 'the predict was still running at exit')
  assert.ok(r.exitMs < 2000, `exited ${r.exitMs.toFixed(0)} ms after process.exit()`)
})

test('worker.terminate() during a fit or predict returns at once; the next workers fit normally and agree', async () => {
  const r = await child(`
    const { Worker } = require('node:worker_threads')
    const rows = ${JSON.stringify(rows)}
    const job = (kind) => \`
      const { parentPort } = require('node:worker_threads')
      const nd = require(${JSON.stringify(root).replace(/\\/g, '\\\\')})
      const rows = \${JSON.stringify(rows)}
      const quick = () => new nd.NeuralForecast({ models: [new nd.MLP({ h: 12, inputSize: 24, maxSteps: 20, randomSeed: 5 })], freq: 'ME' })
      if ('\${kind}' === 'fit') {
        const nf = new nd.NeuralForecast({ models: [new nd.MLP({ h: 12, inputSize: 24, maxSteps: 10000000 })], freq: 'ME' })
        let told = false
        nf.fit(rows, { onProgress: () => { if (!told) { told = true; parentPort.postMessage('busy') } } })
      } else if ('\${kind}' === 'predict') {
        const nf = new nd.NeuralForecast({ models: [new nd.MLP({ h: 12, inputSize: 24, hiddenSize: 1024, numLayers: 4, maxSteps: 1 })], freq: 'ME' })
        const many = []
        for (let s = 0; s < 3000; s++) for (const r of rows.slice(0, 36)) many.push({ unique_id: 's' + s, ds: r.ds, y: r.y + s })
        nf.fit(rows).then(() => { nf.predict({ df: many }); parentPort.postMessage('busy') })
      } else {
        const nf = quick()
        nf.fit(rows).then(() => nf.predict()).then((p) => parentPort.postMessage(Array.from(p.MLP).join(',')))
      }\`
    const start = (kind) => new Worker(job(kind), { eval: true })
    const message = (w) => new Promise((res, rej) => { w.once('message', res); w.once('error', rej) })
    ;(async () => {
      for (const kind of ['fit', 'predict']) {
        const w = start(kind)
        await message(w)
        await new Promise((r) => setTimeout(r, 100))
        const t0 = performance.now()
        await w.terminate()
        console.log(kind + ' terminate ms ' + Math.round(performance.now() - t0))
      }
      // Several workers loading the addon at once, after the terminated ones, agree to the bit.
      const ws = [start('quick'), start('quick'), start('quick')]
      const got = await Promise.all(ws.map(message))
      await Promise.all(ws.map((w) => w.terminate()))
      console.log('agree ' + (new Set(got).size === 1) + ' ' + got[0].split(',').length)
    })()`)
  assert.equal(r.code, 0, r.out.join('\n'))
  for (const kind of ['fit', 'predict']) {
    const line = r.out.find((l) => l.startsWith(kind + ' terminate ms '))
    assert.ok(line, r.out.join('\n'))
    const ms = Number(line.split(' ').at(-1))
    assert.ok(ms < 2000, `worker.terminate() during a ${kind} took ${ms} ms`)
  }
  assert.ok(r.out.includes('agree true 12'), r.out.join('\n'))
})

test('a burst of 120 fits at once all finish, alike, on a bounded number of threads', async () => {
  const make = () => new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, hiddenSize: 8, numLayers: 1, maxSteps: 100 })], freq: 'ME' })
  const alone = make()
  await alone.fit(rows)
  const expected = (await alone.predict()).MLP
  const threads = () => Number(/Threads:\s+(\d+)/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0)
  let most = 0
  const timer = setInterval(() => (most = Math.max(most, threads())), 5)
  try {
    const objects = Array.from({ length: 120 }, make)
    await Promise.all(objects.map((o) => o.fit(rows)))
    for (const o of objects) assert.deepEqual((await o.predict()).MLP, expected)
  } finally {
    clearInterval(timer)
  }
  // At most 32 calls run at once, each on a pool of one thread per core; the rest wait in line
  // (without the bound: 120 pools, ~250 threads on 2 cores).
  if (process.platform === 'linux') assert.ok(most < 24 + 32 * require('node:os').availableParallelism(), `${most} threads`)
})

test("'threads' sets each call's pool size, is checked, and does not change the bits", async () => {
  const forecast = async (threads: number | undefined) => {
    const nf = new NeuralForecast({ models: [small(3)], freq: 'ME', threads })
    await nf.fit(panel(3), { valSize: 12 })
    const path = join(tmpdir(), `nd-threads-${process.pid}-${threads}.ndf`)
    try {
      await nf.save(path)
      const loaded = await NeuralForecast.load(path, { threads: threads ?? null })
      return [Array.from((await nf.predict()).MLP as Float64Array), Array.from((await loaded.predict()).MLP as Float64Array)]
    } finally {
      rmSync(path, { force: true })
    }
  }
  const base = await forecast(undefined)
  assert.deepEqual(base[1], base[0])
  for (const threads of [1, 3]) assert.deepEqual(await forecast(threads), base, `threads: ${threads}`)
  const models = [small(1)]
  assert.throws(() => new NeuralForecast({ models, freq: 'ME', threads: 0 }), (e: Error) => e instanceof RangeError && /'threads'/.test(e.message))
  assert.throws(() => new NeuralForecast({ models, freq: 'ME', threads: 1e6 }), RangeError)
  assert.throws(() => new NeuralForecast({ models, freq: 'ME', threads: 1.5 as number }), TypeError)
  assert.throws(() => new NeuralForecast({ models, freq: 'ME', threads: '2' as unknown as number }), TypeError)
  await assert.rejects(NeuralForecast.load('x.ndf', { threads: -1 }), RangeError)
  await assert.rejects(NeuralForecast.load('x.ndf', { thread: 2 } as never), (e: Error) => e instanceof TypeError && /unknown option 'thread'/.test(e.message))
})

// A small predict runs on the calling thread once one like it was measured (forecast::inline):
// the same forecast as through a pool, and every promise of the Promise API kept.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NeuralForecast, MLP, AbortError } from '../index.js'
import { airPassengers, quick } from './helpers'

const rows = airPassengers()
const tick = (n = 24) => ({ unique_id: Array(n).fill('AirPassengers'), ds: rows.slice(-n).map((r) => r.ds), y: Float64Array.from(rows.slice(-n), (r) => r.y) })

test('repeated small predicts give the first one, pool-run, forecast exactly', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 32 })], freq: 'ME' })
  await nf.fit(rows)
  const first = await nf.predict({ df: tick() })
  for (let i = 0; i < 5; i++) assert.deepEqual(await nf.predict({ df: tick() }), first)
  // A longer history after short ones goes to a pool again and still agrees with itself.
  const longer = await nf.predict({ df: tick(48) })
  assert.deepEqual(await nf.predict({ df: tick(48) }), longer)
  assert.deepEqual(first.ds, ['1961-01-31', '1961-02-28', '1961-03-31', '1961-04-30', '1961-05-31', '1961-06-30', '1961-07-31', '1961-08-31', '1961-09-30', '1961-10-31', '1961-11-30', '1961-12-31'])
})

test('an inline predict rejects (never throws) with the JS error, and an aborted signal still rejects', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 32 })], freq: 'ME' })
  await nf.fit(rows)
  await nf.predict({ df: tick() })
  const dup = { ...tick(), ds: Array(24).fill(rows[rows.length - 1].ds) }
  const call = nf.predict({ df: dup })
  assert.ok(call instanceof Promise)
  await assert.rejects(call, (e: Error) => e instanceof Error && /duplicate|twice|more than once/i.test(e.message))
  const ac = new AbortController()
  ac.abort()
  await assert.rejects(nf.predict({ df: tick(), signal: ac.signal }), AbortError)
  assert.equal((await nf.predict({ df: tick() })).MLP?.length, 12)
})

// Large enough (256 × 256 multiply-adds and more) for inline predicts to share their products with
// the engine's spinning helper thread (kernels::helper).
const wide = { ...quick, hiddenSize: 256 }

test('inline predicts sharing their products with the helper thread equal the pool-run forecast bit for bit', async () => {
  const nf = new NeuralForecast({ models: [new MLP(wide)], freq: 'ME', threads: 2 })
  await nf.fit(rows)
  const first = await nf.predict({ df: tick() })
  // Back to back, so the helper is awake for most of them.
  for (let i = 0; i < 200; i++) assert.deepEqual(await nf.predict({ df: tick() }), first)
  // What bench/predict_latency.mjs reads beside its JS timings: the engine's own time.
  const engine = (nf as unknown as { _native: { lastPredictMicros(): number | null } })._native.lastPredictMicros()
  assert.ok(typeof engine === 'number' && engine > 0, `${engine}`)
  for (const threads of [1, 4]) {
    const other = new NeuralForecast({ models: [new MLP(wide)], freq: 'ME', threads })
    await other.fit(rows)
    assert.deepEqual(await other.predict({ df: tick() }), first, `threads: ${threads}, through a pool`)
    assert.deepEqual(await other.predict({ df: tick() }), first, `threads: ${threads}, inline`)
  }
})

test('an inline predict fails with the same error as the same request through a pool', async () => {
  const bad = { ...tick(), ds: Array(24).fill(rows[rows.length - 1].ds) }
  const fresh = new NeuralForecast({ models: [new MLP(wide)], freq: 'ME' })
  await fresh.fit(rows)
  // The first predict after a fit runs on a pool; after one success, one this size runs inline.
  const viaPool = await fresh.predict({ df: bad }).catch((e: Error) => e)
  await fresh.predict({ df: tick() })
  const inline = await fresh.predict({ df: bad }).catch((e: Error) => e)
  assert.ok(viaPool instanceof Error && inline instanceof Error)
  assert.equal(inline.constructor, viaPool.constructor)
  assert.equal(inline.message, viaPool.message)
})

test('the helper thread stops spinning once predicts stop', async () => {
  const nf = new NeuralForecast({ models: [new MLP(wide)], freq: 'ME' })
  await nf.fit(rows)
  for (let i = 0; i < 300; i++) await nf.predict({ df: tick() })
  // Its spin window is 200 µs: well past it, an idle second costs the process next to no CPU
  // (a thread still spinning would take most of a core).
  await new Promise((resolve) => setTimeout(resolve, 50))
  const before = process.cpuUsage()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const used = process.cpuUsage(before)
  assert.ok(used.user + used.system < 150_000, `${(used.user + used.system) / 1000} ms of CPU in an idle second`)
})

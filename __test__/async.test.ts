// Long work stays off the event loop, reports progress, and stops when asked.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, NHITS, AbortError } from '../index.js'
import { airPassengers } from './helpers'

const rows = airPassengers()
const slow = () => new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 100_000, windowsBatchSize: 256 })], freq: 'ME' })

test('abort stops training within a step and rejects with AbortError', async () => {
  const nf = slow()
  const ac = new AbortController()
  let lastStep = 0
  const started = Date.now()
  const p = nf.fit(rows, {
    signal: ac.signal,
    onProgress: (e) => {
      lastStep = e.step
      if (e.step >= 3) ac.abort()
    },
  })
  await assert.rejects(p, (e: any) => e instanceof AbortError && e.name === 'AbortError')
  assert.ok(Date.now() - started < 10_000, 'stopped promptly')
  assert.ok(lastStep < 1000)
})

test('an already-aborted signal rejects at once', async () => {
  await assert.rejects(slow().fit(rows, { signal: AbortSignal.abort() }), AbortError)
})

test('progress events carry model, step, maxSteps and losses at a bounded rate', async () => {
  const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 60, valCheckSteps: 20 })], freq: 'ME' })
  const events: any[] = []
  await nf.fit(rows, { valSize: 12, onProgress: (e) => events.push(e) })
  assert.ok(events.length >= 1 && events.length <= 61)
  const last = events.at(-1)
  assert.equal(last.model, 'NHITS')
  assert.equal(last.step, 60)
  assert.equal(last.maxSteps, 60)
  assert.ok(Number.isFinite(last.trainLoss))
  assert.ok(Number.isFinite(last.valLoss), 'validation loss reported with valSize')
})

test('the event loop keeps ticking during fit (no gap over 50 ms)', async () => {
  const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 300, windowsBatchSize: 512 })], freq: 'ME' })
  let last = performance.now()
  let worst = 0
  const timer = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last)
    last = now
  }, 5)
  const t0 = performance.now()
  await nf.fit(rows)
  clearInterval(timer)
  assert.ok(performance.now() - t0 > 200, 'fit ran long enough to measure')
  assert.ok(worst < 50, `longest event-loop gap ${worst.toFixed(1)} ms`)
})

test('a throwing onProgress callback does not crash the process', async () => {
  const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 5 })], freq: 'ME' })
  await nf.fit(rows, { onProgress: () => { throw new Error('user bug') } })
})

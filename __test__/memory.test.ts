// Sizes that would not fit in memory are refused at construction, before anything is allocated:
// a failed allocation would abort the whole process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, MLP, NHITS } from '../index.js'
import type { MLPOptions } from '../index.js'
import { airPassengers, quick } from './helpers'

function refusedFast(options: Partial<MLPOptions>, option: RegExp) {
  const rss = process.memoryUsage().rss
  const t = performance.now()
  assert.throws(
    () => new MLP({ h: 12, inputSize: 24, ...options }),
    (e: any) => e instanceof RangeError && option.test(e.message) && /over the limit of/.test(e.message) && /[GT]B of memory/.test(e.message),
  )
  assert.ok(performance.now() - t < 1000, `took ${performance.now() - t} ms`)
  assert.ok(process.memoryUsage().rss - rss < 50e6, `rss grew by ${(process.memoryUsage().rss - rss) / 1e6} MB`)
}

test('hiddenSize, h and windowsBatchSize beyond the memory limit are RangeErrors, quickly and without allocating', () => {
  refusedFast({ hiddenSize: 2e5 }, /hiddenSize=200000/)
  refusedFast({ h: 1e9 }, /h=1000000000/)
  refusedFast({ windowsBatchSize: 1e9 }, /windowsBatchSize=1000000000/)
  assert.throws(() => new MLP({ h: 12, inputSize: 24, hiddenSize: 1e300 }), /hiddenSize' must be <= 9007199254740991/)
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, mlpUnits: [[1e15, 1e15], [2, 2], [2, 2]] }), (e: any) => e instanceof RangeError && /mlpUnits/.test(e.message))
})

test('constructing a model or a NeuralForecast validates options without building weights', () => {
  // ~50M parameters: 200 MB of weights if they were built.
  const rss = process.memoryUsage().rss
  const t = performance.now()
  for (let i = 0; i < 100; i++) new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, hiddenSize: 7000 })], freq: 'ME' })
  const each = (performance.now() - t) / 100
  assert.ok(each < 2, `${each} ms per construction`)
  assert.ok(process.memoryUsage().rss - rss < 50e6, `rss grew by ${(process.memoryUsage().rss - rss) / 1e6} MB`)
})

test('NEURO_DIVERGENT_MEMORY_LIMIT sets the limit, read at each check', async () => {
  const before = process.env.NEURO_DIVERGENT_MEMORY_LIMIT
  try {
    process.env.NEURO_DIVERGENT_MEMORY_LIMIT = '1MB'
    assert.throws(() => new MLP({ ...quick, hiddenSize: 1024 }), /over the limit of 1\.0 MB \(set by NEURO_DIVERGENT_MEMORY_LIMIT\)/)
    process.env.NEURO_DIVERGENT_MEMORY_LIMIT = 'lots'
    assert.throws(() => new MLP({ ...quick, hiddenSize: 8 }), (e: any) => e instanceof RangeError && /NEURO_DIVERGENT_MEMORY_LIMIT must be a size/.test(e.message))
    // A model that fits, then data whose validation batch does not.
    process.env.NEURO_DIVERGENT_MEMORY_LIMIT = '2MB'
    const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 8, windowsBatchSize: 8 })], freq: 'ME' })
    const many = Array.from({ length: 400 }, (_, s) => airPassengers().map((r) => ({ ...r, unique_id: `s${s}` }))).flat()
    await assert.rejects(nf.fit(many, { valSize: 100 }), (e: any) => e instanceof RangeError && /validation would need .* for \d+ windows/.test(e.message))
  } finally {
    if (before === undefined) delete process.env.NEURO_DIVERGENT_MEMORY_LIMIT
    else process.env.NEURO_DIVERGENT_MEMORY_LIMIT = before
  }
})

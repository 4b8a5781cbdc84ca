// TimesNet as a user calls it: it learns AirPassengers at a tiny size, repeats with a seed, saves
// and loads exactly, and NeuralForecast's constructor errors throw at `new`, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, TimesNet } from '../index.js'
import { airPassengers, mae } from './helpers'

const rows = airPassengers().map((r, i) => ({ ...r, month: (i % 12) / 12 }))
const train = rows.slice(0, -12)
const futrDf = rows.slice(-12).map(({ unique_id, ds, month }) => ({ unique_id, ds, month }))
const truth = rows.slice(-12).map((r) => r.y)
const seasonalNaive = mae(train.slice(-12).map((r) => r.y), truth)
const tiny = { h: 12, inputSize: 24, hiddenSize: 8, convHiddenSize: 8, topK: 2, numKernels: 2, maxSteps: 60, learningRate: 1e-2, windowsBatchSize: 32 }

test('TimesNet learns AirPassengers, repeats with a seed and saves/loads exactly', async () => {
  const fit = async (seed: number) => {
    const nf = new NeuralForecast({ models: [new TimesNet({ ...tiny, randomSeed: seed, futrExogList: ['month'] })], freq: 'ME' })
    await nf.fit(train)
    return { nf, fc: await nf.predict({ futrDf }) }
  }
  const { nf, fc } = await fit(1)
  const ours = mae(fc.TimesNet as Float64Array, truth)
  assert.ok(ours < seasonalNaive, `TimesNet MAE ${ours} should beat seasonal naive ${seasonalNaive}`)
  assert.deepEqual((await fit(1)).fc, fc, 'same seed, same forecast')
  assert.notDeepEqual((await fit(2)).fc.TimesNet, fc.TimesNet, 'another seed, another forecast')
  const path = join(mkdtempSync(join(tmpdir(), 'nd-TimesNet-')), 'm.nd')
  await nf.save(path)
  assert.deepEqual(await (await NeuralForecast.load(path)).predict({ futrDf }), fc)
})

test('TimesNet defaults are NeuralForecast’s', () => {
  const c = new TimesNet({ h: 12, inputSize: 24 }).config
  assert.deepEqual(
    [c.hiddenSize, c.convHiddenSize, c.topK, c.numKernels, c.encoderLayers, c.dropout, c.learningRate, c.windowsBatchSize, c.inferenceWindowsBatchSize, c.scalerType],
    [64, 64, 5, 6, 2, 0.1, 1e-4, 64, 256, 'standard'],
  )
})

test('TimesNet’s constructor errors throw at construction, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  // inputSize 8 + h 4 = 12 steps: 12 // 2 + 1 = 7 frequencies, DC excluded, so 6 periods at most.
  assert.equal(new TimesNet({ h: 4, inputSize: 8, topK: 6 }).config.topK, 6)
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, topK: 7 }), range(/'topK' \(7\).*7 frequencies.*12 steps/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, topK: 0 }), range(/'topK'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, hiddenSize: 7 }), range(/'hiddenSize'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, convHiddenSize: 0 }), range(/'convHiddenSize'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, numKernels: 0 }), range(/'numKernels'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, encoderLayers: 0 }), range(/'encoderLayers'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, dropout: 1.5 }), range(/'dropout'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, topK: 'two' as any }), type(/'topK'/))
  // NeuralForecast: TimesNet takes future exogenous variables only.
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, histExogList: ['x'] }), type(/'histExogList'/))
  assert.throws(() => new TimesNet({ h: 4, inputSize: 8, statExogList: ['x'] }), type(/'statExogList'/))
})

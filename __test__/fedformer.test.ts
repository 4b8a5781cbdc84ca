// FEDformer as a user calls it: it learns AirPassengers (with a future exogenous column), repeats
// with a seed, saves and loads exactly; NeuralForecast's defaults and constructor errors, naming
// the option; the future column reaches the forecast.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FEDformer, NeuralForecast } from '../index.js'
import { lastYearWithMonth, learnsRepeatsRoundTrips, quick } from './helpers'

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
const small = { h: 12, inputSize: 24, maxSteps: 150, windowsBatchSize: 64, learningRate: 1e-3, scalerType: 'standard' as const, hiddenSize: 16, convHiddenSize: 16, futrExogList: ['month'] }

test('FEDformer learns AirPassengers, repeats with a seed and saves/loads exactly', () =>
  learnsRepeatsRoundTrips({ name: 'FEDformer', make: (seed) => new FEDformer({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive, predict: { futrDf } }))

test('FEDformer: NeuralForecast’s defaults and constructor errors, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  const c = new FEDformer({ h: 12, inputSize: 24 }).config
  assert.deepEqual(
    [c.decoderInputSizeMultiplier, c.hiddenSize, c.nHead, c.convHiddenSize, c.version, c.modes, c.modeSelect, c.movingAvgWindow, c.dropout, c.activation, c.encoderLayers, c.decoderLayers, c.maxSteps, c.learningRate],
    [0.5, 128, 8, 32, 'Fourier', 64, 'random', 25, 0.05, 'gelu', 2, 1, 5000, 1e-4],
  )
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, nHead: 4 }), range(/'nHead'/))
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, version: 'Wavelets' as any }), range(/'version'/))
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, decoderInputSizeMultiplier: 0 }), range(/'decoderInputSizeMultiplier'/))
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, activation: 'tanh' as any }), range(/'activation'/))
  // NeuralForecast fails in forward on these: an even window, a decoder too short for its modes.
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, movingAvgWindow: 24 }), range(/'movingAvgWindow'/))
  assert.throws(() => new FEDformer({ h: 2, inputSize: 40, decoderInputSizeMultiplier: 0.1 }), range(/'decoderInputSizeMultiplier'/))
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, histExogList: ['x'] }), type(/'histExogList'/))
  assert.throws(() => new FEDformer({ h: 12, inputSize: 24, excludeInsampleY: true } as any), type(/'excludeInsampleY'/))
})

test('FEDformer reads its future exogenous column in the forecast', async () => {
  const nf = new NeuralForecast({ models: [new FEDformer({ ...quick, hiddenSize: 8, convHiddenSize: 8, futrExogList: ['month'] })], freq: 'ME' })
  await nf.fit(train as any)
  const fc = await nf.predict({ futrDf } as any)
  const shifted = await nf.predict({ futrDf: futrDf.map((r) => ({ ...r, month: r.month + 5 })) } as any)
  assert.ok((fc.FEDformer as Float64Array).every(Number.isFinite))
  assert.notDeepEqual(shifted.FEDformer, fc.FEDformer)
})

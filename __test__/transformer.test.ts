// VanillaTransformer as a user calls it: it learns AirPassengers, repeats with a seed, saves and
// loads exactly, and NeuralForecast's constructor errors throw at `new`, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { VanillaTransformer } from '../index.js'
import { lastYearWithMonth, learnsRepeatsRoundTrips } from './helpers'

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
const small = { h: 12, inputSize: 24, maxSteps: 150, windowsBatchSize: 64, learningRate: 1e-3, scalerType: 'standard' as const, hiddenSize: 16, nHead: 2, convHiddenSize: 16, futrExogList: ['month'] }

test('VanillaTransformer learns AirPassengers, repeats with a seed and saves/loads exactly', () =>
  learnsRepeatsRoundTrips({ name: 'VanillaTransformer', make: (seed) => new VanillaTransformer({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive, predict: { futrDf } }))

test('VanillaTransformer: NeuralForecast’s defaults and constructor errors, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  const c = new VanillaTransformer({ h: 12, inputSize: 24 }).config
  assert.deepEqual([c.hiddenSize, c.nHead, c.convHiddenSize, c.dropout, c.encoderLayers, c.decoderLayers, c.activation, c.maxSteps, c.learningRate], [128, 4, 32, 0.05, 2, 1, 'gelu', 5000, 1e-4])
  assert.throws(() => new VanillaTransformer({ h: 12, inputSize: 24, decoderInputSizeMultiplier: 0 }), range(/'decoderInputSizeMultiplier'/))
  assert.throws(() => new VanillaTransformer({ h: 12, inputSize: 24, decoderInputSizeMultiplier: 1.5 }), range(/'decoderInputSizeMultiplier'/))
  assert.throws(() => new VanillaTransformer({ h: 12, inputSize: 24, activation: 'tanh' as any }), range(/'activation'/))
  assert.throws(() => new VanillaTransformer({ h: 12, inputSize: 24, histExogList: ['x'] }), type(/'histExogList'/))
})

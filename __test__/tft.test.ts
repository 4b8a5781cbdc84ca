// TFT as a user calls it: it learns AirPassengers (with a future exogenous column), repeats with
// a seed, saves and loads exactly; NeuralForecast's defaults and constructor errors, naming the
// option; the GRU variant and the dummy future input (no future exogenous) forecast too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, TFT } from '../index.js'
import { lastYearWithMonth, learnsRepeatsRoundTrips, quick } from './helpers'

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
const small = { h: 12, inputSize: 24, maxSteps: 150, windowsBatchSize: 64, learningRate: 3e-3, scalerType: 'standard' as const, hiddenSize: 16, nHead: 2, futrExogList: ['month'] }

test('TFT learns AirPassengers, repeats with a seed and saves/loads exactly', () =>
  learnsRepeatsRoundTrips({ name: 'TFT', make: (seed) => new TFT({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive, predict: { futrDf } }))

test('TFT: NeuralForecast’s defaults and constructor errors, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const c = new TFT({ h: 12, inputSize: 24 }).config
  assert.deepEqual(
    [c.hiddenSize, c.nHead, c.attnDropout, c.dropout, c.grnActivation, c.nRnnLayers, c.rnnType, c.oneRnnInitialState, c.scalerType, c.maxSteps, c.learningRate],
    [128, 4, 0, 0.1, 'ELU', 1, 'lstm', false, 'robust', 1000, 1e-3],
  )
  assert.equal(new TFT({ h: 12, inputSize: 24, rnnType: 'GRU' as any }).config.rnnType, 'gru')
  assert.throws(() => new TFT({ h: 12, inputSize: 24, hiddenSize: 10, nHead: 4 }), range(/'hiddenSize'.*'nHead'/))
  assert.throws(() => new TFT({ h: 12, inputSize: 24, rnnType: 'rnn' as any }), range(/'rnnType'/))
  assert.throws(() => new TFT({ h: 12, inputSize: 24, grnActivation: 'GLU' as any }), range(/'grnActivation'/))
})

test('TFT with a GRU and no future exogenous column forecasts; the future column reaches the forecast', async () => {
  const nf = new NeuralForecast({
    models: [
      new TFT({ ...quick, hiddenSize: 8, nHead: 2, rnnType: 'gru', nRnnLayers: 2, alias: 'gru' }),
      new TFT({ ...quick, hiddenSize: 8, nHead: 2, futrExogList: ['month'], alias: 'futr' }),
    ],
    freq: 'ME',
  })
  await nf.fit(train as any)
  const fc = await nf.predict({ futrDf } as any)
  const shifted = await nf.predict({ futrDf: futrDf.map((r) => ({ ...r, month: r.month + 5 })) } as any)
  assert.ok((fc.gru as Float64Array).every(Number.isFinite))
  assert.ok((fc.futr as Float64Array).every(Number.isFinite))
  assert.notDeepEqual(shifted.futr, fc.futr)
})

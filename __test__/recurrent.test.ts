// RNN, GRU, TCN and BiTCN (the recurrent and convolutional sequence encoders) as a user calls them:
// they learn AirPassengers (with exogenous variables), repeat with a seed, save and load exactly,
// and take NeuralForecast's options and defaults at `new`. LSTM, RNN and GRU do the same in
// NeuralForecast's recurrent mode, forecasting one step at a time.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, LSTM, RNN, GRU, TCN, BiTCN, MQLoss } from '../index.js'
import { lastYearWithMonth, learnsRepeatsRoundTrips } from './helpers'

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
// Recurrent cells unroll 24 steps per window: narrow ones keep this quick.
const base = { h: 12, inputSize: 24, maxSteps: 150, learningRate: 3e-3, scalerType: 'standard' as const, futrExogList: ['month'] }
const small = { ...base, encoderHiddenSize: 32, decoderHiddenSize: 32 }

for (const [name, make] of [
  ['RNN', (seed: number) => new RNN({ ...small, randomSeed: seed })],
  ['GRU', (seed: number) => new GRU({ ...small, randomSeed: seed })],
  ['TCN', (seed: number) => new TCN({ ...small, randomSeed: seed })],
  ['BiTCN', (seed: number) => new BiTCN({ ...base, windowsBatchSize: 128, hiddenSize: 16, dropout: 0.1, randomSeed: seed })],
] as const) {
  test(`${name} learns AirPassengers, repeats with a seed and saves/loads exactly`, () =>
    learnsRepeatsRoundTrips({ name, make, train, truth, bound: seasonalNaive, predict: { futrDf } }))
}

// Recurrent mode: one-step-ahead forecasts trained on 12 targets per window, forecast 12 steps
// one at a time with the month known ahead.
const recurrent = { ...base, recurrent: true, hTrain: 12, encoderHiddenSize: 16, windowsBatchSize: 64 }
for (const [name, make] of [
  ['LSTM', (seed: number) => new LSTM({ ...recurrent, randomSeed: seed })],
  ['RNN', (seed: number) => new RNN({ ...recurrent, randomSeed: seed })],
  ['GRU', (seed: number) => new GRU({ ...recurrent, randomSeed: seed })],
] as const) {
  test(`${name} in recurrent mode learns AirPassengers, repeats with a seed and saves/loads exactly`, () =>
    learnsRepeatsRoundTrips({ name, make, train, truth, bound: seasonalNaive, predict: { futrDf } }))
}

test('recurrent models validate, cross-validate and forecast quantiles one step at a time', async () => {
  const quick = { h: 6, inputSize: 12, maxSteps: 20, recurrent: true, encoderHiddenSize: 8, scalerType: 'standard' as const }
  const nf = new NeuralForecast({
    models: [new GRU({ ...quick, hTrain: 3, valCheckSteps: 10, loss: new MQLoss({ level: [80] }) }), new RNN({ ...quick, inferenceInputSize: 30 })],
    freq: 'ME',
  })
  const seen: (number | null | undefined)[] = []
  const plain = train.map(({ unique_id, ds, y }) => ({ unique_id, ds, y }))
  await nf.fit(plain, { valSize: 12, onProgress: (e: any) => seen.push(e.valLoss) })
  assert.ok(seen.some((v) => typeof v === 'number' && Number.isFinite(v)), 'a stepwise validation loss')
  const fc = await nf.predict()
  assert.equal(fc.ds.length, 6)
  const [lo, median, hi] = ['GRU-lo-80', 'GRU-median', 'GRU-hi-80'].map((c) => fc[c] as Float64Array)
  // One column per quantile (20 steps do not yet order them), each finite.
  for (const q of [lo, median, hi]) assert.ok(q.length === 6 && q.every(Number.isFinite))
  assert.notDeepEqual(lo, hi)
  assert.ok((fc.RNN as Float64Array).every(Number.isFinite))
  const cv = await nf.crossValidation(plain, { nWindows: 2, stepSize: 6 })
  assert.equal(cv.ds.length, 12)
  assert.ok((cv.RNN as Float64Array).every(Number.isFinite))
})

test('RNN, GRU, TCN and BiTCN take NeuralForecast’s defaults and refuse what they do not support, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const rnn = new RNN({ h: 12 }).config
  assert.equal(rnn.inputSize, 36, 'inputSize -1 means three horizons')
  assert.equal(rnn.encoderHiddenSize, 128)
  assert.equal(rnn.encoderActivation, 'tanh')
  assert.equal(rnn.scalerType, 'robust')
  assert.equal(rnn.windowsBatchSize, 128)
  assert.equal(new GRU({ h: 12 }).config.encoderHiddenSize, 200)
  // NeuralForecast raises no constructor errors for these two; the options are checked as any other.
  assert.throws(() => new RNN({ h: 12, encoderActivation: 'sigmoid' as any }), range(/'encoderActivation'/))
  for (const M of [RNN, GRU]) {
    assert.throws(() => new M({ h: 12, encoderNLayers: 0 }), range(/'encoderNLayers'/))
    assert.throws(() => new M({ h: 12, recurrent: true, hTrain: 0 }), range(/'hTrain'/))
    assert.throws(() => new M({ h: 12, recurrent: 'yes' as any }), (e: any) => e instanceof TypeError && /'recurrent'/.test(e.message))
    assert.throws(() => new M({ h: 12, decoderActivation: 'Nope' as any }), range(/'decoderActivation'/))
  }
  const tcn = new TCN({ h: 12 }).config
  assert.deepEqual([tcn.inputSize, tcn.kernelSize, tcn.dilations, tcn.encoderHiddenSize, tcn.encoderActivation, tcn.scalerType], [36, 2, [1, 2, 4, 8, 16], 128, 'ReLU', 'robust'])
  assert.throws(() => new TCN({ h: 12, dilations: [] }), range(/'dilations'/))
  assert.throws(() => new TCN({ h: 12, encoderActivation: 'Swish' as any }), range(/'encoderActivation'/))
  const bitcn = new BiTCN({ h: 12, inputSize: 24 }).config
  assert.deepEqual([bitcn.hiddenSize, bitcn.dropout, bitcn.windowsBatchSize, bitcn.scalerType], [16, 0.5, 1024, 'identity'])
  assert.throws(() => new BiTCN({ h: 12, inputSize: 1 }), range(/'inputSize'/))
  // Deprecated in NeuralForecast's GRU: accepted and ignored.
  assert.doesNotThrow(() => new GRU({ h: 12, encoderActivation: 'tanh' }))
})

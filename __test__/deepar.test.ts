// DeepAR as a user calls it: it learns AirPassengers (with a future exogenous column), repeats
// with a seed, saves and loads exactly; its forecast columns are NeuralForecast's (the mean, then
// the quantiles of each step's StudentT draws, ordered); a point loss runs too; NeuralForecast's
// defaults and constructor errors, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DeepAR, DistributionLoss, MAE, MQLoss, NeuralForecast } from '../index.js'
import { lastYearWithMonth, learnsRepeatsRoundTrips } from './helpers'

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
// Narrow and few draws: every forecast step is a one-step LSTM run plus its draws.
const small = { h: 12, inputSize: 24, hTrain: 12, maxSteps: 150, windowsBatchSize: 64, learningRate: 3e-3, scalerType: 'standard' as const, lstmHiddenSize: 16, trajectorySamples: 50, futrExogList: ['month'] }

test('DeepAR learns AirPassengers, repeats with a seed and saves/loads exactly', () =>
  learnsRepeatsRoundTrips({ name: 'DeepAR', make: (seed) => new DeepAR({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive, predict: { futrDf } }))

test('DeepAR forecasts the mean and ordered quantiles, one step at a time; validates and cross-validates', async () => {
  const quick = { h: 6, inputSize: 12, maxSteps: 30, lstmHiddenSize: 8, trajectorySamples: 40, scalerType: 'standard' as const }
  const plain = train.map(({ unique_id, ds, y }) => ({ unique_id, ds, y }))
  const nf = new NeuralForecast({ models: [new DeepAR({ ...quick, valCheckSteps: 10 }), new DeepAR({ ...quick, loss: new MAE(), alias: 'point' })], freq: 'ME' })
  const seen: (number | null | undefined)[] = []
  await nf.fit(plain, { valSize: 12, onProgress: (e: any) => e.model === 'DeepAR' && seen.push(e.valLoss) })
  assert.ok(seen.some((v) => typeof v === 'number' && Number.isFinite(v)), 'a stepwise validation loss (MAE on the mean)')
  const fc = await nf.predict()
  const names = ['DeepAR', 'DeepAR-median', 'DeepAR-lo-90', 'DeepAR-lo-80', 'DeepAR-hi-80', 'DeepAR-hi-90']
  assert.deepEqual(Object.keys(fc), ['unique_id', 'ds', ...names, 'point'])
  const [mean, median, lo90, lo80, hi80, hi90] = names.map((c) => fc[c] as Float64Array)
  for (let i = 0; i < 6; i++) {
    assert.ok(lo90[i] <= lo80[i] && lo80[i] <= median[i] && median[i] <= hi80[i] && hi80[i] <= hi90[i], `step ${i}: quantiles in order`)
    assert.ok(Number.isFinite(mean[i]) && lo90[i] < hi90[i])
  }
  assert.ok((fc.point as Float64Array).every(Number.isFinite), 'a point loss trains and forecasts too')
  const cv = await nf.crossValidation(plain, { nWindows: 2, stepSize: 6 })
  assert.equal(cv.ds.length, 12)
  assert.ok((cv['DeepAR-hi-90'] as Float64Array).every(Number.isFinite))
})

test('DeepAR: NeuralForecast’s defaults and constructor errors, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  const c = new DeepAR({ h: 12 }).config
  assert.deepEqual(
    [c.inputSize, c.hTrain, c.lstmNLayers, c.lstmHiddenSize, c.decoderHiddenLayers, c.decoderHiddenSize, c.trajectorySamples, c.numLrDecays, c.inferenceWindowsBatchSize, c.scalerType, c.windowsBatchSize, c.maxSteps],
    [36, 1, 2, 128, 0, 0, 100, 3, -1, 'identity', 1024, 1000],
  )
  assert.ok(Math.abs((c.lstmDropout as number) - 0.1) < 1e-6)
  assert.deepEqual(c.loss, { type: 'DistributionLoss', distribution: 'StudentT', level: [80, 90] })
  assert.deepEqual(c.validLoss, { type: 'MAE' })
  assert.throws(() => new DeepAR({ h: 12, excludeInsampleY: true }), type(/'excludeInsampleY'/))
  assert.throws(() => new DeepAR({ h: 12, decoderHiddenLayers: 1 }), range(/'decoderHiddenSize'/))
  assert.throws(() => new DeepAR({ h: 12, trajectorySamples: 0 }), range(/'trajectorySamples'/))
  assert.throws(() => new DeepAR({ h: 12, lstmNLayers: 0 }), range(/'lstmNLayers'/))
  assert.throws(() => new DeepAR({ h: 12, hTrain: 0 }), range(/'hTrain'/))
  assert.throws(() => new DeepAR({ h: 12, decoderActivation: 'Nope' as any }), range(/'decoderActivation'/))
  // As NeuralForecast: MQLoss needs an MQLoss validLoss, and DeepAR's default is MAE.
  assert.throws(() => new DeepAR({ h: 12, loss: new MQLoss() }), type(/validLoss/))
  new DeepAR({ h: 12, loss: new MQLoss(), validLoss: new MQLoss() })
  new DeepAR({ h: 12, loss: new DistributionLoss({ distribution: 'Normal' }), decoderHiddenLayers: 1, decoderHiddenSize: 8, inferenceInputSize: 48 })
})

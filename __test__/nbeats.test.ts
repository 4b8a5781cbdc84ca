// NBEATS and NBEATSx as a user calls them: they learn AirPassengers, repeat with a seed, save and
// load exactly, and NeuralForecast's constructor errors throw at `new`, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, NBEATS, NBEATSx, MQLoss } from '../index.js'
import { airPassengersWithMonth, learnsRepeatsRoundTrips, mae } from './helpers'

// Month of year as a future-known column, and a per-series constant for staticDf.
const rows = airPassengersWithMonth()
const train = rows.slice(0, -12)
const futrDf = rows.slice(-12).map(({ unique_id, ds, month }) => ({ unique_id, ds, month }))
const staticDf = [{ unique_id: 'AirPassengers', level: 1 }]
const truth = rows.slice(-12).map((r) => r.y)
const seasonalNaive = mae(train.slice(-12).map((r) => r.y), truth)
const small = { h: 12, inputSize: 24, maxSteps: 100, scalerType: 'standard' as const, windowsBatchSize: 128, mlpUnits: [[64, 64], [64, 64]] }

const cases = [
  { name: 'NBEATS', make: (seed = 1) => new NBEATS({ ...small, randomSeed: seed }), predict: {} },
  {
    name: 'NBEATSx',
    make: (seed = 1) =>
      new NBEATSx({ ...small, randomSeed: seed, futrExogList: ['month'], statExogList: ['level'], stackTypes: ['identity', 'exogenous', 'seasonality'], dropoutProbTheta: 0.1 }),
    predict: { futrDf, staticDf },
  },
] as const

for (const { name, make, predict } of cases) {
  test(`${name} learns AirPassengers, repeats with a seed and saves/loads exactly`, () =>
    learnsRepeatsRoundTrips({ name, make, train, truth, bound: seasonalNaive, fit: { staticDf }, predict }))
}

test('NBEATS and NBEATSx defaults are NeuralForecast’s', () => {
  const c = new NBEATS({ h: 12, inputSize: 24 }).config
  assert.deepEqual(c.stackTypes, ['identity', 'trend', 'seasonality'])
  assert.equal(c.basis, 'polynomial')
  assert.equal(c.nBasis, 2)
  assert.equal(c.numLrDecays, 3)
  assert.equal(c.inferenceWindowsBatchSize, -1)
  assert.equal(new NBEATSx({ h: 12, inputSize: 24 }).config.nPolynomials, 2)
})

test('NeuralForecast’s constructor errors throw at construction, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  for (const M of [NBEATS, NBEATSx]) {
    assert.throws(() => new M({ h: 1, inputSize: 24 }), range(/'h'.*h=1.*'seasonality' or 'trend'/))
    assert.throws(() => new M({ h: 12, inputSize: 24, stackTypes: ['identity', 'wavelet' as any] }), range(/'stackTypes'.*'wavelet' not found/))
    assert.throws(() => new M({ h: 12, inputSize: 24, activation: 'GELU' as any }), range(/'activation'/))
    assert.throws(() => new M({ h: 12, inputSize: 24, nBlocks: [1] }), range(/'nBlocks'/))
  }
  assert.doesNotThrow(() => new NBEATS({ h: 1, inputSize: 24, stackTypes: ['identity'] }))
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, dropoutProbTheta: 0.1 }), range(/'dropoutProbTheta'/))
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, basis: 'spline', nBasis: 2 }), range(/'nBasis'.*spline/))
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, basis: 'fourier' as any }), range(/'basis'/))
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, futrExogList: ['month'] }), type(/'futrExogList'/))
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, nPolynomials: 2 } as any), type(/'nPolynomials'.*'nBasis'/))
  assert.throws(() => new NBEATSx({ h: 12, inputSize: 24, stackTypes: ['exogenous'], histExogList: ['x'] }), range(/'stackTypes'.*'futrExogList' or 'statExogList'/))
  assert.throws(
    () => new NBEATSx({ h: 12, inputSize: 24, stackTypes: ['exogenous'], futrExogList: ['x'], loss: new MQLoss({ level: [80] }) }),
    range(/'stackTypes'.*one-output 'loss'/),
  )
})

test('every trend basis trains and forecasts', async () => {
  for (const basis of ['polynomial', 'legendre', 'chebyshev', 'changepoint', 'piecewise_linear', 'linear_hat', 'spline'] as const) {
    const nf = new NeuralForecast({ models: [new NBEATS({ ...small, maxSteps: 3, basis, nBasis: 4, mlpUnits: [[8, 8]] })], freq: 'ME' })
    await nf.fit(train)
    const fc = (await nf.predict()).NBEATS as Float64Array
    assert.equal(fc.length, 12)
    assert.ok(fc.every(Number.isFinite), basis)
  }
})

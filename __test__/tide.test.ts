// TiDE and DeepNPTS as a user calls them: they learn AirPassengers, repeat with a seed, save and
// load exactly, and NeuralForecast's constructor errors throw at `new`, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TiDE, DeepNPTS, MQLoss, DistributionLoss } from '../index.js'
import { airPassengersWithMonth, learnsRepeatsRoundTrips, mae } from './helpers'

const rows = airPassengersWithMonth()
const train = rows.slice(0, -12)
const futrDf = rows.slice(-12).map(({ unique_id, ds, month }) => ({ unique_id, ds, month }))
const staticDf = [{ unique_id: 'AirPassengers', level: 1 }]
const truth = rows.slice(-12).map((r) => r.y)
const last = train.slice(-12).map((r) => r.y)
const seasonalNaive = mae(last, truth)
const mean = last.reduce((a, b) => a + b, 0) / 12
const meanForecast = mae(last.map(() => mean), truth)
const small = { h: 12, inputSize: 24, maxSteps: 100, windowsBatchSize: 128, hiddenSize: 32 }

const cases = [
  {
    name: 'TiDE',
    make: (seed = 1) => new TiDE({ ...small, randomSeed: seed, scalerType: 'standard', futrExogList: ['month'], statExogList: ['level'], decoderOutputDim: 8, temporalDecoderDim: 16, dropout: 0.1 }),
    // TiDE extrapolates the trend: it must beat last year's values.
    bound: seasonalNaive,
  },
  {
    name: 'DeepNPTS',
    make: (seed = 1) => new DeepNPTS({ ...small, randomSeed: seed, futrExogList: ['month'], statExogList: ['level'] }),
    // A weighted average of past values cannot exceed the window's values, so it cannot follow
    // the trend past last year's: it must beat the window mean.
    bound: meanForecast,
  },
] as const

for (const { name, make, bound } of cases) {
  test(`${name} learns AirPassengers, repeats with a seed and saves/loads exactly`, () =>
    learnsRepeatsRoundTrips({ name, make, train, truth, bound, fit: { staticDf }, predict: { futrDf, staticDf } }))
}

test('TiDE and DeepNPTS defaults are NeuralForecast’s', () => {
  const t = new TiDE({ h: 12, inputSize: 24 }).config
  assert.deepEqual(
    [t.hiddenSize, t.decoderOutputDim, t.temporalDecoderDim, t.dropout, t.layernorm, t.numEncoderLayers, t.numDecoderLayers, t.temporalWidth, t.scalerType, t.numLrDecays],
    [512, 32, 128, 0.3, true, 1, 1, 4, 'identity', -1],
  )
  const d = new DeepNPTS({ h: 12, inputSize: 24 }).config
  assert.deepEqual([d.hiddenSize, d.batchNorm, d.dropout, d.nLayers, d.scalerType, d.numLrDecays], [32, true, 0.1, 2, 'standard', 3])
  assert.deepEqual(d.validLoss, { type: 'MAE' })
})

test('NeuralForecast’s constructor errors throw at construction, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, loss: new MQLoss({ level: [80] }) }), type(/only supports point loss.*'loss'/))
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, loss: new DistributionLoss({ distribution: 'Normal' }) }), type(/only supports point loss.*'loss'/))
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, validLoss: new DistributionLoss({ distribution: 'Normal' }) }), type(/validLoss/))
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, excludeInsampleY: true } as any), type(/excludeInsampleY/))
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, nLayers: 0 }), range(/'nLayers'/))
  assert.throws(() => new DeepNPTS({ h: 12, inputSize: 24, dropout: 1.5 }), range(/'dropout'/))
  assert.throws(() => new TiDE({ h: 12, inputSize: 24, dropout: -0.1 }), range(/'dropout'/))
  assert.throws(() => new TiDE({ h: 12, inputSize: 24, numEncoderLayers: 0 }), range(/'numEncoderLayers'/))
  assert.throws(() => new TiDE({ h: 12, inputSize: 24, temporalWidth: 0 }), range(/'temporalWidth'/))
  assert.throws(() => new TiDE({ h: 12, inputSize: 24, layernorm: 1 as any }), type(/'layernorm'/))
})

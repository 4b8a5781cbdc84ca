// DLinear and NLinear as a user calls them: they learn AirPassengers, repeat with a seed, save and
// load exactly, and NeuralForecast's constructor errors throw at `new`, naming the option.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DLinear, NLinear } from '../index.js'
import { airPassengers, learnsRepeatsRoundTrips, mae } from './helpers'

const rows = airPassengers()
const train = rows.slice(0, -12)
const truth = rows.slice(-12).map((r) => r.y)
const seasonalNaive = mae(train.slice(-12).map((r) => r.y), truth)
const small = { h: 12, inputSize: 24, maxSteps: 300, learningRate: 1e-2, scalerType: 'standard' as const }

for (const [name, M] of [['DLinear', DLinear], ['NLinear', NLinear]] as const) {
  test(`${name} learns AirPassengers, repeats with a seed and saves/loads exactly`, () =>
    learnsRepeatsRoundTrips({ name, make: (seed) => new M({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive }))
}

test('NeuralForecast’s constructor errors throw at construction, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  assert.throws(() => new DLinear({ h: 12, inputSize: 24, movingAvgWindow: 24 }), range(/'movingAvgWindow'.*uneven/))
  assert.equal(new DLinear({ h: 12, inputSize: 24 }).config.movingAvgWindow, 25)
  for (const M of [DLinear, NLinear]) {
    assert.equal(new M({ h: 12, inputSize: 24 }).config.maxSteps, 5000)
    assert.throws(() => new M({ h: 12, inputSize: 24, excludeInsampleY: true as any }), range(/'excludeInsampleY'/))
    assert.throws(() => new M({ h: 12, inputSize: 24, futrExogList: ['x'] }), type(/'futrExogList'/))
  }
})

// Frames from Apache Arrow Tables and nodejs-polars DataFrames (optional peer dependencies: each
// test skips when its package is not installed), and outputs back with toArrow / toPolars.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, MLP, toArrow, toPolars } from '../index.js'
import { airPassengers, quick } from './helpers'

function optional(name: string): any {
  try {
    return require(name)
  } catch {
    return undefined
  }
}
const arrow = optional('apache-arrow')
const pl = optional('nodejs-polars')
const { fromExternal } = require('../lib/external.js')

const rows = airPassengers()
const dates = rows.map((r) => new Date(`${r.ds}T00:00:00Z`))

/** The same fit and forecast from rows with Date ds, for comparison. */
async function fromRows() {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  await nf.fit(rows.map((r, i) => ({ ...r, ds: dates[i] })))
  return nf.predict()
}

test('an Arrow Table is read column by column and forecasts as its rows do', { skip: arrow ? false : 'apache-arrow is not installed' }, async () => {
  const table = new arrow.Table({
    unique_id: arrow.vectorFromArray(rows.map((r) => r.unique_id)),
    ds: arrow.vectorFromArray(dates, new arrow.DateMillisecond()),
    y: arrow.makeVector(Float64Array.from(rows, (r) => r.y)),
    count: arrow.makeVector(BigInt64Array.from(rows, (_, i) => BigInt(i))),
  })
  const cols = fromExternal(table)
  assert.ok(cols.y instanceof Float64Array && cols.count instanceof Float64Array && cols.ds[0] instanceof Date)
  assert.equal(cols.count[143], 143)
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  await nf.fit(table)
  const fc = await nf.predict()
  assert.deepEqual(fc, await fromRows())
  const back = toArrow(fc) as any
  assert.equal(back.numRows, 12)
  assert.deepEqual(Array.from(back.getChild('MLP').toArray()), Array.from(fc.MLP as Float64Array))
  assert.equal(back.getChild('ds').get(0), (fc.ds[0] as Date).getTime())
  // Nulls in a numeric column are missing values (NaN), which the engine names.
  const withNull = arrow.tableFromArrays({ unique_id: ['a', 'a'], ds: Float64Array.from([1, 2]), y: [1, null] })
  assert.ok(Number.isNaN(fromExternal(withNull).y[1]))
})

test('a polars DataFrame is read column by column and forecasts as its rows do', { skip: pl ? false : 'nodejs-polars is not installed (or has no binary for this platform)' }, async () => {
  const df = pl.DataFrame({ unique_id: rows.map((r) => r.unique_id), ds: dates, y: Float64Array.from(rows, (r) => r.y) })
  const cols = fromExternal(df)
  assert.ok(cols.y instanceof Float64Array && cols.ds[0] instanceof Date)
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  await nf.fit(df)
  const fc = await nf.predict()
  assert.deepEqual(fc, await fromRows())
  const back = toPolars(fc) as any
  assert.deepEqual(back.columns, ['unique_id', 'ds', 'MLP'])
  assert.deepEqual(Array.from(back.getColumn('MLP').toTypedArray()), Array.from(fc.MLP as Float64Array))
})

// Future exogenous variables, end to end: a calendar column known in advance (the month of the
// year) helps NHITS forecast AirPassengers' 1960; `makeFutureDataframe` builds the frame of
// future dates that `predict` needs, and we add the column to it.
//
//   node examples/exogenous.mjs
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, NHITS, toRows } from '../index.mjs'

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const month = (ds) => new Date(ds).getUTCMonth() / 11 - 0.5 // any numeric encoding works
const rows = csv
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [unique_id, ds, y] = line.split(',')
    return { unique_id, ds, y: Number(y), month: month(ds) }
  })
const train = rows.slice(0, -12)
const test = rows.slice(-12)

const nf = new NeuralForecast({
  models: [new NHITS({ h: 12, inputSize: 24, futrExogList: ['month'], maxSteps: Number(process.env.EXAMPLE_STEPS ?? 200), scalerType: 'standard', randomSeed: 1 })],
  freq: 'ME',
})
await nf.fit(train)

// unique_id and ds of the 12 months after each series; the model also needs their 'month'.
const futr = nf.makeFutureDataframe()
futr.month = Float64Array.from(futr.ds, month)
const missing = nf.getMissingFuture(futr) // rows the model needs that futr lacks: none here
const fc = await nf.predict({ futrDf: futr })

const mae = test.reduce((s, r, i) => s + Math.abs(r.y - fc.NHITS[i]), 0) / test.length
console.table(toRows(fc).map((r, i) => ({ ds: String(r.ds).slice(0, 7), forecast: Math.round(r.NHITS), actual: test[i].y })))
console.log(`missing future rows: ${missing.unique_id.length}; MAE ${mae.toFixed(2)}`)

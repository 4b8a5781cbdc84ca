// Demo: NHITS on the bundled AirPassengers data (monthly airline passengers, 1949-1960).
// Trains on 1949-1959, forecasts the 12 months of 1960, and compares with what happened.
//
//   npm run demo
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, NHITS, MQLoss } from '../index.mjs'

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})
const train = rows.slice(0, -12)
const test = rows.slice(-12)

const nf = new NeuralForecast({
  models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 200, scalerType: 'standard', windowsBatchSize: 128, loss: new MQLoss({ level: [80] }), randomSeed: 1 })],
  freq: 'ME',
})

const started = performance.now()
// Progress arrives at most ~20 times a second; on a terminal it redraws one line.
const onProgress = (e) => {
  const line = `training ${e.model}: step ${e.step}/${e.maxSteps}, loss ${e.trainLoss.toFixed(4)}`
  if (process.stdout.isTTY) process.stdout.write(`\r${line}   `)
  else if (e.step % 50 === 0) console.log(line)
}
await nf.fit(train, { onProgress })
const seconds = (performance.now() - started) / 1000
const fc = await nf.predict()

console.log(`\n\nNHITS forecast of 1960 (trained on 1949-1959 in ${seconds.toFixed(1)} s):\n`)
console.log('month        actual  forecast  80% interval')
const median = fc['NHITS-median']
const lo = fc['NHITS-lo-80']
const hi = fc['NHITS-hi-80']
let abs = 0
let naive = 0
test.forEach((row, i) => {
  abs += Math.abs(row.y - median[i])
  naive += Math.abs(row.y - train[train.length - 12 + i].y)
  console.log(`${fc.ds[i]}  ${String(row.y).padStart(6)}  ${median[i].toFixed(1).padStart(8)}  [${lo[i].toFixed(0)}, ${hi[i].toFixed(0)}]`)
})
console.log(`\nMAE NHITS:          ${(abs / 12).toFixed(2)}`)
console.log(`MAE seasonal naive: ${(naive / 12).toFixed(2)}  (1960 forecast = the 1959 values)`)

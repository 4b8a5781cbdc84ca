// Auto*: a TPE search over NHITS configs on AirPassengers, two trials at a time on two cores.
// Trains on 1949-1959 (its last year as the validation part), refits the best config, forecasts 1960.
//
//   node examples/auto.mjs
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, AutoNHITS, choice, loguniform } from '../index.mjs'

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})
const train = rows.slice(0, -12)
const test = rows.slice(-12)

const auto = new AutoNHITS({
  h: 12,
  numSamples: 8,
  searchAlg: 'tpe',
  cpus: 1,
  config: {
    inputSize: choice([24, 36]),
    maxSteps: 100,
    learningRate: loguniform(1e-4, 1e-2),
    scalerType: 'robust',
    windowsBatchSize: 128,
    mlpUnits: [[64, 64], [64, 64], [64, 64]],
  },
})
const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
const started = performance.now()
await nf.fit(train, { valSize: 12 })
console.log(`search of ${auto.results.length} trials and refit: ${((performance.now() - started) / 1000).toFixed(1)} s`)
for (const r of auto.results) console.log(`trial ${r.trial}: validation MAE ${r.validLoss.toFixed(2)}`, JSON.stringify(r.config))
const fc = await nf.predict()
const mae = test.reduce((s, r, i) => s + Math.abs(r.y - fc.AutoNHITS[i]), 0) / test.length
console.log(`best config's MAE on 1960: ${mae.toFixed(2)}`)

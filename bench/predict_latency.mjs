// Latency of one fresh forecast for one series from JS, as a trading backend asks per tick:
// `predict({ df })` with the latest inputSize points of a single series, after fit.
//
//   node bench/predict_latency.mjs [--model NHITS|MLP|LSTM|PatchTST] [--calls 2000]
//
// It also times the same call on a model that was never fitted (it rejects at once, inside the
// engine): what the hop to a worker thread and back costs here, with no forecasting in it.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, NHITS, MLP, LSTM, PatchTST } from '../index.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const Model = { NHITS, MLP, LSTM, PatchTST }[arg('model', 'NHITS')]
const calls = Number(arg('calls', 2000))

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((l) => {
  const [unique_id, ds, y] = l.split(',')
  return { unique_id, ds, y: Number(y) }
})
const nf = new NeuralForecast({ models: [new Model({ h: 12, inputSize: 24, maxSteps: 20, scalerType: 'standard' })], freq: 'ME' })
await nf.fit(rows)

// The tick: the latest 24 points as columns (the cheapest form to hand over).
const tick = { unique_id: Array(24).fill('AirPassengers'), ds: rows.slice(-24).map((r) => r.ds), y: Float64Array.from(rows.slice(-24), (r) => r.y) }
async function timeCalls(call) {
  for (let i = 0; i < 50; i++) await call()
  const times = []
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    await call()
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  times.sort((a, b) => a - b)
  const q = (p) => times[Math.floor(p * (times.length - 1))].toFixed(0)
  return `median ${q(0.5)} µs, p90 ${q(0.9)} µs, p99 ${q(0.99)} µs`
}
console.log(`${arg('model', 'NHITS')} single-series predict over ${calls} calls: ${await timeCalls(() => nf.predict({ df: tick }))}`)
const unfitted = new NeuralForecast({ models: [new Model({ h: 12, inputSize: 24 })], freq: 'ME' })
console.log(`  the hop alone (predict on an unfitted model, rejected in the engine): ${await timeCalls(() => unfitted.predict({ df: tick }).catch(() => {}))}`)

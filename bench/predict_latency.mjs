// Latency of one fresh forecast for one series from JS, as a trading backend asks per tick:
// `predict({ df })` with the latest inputSize points of a single series, after fit.
//
//   node bench/predict_latency.mjs [--models MLP,NHITS,LSTM,PatchTST | --models all] [--calls 2000]
//
// `all`: every model but TimeLLM (which needs a language model's files), the multivariate ones
// with nSeries 1.
//
// Per model: median, p90 and p99 of `await nf.predict({ df: tick })`, where a request this small
// runs on the calling thread once one like it was measured (the first goes to a pool); beside it,
// the engine's own time for the same calls (the forecast itself, timed inside Rust and read after
// each call), and the median per-call difference: what the binding and the JS wrapper add. Then
// the same call on a model that was never fitted, which the engine rejects after the hop to a pool
// worker and back: what that hop costs here, with no forecasting in it. The load average is
// printed before and after: on a shared machine, compare figures of the same run.
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import * as nd from '../index.mjs'
import { timeCalls, quantile } from './timing.mjs'
import { MULTIVARIATE } from './datasets.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const ALL = Object.keys(nd).filter((k) => nd[k].prototype instanceof nd.Model && k !== 'TimeLLM' && !(nd[k].prototype instanceof nd.Auto))
const listed = arg('models', arg('model', 'MLP,NHITS,LSTM,PatchTST'))
const names = listed === 'all' ? ALL : listed.split(',')
const calls = Number(arg('calls', 2000))

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((l) => {
  const [unique_id, ds, y] = l.split(',')
  return { unique_id, ds, y: Number(y) }
})
// The tick: the latest 24 points as columns (the cheapest form to hand over).
const tick = { unique_id: Array(24).fill('AirPassengers'), ds: rows.slice(-24).map((r) => r.ds), y: Float64Array.from(rows.slice(-24), (r) => r.y) }

const fmt = (sorted) => [0.5, 0.9, 0.99].map((p) => quantile(sorted, p).toFixed(0)).join(' / ')
const load = () => loadavg().map((l) => l.toFixed(2)).join(', ')

console.log(`single-series predict from JS over ${calls} calls, µs (median / p90 / p99); load average ${load()}`)
console.log('| model | predict from JS | in the engine | JS − engine, median | the hop alone |')
console.log('|---|---|---|---|---|')
for (const name of names) {
  const Model = nd[name]
  if (typeof Model !== 'function') throw new TypeError(`unknown model ${name}`)
  const nf = new nd.NeuralForecast({ models: [new Model({ h: 12, inputSize: 24, maxSteps: 20, scalerType: 'standard', ...(MULTIVARIATE.has(name) && { nSeries: 1 }) })], freq: 'ME' })
  await nf.fit(rows)
  const engine = []
  const js = await timeCalls(() => nf.predict({ df: tick }), calls, () => engine.push(nf._native.lastPredictMicros()))
  // timeCalls sorts its timings: the per-call differences come from the unsorted pairs.
  const gaps = js.unsorted.map((t, i) => t - engine[i + js.warmup]).sort((a, b) => a - b)
  const unfitted = new nd.NeuralForecast({ models: [new Model({ h: 12, inputSize: 24, ...(MULTIVARIATE.has(name) && { nSeries: 1 }) })], freq: 'ME' })
  const hop = await timeCalls(() => unfitted.predict({ df: tick }).catch(() => {}), calls)
  console.log(`| ${name} | ${fmt(js)} | ${fmt(engine.slice(js.warmup).sort((a, b) => a - b))} | ${quantile(gaps, 0.5).toFixed(0)} | ${fmt(hop)} |`)
}
console.log(`load average after: ${load()}`)

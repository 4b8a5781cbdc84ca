// StemGNN at input 336 on the 7 household power series (issue 12): a few training steps at
// NeuralForecast's defaults otherwise (32 windows per step, multiLayer 5), then a forecast; prints
// one JSON line with seconds per step, peak RSS and whether the forecast is finite.
// NeuralForecast ran out of memory here on 24 GB (../shared/reference/nf-models.md). At the
// defaults the model has 8.25e8 parameters, 12.3 GB with gradients and Adam's moments, above the
// engine's default limit (half the machine's memory): NEURO_DIVERGENT_MEMORY_LIMIT=20GB lets it run.
//   node bench/stemgnn_long.mjs <household_power_hourly.csv> <steps> [h (96)] [multiLayer (5)]
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { readCsv } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const [path, steps, h = '96', multiLayer = '5'] = process.argv.slice(2)
const rows = readCsv(path).map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
const nSeries = new Set(rows.map((r) => r.unique_id)).size
const model = new nd.StemGNN({ h: Number(h), inputSize: 336, nSeries, multiLayer: Number(multiLayer), maxSteps: Number(steps), randomSeed: 1 })
const nf = new nd.NeuralForecast({ models: [model], freq: 'h' })
const t0 = performance.now()
await nf.fit(rows)
const fitS = (performance.now() - t0) / 1000
const forecast = await nf.predict()
const finite = forecast.StemGNN.every(Number.isFinite)
console.log(JSON.stringify({ impl: 'ours', model: 'StemGNN', input: 336, h: Number(h), multi_layer: Number(multiLayer), n_series: nSeries, steps: Number(steps), fit_s: fitS, s_per_step: fitS / Number(steps), forecasts_finite: finite, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }))

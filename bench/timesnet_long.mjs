// Our side of bench/timesnet_long.sh: TimesNet at input 336, h 96 on one household power series,
// a few training steps; prints one JSON line (fit seconds per step, peak RSS).
//   node bench/timesnet_long.mjs <csv> <steps> <windows per step>
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { readCsv } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const [path, steps, windows] = process.argv.slice(2)
const rows = readCsv(path).filter((r) => r.unique_id === 'Global_active_power').map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
const model = new nd.TimesNet({ h: 96, inputSize: 336, maxSteps: Number(steps), windowsBatchSize: Number(windows), randomSeed: 1 })
const nf = new nd.NeuralForecast({ models: [model], freq: 'h' })
const t0 = performance.now()
await nf.fit(rows)
const fitS = (performance.now() - t0) / 1000
console.log(JSON.stringify({ impl: 'ours', steps: Number(steps), windows: Number(windows), fit_s: fitS, s_per_step: fitS / Number(steps), peak_rss_mb: process.resourceUsage().maxRSS / 1024 }))

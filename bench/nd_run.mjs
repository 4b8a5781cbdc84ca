// One harness run of ours: fit + predict + single-series latency; prints one JSON line.
//   node bench/nd_run.mjs <dataset> <model> <seed>
//   ND_OPTIONS='{"padAfterScaling":true}' node bench/nd_run.mjs ...   (extra model options)
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, scores } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const [dataset, model, seed] = process.argv.slice(2)
const { train, test, config, freq } = loadDataset(shared, dataset)

const extra = JSON.parse(process.env.ND_OPTIONS ?? '{}')
const nf = new nd.NeuralForecast({ models: [new nd[model]({ ...config, ...extra, randomSeed: Number(seed) })], freq })
const t0 = performance.now()
await nf.fit(train)
const fitS = (performance.now() - t0) / 1000
const t1 = performance.now()
const fc = await nf.predict()
const predictS = (performance.now() - t1) / 1000
// One fresh forecast for one series, as a backend asks per tick.
const id = train[0].unique_id
const one = train.filter((r) => r.unique_id === id).slice(-config.inputSize)
for (let i = 0; i < 20; i++) await nf.predict({ df: one })
const lat = []
for (let i = 0; i < 200; i++) {
  const s = performance.now()
  await nf.predict({ df: one })
  lat.push(performance.now() - s)
}
lat.sort((a, b) => a - b)
console.log(JSON.stringify({ impl: 'ours', dataset, model, seed: Number(seed), ...scores(fc, model, test), fit_s: fitS, s_per_step: fitS / config.maxSteps, predict_s: predictS, single_predict_ms: lat[100], peak_rss_mb: process.resourceUsage().maxRSS / 1024 }))

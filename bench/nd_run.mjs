// One harness run of ours: fit + predict + single-series latency; prints one JSON line.
//   node bench/nd_run.mjs <dataset> <model> <seed>
//   ND_OPTIONS='{"padAfterScaling":true}' node bench/nd_run.mjs ...   (extra model options)
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, scores, cvScores, MULTIVARIATE } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const [dataset, model, seed] = process.argv.slice(2)
const { train, test, config, freq, cv } = loadDataset(shared, dataset)
const nSeries = new Set(train.map((r) => r.unique_id)).size
const own = MULTIVARIATE.has(model) ? { nSeries } : {}

const extra = JSON.parse(process.env.ND_OPTIONS ?? '{}')
const nf = new nd.NeuralForecast({ models: [new nd[model]({ ...config, ...extra, ...own, randomSeed: Number(seed) })], freq })
if (cv) {
  // Scored by cross-validation (one training on everything before the first cutoff).
  const t0 = performance.now()
  const out = await nf.crossValidation(train, { ...cv, refit: false })
  const fitS = (performance.now() - t0) / 1000
  const steps = nf.models[0].config.maxSteps
  console.log(JSON.stringify({ impl: 'ours', dataset, model, seed: Number(seed), ...cvScores(out, model), fit_s: fitS, s_per_step: fitS / steps, peak_rss_mb: process.resourceUsage().maxRSS / 1024 }))
  process.exit(0)
}
const t0 = performance.now()
await nf.fit(train)
const fitS = (performance.now() - t0) / 1000
const t1 = performance.now()
const fc = await nf.predict()
const predictS = (performance.now() - t1) / 1000
// One fresh forecast for one series, as a backend asks per tick.
const id = train[0].unique_id
// A multivariate model forecasts all its series at once: its "one request" holds them all.
const ids = MULTIVARIATE.has(model) ? [...new Set(train.map((r) => r.unique_id))] : [id]
const one = ids.flatMap((u) => train.filter((r) => r.unique_id === u).slice(-config.inputSize))
for (let i = 0; i < 20; i++) await nf.predict({ df: one })
const lat = []
for (let i = 0; i < 200; i++) {
  const s = performance.now()
  await nf.predict({ df: one })
  lat.push(performance.now() - s)
}
lat.sort((a, b) => a - b)
console.log(JSON.stringify({ impl: 'ours', dataset, model, seed: Number(seed), ...scores(fc, model, test), fit_s: fitS, s_per_step: fitS / nf.models[0].config.maxSteps, predict_s: predictS, single_predict_ms: lat[100], peak_rss_mb: process.resourceUsage().maxRSS / 1024 }))

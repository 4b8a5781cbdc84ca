// How often conformal prediction intervals (fit's `predictionIntervals`, NeuralForecast's
// PredictionIntervals) hold the truth on held-out data, for both methods: fits a point model (MAE)
// at the harness's reference configuration with intervals calibrated on `nWindows` windows, and
// counts the test points inside each level's interval, with its mean width relative to |y|.
//   ND_SHARED=/work/shared node bench/conformal_coverage.mjs [m3_monthly|airpassengers] [MLP|NHITS] [nWindows] [stepSize] [seed]
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, coverage } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const [dataset = 'm3_monthly', model = 'MLP', nWindows = '5', stepSize = '1', seed = '1'] = process.argv.slice(2)
const { train, test, config, freq } = loadDataset(shared, dataset)
const levels = [80, 90, 95]
for (const method of ['conformal_distribution', 'conformal_error']) {
  const nf = new nd.NeuralForecast({ models: [new nd[model]({ ...config, randomSeed: Number(seed) })], freq })
  const t0 = performance.now()
  await nf.fit(train, { predictionIntervals: { nWindows: Number(nWindows), stepSize: Number(stepSize), method } })
  const fc = await nf.predict({ level: levels })
  const fit_predict_s = +((performance.now() - t0) / 1000).toFixed(1)
  const out = { dataset, model, method, nWindows: Number(nWindows), stepSize: Number(stepSize), seed: Number(seed), fit_predict_s, ...coverage(fc, model, test, levels) }
  console.log(JSON.stringify(out))
}

// How often DeepAR's intervals hold the truth on held-out data (issue 10: "DeepAR's intervals cover
// roughly their level"). Fits DeepAR (NeuralForecast's defaults: StudentT, levels 80 and 90, 100
// draws per step) at the harness's reference configuration and counts the test points inside each
// interval, with the interval's mean relative width.
//   ND_SHARED=/work/shared node bench/deepar_coverage.mjs [m3_monthly|airpassengers] [seed]
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, coverage } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const [dataset = 'm3_monthly', seed = '1'] = process.argv.slice(2)
const { train, test, config, freq } = loadDataset(shared, dataset)
const nf = new nd.NeuralForecast({ models: [new nd.DeepAR({ ...config, randomSeed: Number(seed) })], freq })
const t0 = performance.now()
await nf.fit(train)
const fc = await nf.predict()
const out = { dataset, seed: Number(seed), fit_predict_s: (performance.now() - t0) / 1000, ...coverage(fc, 'DeepAR', test, [80, 90]) }
console.log(JSON.stringify(out))

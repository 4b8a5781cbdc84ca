// What a short warm refit on new data costs against a fresh full fit, and what it does to
// accuracy. A model is fitted (full maxSteps) on each series minus its last `newPoints` training
// points (the deployed model); then those points arrive. Compared on the held-out test tail:
//   stale  - the deployed model forecasting from the new data, not refit;
//   warm   - the deployed model fit further on the new data for `warmSteps` steps (the default
//            `fit`, continuing from the fitted weights, with fit's `maxSteps` option);
//   fresh  - a new model fit on the new data for the full maxSteps (or `useInitModels: true`);
//   short  - a new model fit for `warmSteps` steps only (what the warm start saves over).
//   ND_SHARED=/work/shared node bench/warm_start.mjs [m3_monthly|airpassengers] [NHITS|MLP] [warmSteps] [newPoints] [seed]
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, scores } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const [dataset = 'm3_monthly', model = 'NHITS', warmSteps = '50', newPoints = '6', seed = '1'] = process.argv.slice(2)
const { train, test, config, freq } = loadDataset(shared, dataset)
process.on('warning', () => {}) // short-series warnings of the older frame are expected here
// The older frame: every series without its last `newPoints` training points.
const counts = new Map()
for (const r of train) counts.set(r.unique_id, (counts.get(r.unique_id) ?? 0) + 1)
const seen = new Map()
const old = train.filter((r) => {
  const k = (seen.get(r.unique_id) ?? 0) + 1
  seen.set(r.unique_id, k)
  return k <= counts.get(r.unique_id) - Number(newPoints)
})
const make = () => new nd.NeuralForecast({ models: [new nd[model]({ ...config, randomSeed: Number(seed) })], freq })
async function timed(f) {
  const t0 = performance.now()
  await f()
  return +((performance.now() - t0) / 1000).toFixed(2)
}
const mae = async (nf, opts) => +scores(await nf.predict(opts), model, test).mae.toFixed(2)
const out = { dataset, model, maxSteps: config.maxSteps, warmSteps: Number(warmSteps), newPoints: Number(newPoints), seed: Number(seed), series: counts.size }
const deployed = make()
out.deployed_fit_s = await timed(() => deployed.fit(old))
out.stale_mae = await mae(deployed, { df: train })
out.warm_fit_s = await timed(() => deployed.fit(train, { maxSteps: Number(warmSteps) }))
out.warm_mae = await mae(deployed)
const fresh = make()
out.fresh_fit_s = await timed(() => fresh.fit(train))
out.fresh_mae = await mae(fresh)
const short = make()
out.short_fit_s = await timed(() => short.fit(train, { maxSteps: Number(warmSteps) }))
out.short_mae = await mae(short)
console.log(JSON.stringify(out))

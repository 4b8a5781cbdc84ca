// 16-bit weights for inference: file size, accuracy change on M3 monthly, and one-series forecast
// time, f32 against bf16 and f16 (`save(path, { weights })` then `load`).
//
//   ND_SHARED=/work/shared node scripts/half_weights.mjs [--models MLP,NHITS] [--seed 1] [--calls 2000]
//
// Per model: fit on M3 monthly's training part (the reference configuration of bench/datasets.mjs),
// forecast its 1428 series with the f32 model and with the model loaded from a bf16 and an f16
// file, and score each against the test part (MAE pooled over all points). Then the median of
// `predict({ df })` for one series (its latest inputSize points) from each of the three models.
import { mkdtempSync, statSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as nd from '../index.mjs'
import { loadDataset, scores } from '../bench/datasets.mjs'
import { timeCalls, quantile } from '../bench/timing.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const shared = process.env.ND_SHARED ?? '/work/shared'
const names = arg('models', 'MLP,NHITS').split(',')
const seed = Number(arg('seed', 1))
const calls = Number(arg('calls', 2000))
const { train, test, config, freq } = loadDataset(shared, 'm3_monthly')
const dir = mkdtempSync(join(tmpdir(), 'nd-half-'))

const median = async (call) => quantile(await timeCalls(call, calls), 0.5)

// One series' latest inputSize points, as a trading tick would hand them over.
const id = train[0].unique_id
const history = train.filter((r) => r.unique_id === id).slice(-config.inputSize)
const tick = { unique_id: history.map((r) => r.unique_id), ds: Float64Array.from(history, (r) => r.ds), y: Float64Array.from(history, (r) => r.y) }

console.log(`M3 monthly, ${new Set(train.map((r) => r.unique_id)).size} series, h ${config.h}, seed ${seed}`)
console.log('| model | weights | file KB | MAE | MAE change | one-series predict µs (median) |')
console.log('|---|---|---|---|---|---|')
for (const name of names) {
  const nf = new nd.NeuralForecast({ models: [new nd[name]({ ...config, randomSeed: seed })], freq })
  await nf.fit(train)
  let base
  for (const weights of ['f32', 'bf16', 'f16']) {
    const path = join(dir, `${name}-${weights}.nd`)
    await nf.save(path, { weights })
    const loaded = await nd.NeuralForecast.load(path)
    const { mae } = scores(await loaded.predict(), name, test)
    base ??= mae
    const us = await median(() => loaded.predict({ df: tick }))
    const change = ((mae / base - 1) * 100).toFixed(3)
    console.log(`| ${name} | ${weights} | ${(statSync(path).size / 1024).toFixed(0)} | ${mae.toFixed(2)} | ${weights === 'f32' ? '' : `${change}%`} | ${us.toFixed(0)} |`)
  }
}
rmSync(dir, { recursive: true, force: true })

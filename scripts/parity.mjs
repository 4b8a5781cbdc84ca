// Accuracy parity with NeuralForecast: fits our models at the exact configurations of
// ../shared/reference (NeuralForecast 3.3.0's own runs) and compares MAE.
//
//   node scripts/parity.mjs [--models MLP,NHITS] [--datasets airpassengers,m3_monthly] [--seeds 1,2,3]
//
// Reads ../shared (or $ND_SHARED). Not part of `npm test`: it needs the shared data and minutes of CPU.
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset, scores } from '../bench/datasets.mjs'

const require = createRequire(import.meta.url)
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = require(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1].split(',') : fallback
}
const models = arg('models', ['MLP', 'NHITS'])
const datasets = arg('datasets', ['airpassengers', 'm3_monthly'])
const seeds = arg('seeds', ['1', '2', '3']).map(Number)

function readJsonl(path) {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
}

/** Train/test split, config and NeuralForecast's reference rows for one dataset. */
function load(dataset) {
  const data = loadDataset(shared, dataset)
  const file = dataset === 'airpassengers' ? 'nf_airpassengers.jsonl' : 'nf_m3_monthly.jsonl'
  return { ...data, ref: readJsonl(join(shared, 'reference/results', file)) }
}

const mae = (forecast, column, test) => scores(forecast, column, test).mae

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const lines = ['| dataset | model | NF MAE (seed 1) | our MAE (median) | ratio | our MAEs by seed | our fit s (median) | NF fit s |', '|---|---|---|---|---|---|---|---|']
for (const dataset of datasets) {
  const { train, test, ref, config, freq } = load(dataset)
  for (const model of models) {
    const refRow = ref.find((r) => r.model === model)
    const maes = []
    const fits = []
    for (const seed of seeds) {
      const nf = new nd.NeuralForecast({ models: [new nd[model]({ ...config, randomSeed: seed })], freq })
      const t0 = performance.now()
      await nf.fit(train)
      fits.push((performance.now() - t0) / 1000)
      maes.push(mae(await nf.predict(), model, test))
      console.error(`${dataset} ${model} seed ${seed}: MAE ${maes.at(-1).toFixed(3)} fit ${fits.at(-1).toFixed(2)} s`)
    }
    const ours = median(maes)
    const theirs = refRow?.mae
    lines.push(`| ${dataset} | ${model} | ${theirs?.toFixed(3) ?? '-'} | ${ours.toFixed(3)} | ${theirs ? (ours / theirs).toFixed(3) : '-'} | ${maes.map((m) => m.toFixed(2)).join(', ')} | ${median(fits).toFixed(2)} | ${refRow?.fit_s?.toFixed(2) ?? '-'} |`)
  }
}
const table = lines.join('\n')
console.log(table)
mkdirSync(join(root, 'bench/out'), { recursive: true })
writeFileSync(join(root, 'bench/out/parity.md'), table + '\n')
if (!existsSync(shared)) console.error(`note: ${shared} not found`)

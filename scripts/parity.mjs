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

function readCsv(path) {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n')
  const cols = head.split(',')
  return lines.map((l) => {
    const v = l.split(',')
    return Object.fromEntries(cols.map((c, i) => [c, v[i]]))
  })
}

function readJsonl(path) {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
}

/** Train/test split and the reference rows for one dataset. */
function load(dataset) {
  if (dataset === 'airpassengers') {
    const rows = readCsv(join(shared, 'reference/data/airpassengers.csv'))
    const h = 12
    const train = rows.slice(0, -h).map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
    const test = rows.slice(-h).map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
    const ref = readJsonl(join(shared, 'reference/results/nf_airpassengers.jsonl'))
    const config = { h, inputSize: 24, maxSteps: 200, scalerType: 'standard', windowsBatchSize: 128, batchSize: 32, learningRate: 1e-3 }
    return { train, test, ref, config, freq: 'ME' }
  }
  if (dataset === 'm3_monthly') {
    const monthly = new Set(readCsv(join(shared, 'data/m3_meta.csv')).filter((r) => r.period === 'MONTHLY').map((r) => r.unique_id))
    const rows = readCsv(join(shared, 'data/m3.csv')).filter((r) => monthly.has(r.unique_id))
    const pick = (split) => rows.filter((r) => r.split === split).map((r) => ({ unique_id: r.unique_id, ds: Number(r.ds), y: Number(r.y) }))
    const ref = readJsonl(join(shared, 'reference/results/nf_m3_monthly.jsonl'))
    const config = { h: 18, inputSize: 36, maxSteps: 300, scalerType: 'robust', batchSize: 32, learningRate: 1e-3 }
    return { train: pick('train'), test: pick('test'), ref, config, freq: 1 }
  }
  throw new Error(`unknown dataset ${dataset}`)
}

function mae(forecast, column, test) {
  const key = (id, ds) => `${id}|${ds instanceof Date ? ds.toISOString().slice(0, 10) : ds}`
  const truth = new Map(test.map((r) => [key(r.unique_id, r.ds), r.y]))
  let sum = 0
  let n = 0
  for (let i = 0; i < forecast.unique_id.length; i++) {
    const y = truth.get(key(forecast.unique_id[i], forecast.ds[i]))
    if (y === undefined) throw new Error(`forecast row ${forecast.unique_id[i]} ${forecast.ds[i]} has no test value`)
    sum += Math.abs(y - forecast[column][i])
    n++
  }
  if (n !== test.length) throw new Error(`forecast has ${n} rows, test has ${test.length}`)
  return sum / n
}

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

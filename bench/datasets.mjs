// The datasets and reference configurations shared by the parity script and the harness.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export function readCsv(path) {
  const [head, ...lines] = readFileSync(path, 'utf8').trim().split('\n')
  const cols = head.split(',')
  return lines.map((l) => {
    const v = l.split(',')
    return Object.fromEntries(cols.map((c, i) => [c, v[i]]))
  })
}

/** Train/test rows and the reference configuration (camelCase) of `dataset`. */
export function loadDataset(shared, dataset) {
  if (dataset === 'airpassengers') {
    const rows = readCsv(join(shared, 'reference/data/airpassengers.csv')).map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
    const config = { h: 12, inputSize: 24, maxSteps: 200, scalerType: 'standard', windowsBatchSize: 128, batchSize: 32, learningRate: 1e-3 }
    return { train: rows.slice(0, -12), test: rows.slice(-12), config, freq: 'ME', season: 12 }
  }
  if (dataset === 'm3_monthly') {
    const monthly = new Set(readCsv(join(shared, 'data/m3_meta.csv')).filter((r) => r.period === 'MONTHLY').map((r) => r.unique_id))
    const rows = readCsv(join(shared, 'data/m3.csv')).filter((r) => monthly.has(r.unique_id))
    const pick = (split) => rows.filter((r) => r.split === split).map((r) => ({ unique_id: r.unique_id, ds: Number(r.ds), y: Number(r.y) }))
    const config = { h: 18, inputSize: 36, maxSteps: 300, scalerType: 'robust', batchSize: 32, learningRate: 1e-3 }
    return { train: pick('train'), test: pick('test'), config, freq: 1, season: 12 }
  }
  if (dataset === 'household_power') {
    // 7 aligned hourly series (ETTh-like); scored by cross-validation over the last 10 days.
    const rows = readCsv(join(shared, 'data/household_power_hourly.csv')).map((r) => ({ unique_id: r.unique_id, ds: r.ds, y: Number(r.y) }))
    const config = { h: 24, inputSize: 96 }
    return { train: rows, test: null, config, freq: 'h', season: 24, cv: { nWindows: 10, stepSize: 24 } }
  }
  throw new Error(`unknown dataset ${dataset}`)
}

/** NeuralForecast's multivariate models: they need nSeries. */
export const MULTIVARIATE = new Set(['MLPMultivariate', 'TSMixer', 'TSMixerx', 'iTransformer', 'StemGNN'])

/** MAE and sMAPE (%) of a cross-validation frame's model column against its `y` column. */
export function cvScores(cv, column) {
  let abs = 0
  let smape = 0
  const n = cv.y.length
  for (let i = 0; i < n; i++) {
    const y = cv.y[i]
    const f = cv[column][i]
    abs += Math.abs(y - f)
    smape += Math.abs(y) + Math.abs(f) > 0 ? (200 * Math.abs(y - f)) / (Math.abs(y) + Math.abs(f)) : 0
  }
  return { mae: abs / n, smape: smape / n }
}

/** MAE and sMAPE (%) of a forecast column against the test rows. */
export function scores(forecast, column, test) {
  const key = (id, ds) => `${id}|${ds instanceof Date ? ds.toISOString().slice(0, 10) : ds}`
  const truth = new Map(test.map((r) => [key(r.unique_id, r.ds), r.y]))
  let abs = 0
  let smape = 0
  let n = 0
  for (let i = 0; i < forecast.unique_id.length; i++) {
    const y = truth.get(key(forecast.unique_id[i], forecast.ds[i]))
    if (y === undefined) throw new Error(`forecast row ${forecast.unique_id[i]} ${forecast.ds[i]} has no test value`)
    const f = forecast[column][i]
    abs += Math.abs(y - f)
    smape += Math.abs(y) + Math.abs(f) > 0 ? (200 * Math.abs(y - f)) / (Math.abs(y) + Math.abs(f)) : 0
    n++
  }
  if (n !== test.length) throw new Error(`forecast has ${n} rows, test has ${test.length}`)
  return { mae: abs / n, smape: smape / n }
}

/**
 * How often `model`'s intervals at each of `levels` hold the test rows' values, and their mean
 * width relative to |y|: `{ points, coverage_<l>, relative_width_<l> }`.
 */
export function coverage(forecast, model, test, levels) {
  const key = (id, ds) => `${id}|${ds instanceof Date ? ds.toISOString().slice(0, 10) : ds}`
  const truth = new Map(test.map((r) => [key(r.unique_id, r.ds), r.y]))
  const out = { points: 0 }
  for (const level of levels) {
    let inside = 0
    let width = 0
    let n = 0
    for (let i = 0; i < forecast.ds.length; i++) {
      const y = truth.get(key(forecast.unique_id[i], forecast.ds[i]))
      if (y === undefined) continue
      const lo = forecast[`${model}-lo-${level}`][i]
      const hi = forecast[`${model}-hi-${level}`][i]
      inside += lo <= y && y <= hi ? 1 : 0
      width += (hi - lo) / Math.max(Math.abs(y), 1e-9)
      n++
    }
    out.points = n
    out[`coverage_${level}`] = inside / n
    out[`relative_width_${level}`] = width / n
  }
  return out
}

import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, choice, loguniform, randint } from '../index.js'

export interface AirRow {
  unique_id: string
  ds: string
  y: number
}

/** The bundled AirPassengers series (monthly, month-end dates, 1949-1960). */
export function airPassengers(): AirRow[] {
  const text = readFileSync(join(__dirname, '..', 'data', 'air_passengers.csv'), 'utf8')
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [unique_id, ds, y] = line.split(',')
      return { unique_id, ds, y: Number(y) }
    })
}

export function mae(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i])
  return s / a.length
}

/** Small, fast model options for tests that exercise the API rather than accuracy. */
export const quick = { h: 12, inputSize: 24, maxSteps: 5, windowsBatchSize: 32, scalerType: 'standard' as const }

/** The rows of AirPassengers with a month-of-year exogenous column (in [0, 1)). */
export function airPassengersWithMonth() {
  return airPassengers().map((r, i) => ({ ...r, month: (i % 12) / 12 }))
}

/**
 * AirPassengers with its month column, split as the exogenous-model tests use it: all but the last
 * year to train on, the last year's months as `futrDf`, its values, and seasonal naive's MAE on it.
 */
export function lastYearWithMonth() {
  const rows = airPassengersWithMonth()
  const train = rows.slice(0, -12)
  const futrDf = rows.slice(-12).map(({ unique_id, ds, month }) => ({ unique_id, ds, month }))
  const truth = rows.slice(-12).map((r) => r.y)
  return { train, futrDf, truth, seasonalNaive: mae(train.slice(-12).map((r) => r.y), truth) }
}

/** Seasonal naive's MAE on `test`: each series' last `season` training values, repeated. */
export function seasonalNaive(train: { unique_id: string; y: number }[], test: { unique_id: string; y: number }[], season: number) {
  const pred: number[] = []
  for (const r of test) {
    const own = train.filter((t) => t.unique_id === r.unique_id)
    const k = test.filter((t) => t.unique_id === r.unique_id).indexOf(r)
    pred.push(own[own.length - season + (k % season)].y)
  }
  return mae(pred, test.map((r) => r.y))
}

/**
 * NeuralForecast's AirPassengersPanel (`neuralforecast.utils`): Airline1 is AirPassengers,
 * Airline2 the same plus 300. Split as the multivariate tests use it: all but each series' last
 * year to train on, the last years' values (series in order) and seasonal naive's MAE on them.
 */
export function airPassengersPanel() {
  const air = airPassengers()
  const rows = [...air.map((r) => ({ ...r, unique_id: 'Airline1' })), ...air.map((r) => ({ ...r, unique_id: 'Airline2', y: r.y + 300 }))]
  const train = rows.filter((_, i) => i % air.length < air.length - 12)
  const test = rows.filter((_, i) => i % air.length >= air.length - 12)
  return { train, truth: test.map((r) => r.y), seasonalNaive: seasonalNaive(train, test, 12) }
}

/**
 * What every model's test asks on AirPassengers' last year: the forecast beats `bound` (seasonal
 * naive, unless a model cannot follow a trend), the same seed repeats it exactly, another seed
 * changes it, and a save/load round trip predicts it exactly.
 */
export async function learnsRepeatsRoundTrips(opts: {
  name: string
  make: (seed: number) => any
  train: object[]
  truth: number[]
  bound: number
  fit?: object
  predict?: object
}) {
  const { name, make, train, truth, bound } = opts
  const fit = async (seed: number) => {
    const nf = new NeuralForecast({ models: [make(seed)], freq: 'ME' })
    await nf.fit(train as any, opts.fit as any)
    return { nf, fc: await nf.predict(opts.predict as any) }
  }
  const { nf, fc } = await fit(1)
  const ours = mae(fc[name] as Float64Array, truth)
  assert.ok(ours < bound, `${name} MAE ${ours} should beat ${bound}`)
  assert.deepEqual((await fit(1)).fc, fc, 'same seed, same forecast')
  assert.notDeepEqual((await fit(2)).fc[name], fc[name], 'another seed, another forecast')
  const path = join(mkdtempSync(join(tmpdir(), `nd-${name}-`)), 'm.nd')
  await nf.save(path)
  assert.deepEqual(await (await NeuralForecast.load(path)).predict(opts.predict as any), fc)
}

/** A tiny MLP search space for Auto* tests: each trial fits in milliseconds. */
export const tinyMlpSpace = {
  inputSize: choice([12, 24, 36]),
  hiddenSize: choice([8, 16]),
  numLayers: 1,
  maxSteps: 20,
  windowsBatchSize: 32,
  scalerType: 'standard' as const,
  learningRate: loguniform(1e-3, 1e-1),
  randomSeed: randint(1, 5),
}

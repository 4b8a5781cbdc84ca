// Conformal prediction intervals (NeuralForecast's PredictionIntervals) and warm starts
// (NeuralForecast's use_init_models), as a user calls them. The expected columns and errors come
// from NeuralForecast 3.3.0 on the same frame: scripts/conformal_reference.py writes the fixture.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, MLP, NHITS, MQLoss, DistributionLoss } from '../index.js'
import { airPassengers, quick } from './helpers'

const nf33 = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'conformal_nf.json'), 'utf8'))

/** The fixture's frame: series a (30 points) and b (26), integer ds. */
function tiny() {
  const rows: { unique_id: string; ds: number; y: number }[] = []
  for (const [id, n, off] of [['a', 30, 0], ['b', 26, 1]] as const) {
    for (let t = 0; t < n; t++) rows.push({ unique_id: id, ds: t, y: Math.sin(t / 3) * 5 + t * 0.2 + off })
  }
  return rows
}
const small = { h: 3, inputSize: 6, maxSteps: 2 }

async function columns(models: any[], fit: object, level: number[]) {
  const nf = new NeuralForecast({ models, freq: 1 })
  await nf.fit(tiny(), fit)
  const fc = await nf.predict({ level })
  return { columns: Object.keys(fc), rows: fc.ds.length }
}

test('predict({ level }) adds the columns NeuralForecast adds, in its order', async () => {
  const pi = { predictionIntervals: { nWindows: 2 } }
  assert.deepEqual(await columns([new MLP(small), new NHITS(small)], pi, [90, 80]), nf33.point_distribution)
  assert.deepEqual(await columns([new MLP(small)], { predictionIntervals: { nWindows: 3, method: 'conformal_error' } }, [80]), nf33.point_error)
  // An MQLoss model keeps its own quantiles; a distribution draws the requested ones.
  assert.deepEqual(await columns([new MLP(small), new NHITS({ ...small, loss: new MQLoss({ level: [80] }) })], pi, [90]), nf33.mixed_mqloss)
  assert.deepEqual(await columns([new MLP({ ...small, loss: new DistributionLoss({ distribution: 'Normal', level: [50] }) })], {}, [90, 80]), nf33.distribution_level)
})

test("NeuralForecast's refusals, as TypeError/RangeError naming the option", async () => {
  const nf = new NeuralForecast({ models: [new MLP(small)], freq: 1 })
  await assert.rejects(nf.fit(tiny(), { predictionIntervals: { nWindows: 1 } }), (e: Error) => e instanceof RangeError && /'predictionIntervals.nWindows'/.test(e.message))
  await assert.rejects(nf.fit(tiny(), { predictionIntervals: { method: 'conformal' as any } }), (e: Error) => e instanceof RangeError && /'predictionIntervals.method'.*conformal_distribution/.test(e.message))
  await assert.rejects(nf.fit(tiny(), { predictionIntervals: { nWindow: 2 } as any }), (e: Error) => e instanceof TypeError && /unknown option 'nWindow'.*nWindows/.test(e.message))
  await assert.rejects(nf.fit(tiny(), { predictionIntervals: { nWindows: 25 } }), (e: Error) => e instanceof RangeError && /series 'b' has 26 points, fewer than the 28/.test(e.message))
  assert.equal(nf33.too_short.error, 'ValueError')
  const onlyMq = new NeuralForecast({ models: [new MLP({ ...small, loss: new MQLoss({ level: [80] }) })], freq: 1 })
  await assert.rejects(onlyMq.fit(tiny(), { predictionIntervals: {} }), (e: Error) => e instanceof TypeError && /'predictionIntervals': no model has a point loss/.test(e.message))
  await nf.fit(tiny())
  await assert.rejects(nf.predict({ level: [90] }), (e: Error) => e instanceof TypeError && /'level': MLP was trained with a point loss \(MAE\).*'predictionIntervals'/.test(e.message))
  assert.equal(nf33.level_without_intervals.error, 'AttributeError')
  await nf.fit(tiny(), { predictionIntervals: {} })
  await assert.rejects(nf.predict({ level: [100] }), (e: Error) => e instanceof RangeError && /'level'/.test(e.message))
  await assert.rejects(nf.predict({ level: '90' as any }), (e: Error) => e instanceof TypeError && /'level'/.test(e.message))
  await assert.rejects(nf.predict({ level: [90], h: 6 }), (e: Error) => e instanceof RangeError && /'h' \(6\)/.test(e.message))
  await assert.rejects(nf.fit(tiny(), { useInitModel: true } as any), (e: Error) => e instanceof TypeError && /unknown option 'useInitModel'.*useInitModels/.test(e.message))
})

test('intervals nest around the point forecast, survive save/load, and cover near their level on held-out AirPassengers', async () => {
  const rows = airPassengers()
  const train = rows.slice(0, -12)
  const truth = rows.slice(-12).map((r) => r.y)
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, maxSteps: 150, hiddenSize: 64, learningRate: 1e-3 })], freq: 'ME' })
  await nf.fit(train, { predictionIntervals: { nWindows: 12, stepSize: 1 } })
  const fc = await nf.predict({ level: [80, 95] })
  const [lo95, lo80, mid, hi80, hi95] = ['MLP-lo-95', 'MLP-lo-80', 'MLP', 'MLP-hi-80', 'MLP-hi-95'].map((c) => fc[c] as Float64Array)
  let inside = 0
  for (let i = 0; i < 12; i++) {
    assert.ok(lo95[i] <= lo80[i] && lo80[i] <= mid[i] && mid[i] <= hi80[i] && hi80[i] <= hi95[i], `row ${i}`)
    if (lo95[i] <= truth[i] && truth[i] <= hi95[i]) inside++
  }
  // Loose: 12 points of one series (bench/conformal_coverage.mjs measures it on M3).
  assert.ok(inside >= 8, `95% intervals held ${inside} of 12 held-out points`)
  const path = join(mkdtempSync(join(tmpdir(), 'nd-conformal-')), 'm.nd')
  await nf.save(path)
  assert.deepEqual(await (await NeuralForecast.load(path)).predict({ level: [80, 95] }), fc)
})

test('a second fit continues from the fitted weights; useInitModels starts over bit for bit', async () => {
  const rows = airPassengers()
  const model = () => new MLP({ ...quick, maxSteps: 30 })
  const firstLosses: number[] = []
  const nf = new NeuralForecast({ models: [model()], freq: 'ME' })
  await nf.fit(rows, { onProgress: (e) => firstLosses.push(e.trainLoss) })
  const first = await nf.predict()
  const warmLosses: number[] = []
  await nf.fit(rows, { onProgress: (e) => warmLosses.push(e.trainLoss) })
  assert.ok(warmLosses[0] < 0.5 * firstLosses[0], `a warm fit starts from trained weights: ${warmLosses[0]} vs ${firstLosses[0]}`)
  assert.notDeepEqual(await nf.predict(), first)
  await nf.fit(rows, { useInitModels: true })
  assert.deepEqual(await nf.predict(), first, 'the same as the first fit, bit for bit')
  // Loaded models train further from their saved weights.
  const path = join(mkdtempSync(join(tmpdir(), 'nd-warm-')), 'm.nd')
  await nf.save(path)
  const loaded = await NeuralForecast.load(path)
  const loadedLosses: number[] = []
  await loaded.fit(rows, { onProgress: (e) => loadedLosses.push(e.trainLoss) })
  assert.equal(loadedLosses[0], warmLosses[0], 'continues from the saved weights as the original would')
  await nf.fit(rows)
  assert.deepEqual(await loaded.predict(), await nf.predict())
  // A short refit: maxSteps for this fit only.
  let last: any
  await nf.fit(rows, { maxSteps: 7, onProgress: (e) => (last = e) })
  assert.deepEqual([last.step, last.maxSteps], [7, 7])
  await nf.fit(rows, { onProgress: (e) => (last = e) })
  assert.equal(last.maxSteps, 30, "the model's own maxSteps again")
  await assert.rejects(nf.fit(rows, { maxSteps: 0 }), RangeError)
})

test('crossValidation with predictionIntervals: each refit window calibrates its own intervals, as NeuralForecast', async () => {
  const cvOpts = { nWindows: 2, refit: true, predictionIntervals: { nWindows: 2 }, level: [80] }
  const cv = await new NeuralForecast({ models: [new MLP(small)], freq: 1 }).crossValidation(tiny(), cvOpts)
  assert.deepEqual({ columns: Object.keys(cv), rows: cv.ds.length }, nf33.cv_refit)
  // Window w is a fit with intervals on the rows before its cutoff, continuing from window w - 1.
  const nf = new NeuralForecast({ models: [new MLP(small)], freq: 1 })
  for (let w = 0; w < 2; w++) {
    const before = tiny().filter((r) => r.ds < (r.unique_id === 'a' ? 30 : 26) - 4 + w)
    await nf.fit(before, { predictionIntervals: { nWindows: 2 } })
    const fc = await nf.predict({ level: [80] })
    for (const col of ['MLP', 'MLP-lo-80', 'MLP-hi-80']) {
      const rows = (id: string) => Array.from(cv.unique_id.keys()).filter((i) => cv.unique_id[i] === id && (cv.cutoff as Float64Array)[i] === (id === 'a' ? 25 : 21) + w)
      const got = [...rows('a'), ...rows('b')].map((i) => (cv[col] as Float64Array)[i])
      assert.deepEqual(got, Array.from(fc[col] as Float64Array), `window ${w} ${col}`)
    }
  }
  const plain = new NeuralForecast({ models: [new MLP(small)], freq: 1 })
  assert.equal(nf33.cv_no_refit.error, 'Exception')
  await assert.rejects(plain.crossValidation(tiny(), { ...cvOpts, refit: false }), (e: Error) => e instanceof TypeError && /'predictionIntervals' needs refit: true/.test(e.message))
  await assert.rejects(plain.crossValidation(tiny(), { ...cvOpts, level: undefined }), (e: Error) => e instanceof TypeError && /'predictionIntervals' needs option 'level'/.test(e.message))
  await assert.rejects(plain.crossValidation(tiny(), { nWindows: 2, refit: true, level: [80] }), (e: Error) => e instanceof TypeError && /'level': MLP has a point loss/.test(e.message))
})

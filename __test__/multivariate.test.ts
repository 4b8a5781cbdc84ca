// Multivariate models (MLPMultivariate, TSMixer, TSMixerx, iTransformer): one window holds every series and the
// model forecasts them jointly. Used as a user would: nSeries, fit, predict, crossValidation, save.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, MLPMultivariate, TSMixer, TSMixerx, iTransformer, MQLoss } from '../index.js'
import { airPassengers, mae, seasonalNaive } from './helpers'

const air = airPassengers()
const airTrain = air.slice(0, -12)
const airTest = air.slice(-12)

/** Three monthly series with different levels, seasons and trends, all 120 points long. */
function panel(len = 120) {
  const rows: { unique_id: string; ds: number; y: number; x: number }[] = []
  for (const [k, id] of ['a', 'b', 'c'].entries()) {
    for (let t = 0; t < len; t++) {
      const season = Math.sin((2 * Math.PI * t) / 12 + k)
      rows.push({ unique_id: id, ds: t + 1, y: 100 * (k + 1) + (20 + 10 * k) * season + (k + 1) * 0.5 * t, x: season })
    }
  }
  return rows
}

const small = {
  MLPMultivariate: { hiddenSize: 64 },
  TSMixer: { ffDim: 16 },
  TSMixerx: { ffDim: 16 },
  iTransformer: { hiddenSize: 16, nHeads: 2, dFf: 32 },
} as const
const classes = { MLPMultivariate, TSMixer, TSMixerx, iTransformer } as const

for (const [name, Model] of Object.entries(classes)) {
  const own = small[name as keyof typeof small]

  test(`${name} learns AirPassengers (nSeries 1) and beats the seasonal naive forecast`, async () => {
    const nf = new NeuralForecast({
      models: [new Model({ h: 12, inputSize: 24, nSeries: 1, maxSteps: 150, scalerType: 'standard', windowsBatchSize: 128, ...own })],
      freq: 'ME',
    })
    await nf.fit(airTrain)
    const fc = await nf.predict()
    const ours = mae(fc[name] as Float64Array, airTest.map((r) => r.y))
    const naive = seasonalNaive(airTrain, airTest, 12)
    assert.ok(ours < naive, `${name} MAE ${ours} should beat seasonal naive ${naive}`)
    assert.deepEqual(fc.ds, airTest.map((r) => r.ds))
  })

  test(`${name} forecasts three series jointly, beats seasonal naive, and is reproducible`, async () => {
    const rows = panel()
    const train = rows.filter((r) => r.ds <= 108)
    const test_ = rows.filter((r) => r.ds > 108)
    const make = () =>
      new NeuralForecast({ models: [new Model({ h: 12, inputSize: 24, nSeries: 3, maxSteps: 150, scalerType: 'standard', learningRate: 3e-3, ...own })], freq: 1 })
    const nf = make()
    await nf.fit(train.map(({ x, ...r }) => r))
    const fc = await nf.predict()
    assert.deepEqual(Array.from(fc.unique_id), test_.map((r) => r.unique_id), 'one row per series and step, series in order')
    assert.deepEqual(Array.from(fc.ds as Float64Array), test_.map((r) => r.ds))
    const ours = mae(fc[name] as Float64Array, test_.map((r) => r.y))
    const naive = seasonalNaive(train, test_, 12)
    assert.ok(ours < naive, `${name} MAE ${ours} should beat seasonal naive ${naive}`)
    const again = make()
    await again.fit(train.map(({ x, ...r }) => r))
    assert.deepEqual(await again.predict(), fc, 'same seed, same forecasts')
  })

  test(`${name} saves and loads exactly; predicts from a new df; cross-validates`, async () => {
    const rows = panel(60).map(({ x, ...r }) => r)
    const nf = new NeuralForecast({ models: [new Model({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 5, ...own })], freq: 1 })
    await nf.fit(rows)
    const before = await nf.predict()
    const path = join(mkdtempSync(join(tmpdir(), 'nd-mv-')), 'm.nd')
    await nf.save(path)
    const loaded = await NeuralForecast.load(path)
    assert.deepEqual(await loaded.predict(), before)
    // A new df: the forecast starts after its own end.
    const shorter = rows.filter((r) => r.ds <= 50)
    const fresh = await loaded.predict({ df: shorter })
    assert.equal(fresh.ds[0], 51)
    const cv = await nf.crossValidation(rows, { nWindows: 2, stepSize: 6 })
    assert.equal(cv.unique_id.length, 3 * 2 * 6)
    assert.deepEqual(Array.from((cv.cutoff as Float64Array).slice(0, 12)), [...Array(6).fill(48), ...Array(6).fill(54)])
    assert.deepEqual(Array.from(cv.y!.slice(0, 6)), rows.slice(48, 54).map((r) => Math.fround(r.y)), "y as the engine holds it (f32)")
    assert.ok(Array.from(cv[name] as Float64Array).every(Number.isFinite))
  })

  test(`${name} needs nSeries and checks it against the data`, async () => {
    assert.throws(() => new Model({ h: 6, inputSize: 12 } as any), (e: any) => e instanceof TypeError && /multivariate model.*'nSeries'/.test(e.message))
    assert.throws(() => new Model({ h: 6, inputSize: 12, nSeries: 0 }), RangeError)
    const nf = new NeuralForecast({ models: [new Model({ h: 6, inputSize: 12, nSeries: 2, maxSteps: 2, ...own })], freq: 1 })
    await assert.rejects(nf.fit(panel(40).map(({ x, ...r }) => r)), /nSeries=2, but df has 3 series/)
  })
}

test('TSMixer refuses exogenous lists; TSMixer and TSMixerx keep NeuralForecast defaults', () => {
  // (The types already leave the exogenous lists out of TSMixerOptions.)
  assert.throws(() => new TSMixer({ h: 6, inputSize: 12, nSeries: 2, histExogList: ['x'] } as any), (e: any) => e instanceof TypeError && /histExogList/.test(e.message))
  assert.throws(() => new TSMixer({ h: 6, inputSize: 12, nSeries: 2, dropout: 1.5 }), RangeError)
  assert.equal(new TSMixer({ h: 6, inputSize: 12, nSeries: 2 }).config.dropout, 0.9)
  assert.equal(new TSMixerx({ h: 6, inputSize: 12, nSeries: 2 }).config.dropout, 0)
  assert.equal(new MLPMultivariate({ h: 6, inputSize: 12, nSeries: 2 }).config.windowsBatchSize, 32)
})

test('series with different start dates are left-padded and masked, as NeuralForecast does', async () => {
  const rows = panel(60).map(({ x, ...r }) => r).filter((r) => !(r.unique_id === 'b' && r.ds <= 20))
  const nf = new NeuralForecast({ models: [new TSMixer({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 20, ffDim: 8 })], freq: 1 })
  await nf.fit(rows)
  const fc = await nf.predict()
  assert.equal(fc.unique_id.length, 18)
  assert.ok(Array.from(fc.TSMixer as Float64Array).every(Number.isFinite))
})

test('iTransformer: future exogenous variables are tokens of their own; NeuralForecast defaults and errors', async () => {
  const rows = panel(60)
  const m = new iTransformer({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 5, hiddenSize: 8, nHeads: 2, dFf: 8, futrExogList: ['x'] })
  const nf = new NeuralForecast({ models: [m], freq: 1 })
  await nf.fit(rows.filter((r) => r.ds <= 54))
  const fc = await nf.predict({ futrDf: rows.filter((r) => r.ds > 54).map(({ y, ...r }) => r) })
  assert.ok(Array.from(fc.iTransformer as Float64Array).every(Number.isFinite))
  const c = new iTransformer({ h: 6, inputSize: 12, nSeries: 2 }).config
  assert.deepEqual([c.hiddenSize, c.nHeads, c.eLayers, c.dFf, c.dropout, c.useNorm, c.scalerType, c.windowsBatchSize], [512, 8, 2, 2048, 0.1, true, 'identity', 32])
  assert.throws(() => new iTransformer({ h: 6, inputSize: 12, nSeries: 2, hiddenSize: 4, nHeads: 8 }), (e: any) => e instanceof RangeError && /'nHeads'/.test(e.message))
  assert.throws(() => new iTransformer({ h: 6, inputSize: 12, nSeries: 2, statExogList: ['s'] } as any), (e: any) => e instanceof TypeError && /statExogList/.test(e.message))
})

test('MLPMultivariate and TSMixerx use future, historic and static exogenous variables', async () => {
  const rows = panel(60)
  const train = rows.filter((r) => r.ds <= 54)
  const futr = rows.filter((r) => r.ds > 54).map(({ y, ...r }) => r)
  const staticDf = [
    { unique_id: 'a', s: 1 },
    { unique_id: 'b', s: 2 },
    { unique_id: 'c', s: 3 },
  ]
  for (const [Model, own] of [
    [MLPMultivariate, { hiddenSize: 16 }],
    [TSMixerx, { ffDim: 8 }],
  ] as const) {
    const m = new Model({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 5, futrExogList: ['x'], statExogList: ['s'], ...own })
    const nf = new NeuralForecast({ models: [m], freq: 1 })
    await nf.fit(train, { staticDf })
    const fc = await nf.predict({ futrDf: futr })
    assert.ok(Array.from(fc[m.alias] as Float64Array).every(Number.isFinite))
    await assert.rejects(nf.predict(), /futrDf/)
    const h = new Model({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 3, histExogList: ['x'], ...own })
    const nf2 = new NeuralForecast({ models: [h], freq: 1 })
    await nf2.fit(train)
    assert.equal((await nf2.predict()).unique_id.length, 18)
  }
})

test('quantile losses give one column per level for every series', async () => {
  const nf = new NeuralForecast({ models: [new TSMixer({ h: 6, inputSize: 12, nSeries: 3, maxSteps: 5, ffDim: 8, loss: new MQLoss({ level: [80] }) })], freq: 1 })
  await nf.fit(panel(60).map(({ x, ...r }) => r))
  const fc = await nf.predict()
  assert.deepEqual(Object.keys(fc).filter((k) => k.startsWith('TSMixer')), ['TSMixer-median', 'TSMixer-lo-80', 'TSMixer-hi-80'])
  assert.equal(fc.unique_id.length, 18)
})

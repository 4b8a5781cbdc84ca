// Fitting, forecasting and cross-validating as a user would, on the bundled AirPassengers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, NHITS, MLP, LSTM, PatchTST, MQLoss, DistributionLoss, MASE, toRows } from '../index.js'
import { airPassengers, mae, quick } from './helpers'

const rows = airPassengers()
const train = rows.slice(0, -12)
const test_ = rows.slice(-12)

for (const [name, Model] of [['MLP', MLP], ['NHITS', NHITS], ['LSTM', LSTM], ['PatchTST', PatchTST]] as const) {
  test(`${name} learns AirPassengers and beats the seasonal naive forecast`, async () => {
    // LSTM unrolls 24 steps per window: a narrower one keeps this test quick.
    const own = name === 'LSTM' ? { encoderHiddenSize: 32, decoderHiddenSize: 32 } : name === 'PatchTST' ? { hiddenSize: 32, nHeads: 4, learningRate: 1e-3 } : {}
    const nf = new NeuralForecast({
      models: [new Model({ h: 12, inputSize: 24, maxSteps: 150, scalerType: 'standard', windowsBatchSize: 128, ...own })],
      freq: 'ME',
    })
    const losses: number[] = []
    await nf.fit(train, { onProgress: (e) => losses.push(e.trainLoss) })
    const fc = await nf.predict()
    const truth = test_.map((r) => r.y)
    const ours = mae(fc[name] as Float64Array, truth)
    const seasonalNaive = mae(train.slice(-12).map((r) => r.y), truth)
    assert.ok(ours < seasonalNaive, `${name} MAE ${ours} should beat seasonal naive ${seasonalNaive}`)
    assert.ok(losses.at(-1)! < losses[0], 'training loss falls')
    assert.deepEqual(fc.ds, test_.map((r) => r.ds), 'forecast ds continue the series, as strings like the input')
  })
}

test('rows and columns frames give the same forecast', async () => {
  const make = () => new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 32 })], freq: 'ME' })
  const a = make()
  await a.fit(train)
  const b = make()
  await b.fit({ unique_id: train.map((r) => r.unique_id), ds: train.map((r) => r.ds), y: Float64Array.from(train, (r) => r.y) })
  assert.deepEqual((await a.predict()).MLP, (await b.predict()).MLP)
})

test('ds kinds round-trip: Date in, Date out; numbers in, numbers out', async () => {
  const dates = train.map((r) => ({ ...r, ds: new Date(`${r.ds}T00:00:00Z`) }))
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  await nf.fit(dates)
  const fc = await nf.predict()
  assert.ok(fc.ds[0] instanceof Date)
  assert.equal((fc.ds[0] as Date).toISOString(), '1960-01-31T00:00:00.000Z')
  const ints = train.map((r, i) => ({ unique_id: 7, ds: i + 1, y: r.y }))
  const nf2 = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 1 })
  await nf2.fit(ints)
  const fc2 = await nf2.predict()
  assert.ok(fc2.ds instanceof Float64Array)
  assert.equal(fc2.ds[0], 133)
  assert.equal(fc2.unique_id[0], 7)
})

test('unsorted rows are sorted; several series are forecast each', async () => {
  const two = [...train, ...train.map((r) => ({ ...r, unique_id: 'B', y: r.y + 300 }))].reverse()
  const nf = new NeuralForecast({ models: [new NHITS({ ...quick, mlpUnits: [[16, 16], [16, 16], [16, 16]] })], freq: 'ME' })
  await nf.fit(two)
  const fc = await nf.predict()
  assert.equal(fc.unique_id.length, 24)
  assert.deepEqual([...new Set(fc.unique_id)], ['AirPassengers', 'B'])
})

test('MQLoss gives median and interval columns; toRows turns columns into rows', async () => {
  const nf = new NeuralForecast({ models: [new NHITS({ ...quick, loss: new MQLoss({ level: [80, 90] }), alias: 'N' })], freq: 'ME' })
  await nf.fit(train)
  const fc = await nf.predict()
  assert.deepEqual(Object.keys(fc), ['unique_id', 'ds', 'N-median', 'N-lo-90', 'N-lo-80', 'N-hi-80', 'N-hi-90'])
  const r = toRows(fc)
  assert.equal(r.length, 12)
  assert.equal(r[0]['N-median'], (fc['N-median'] as Float64Array)[0])
})

test('future exogenous columns flow from futrDf', async () => {
  const withTrend = rows.map((r, i) => ({ ...r, trend: i }))
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16, futrExogList: ['trend'] })], freq: 'ME' })
  await nf.fit(withTrend.slice(0, -12))
  const fc = await nf.predict({ futrDf: withTrend.slice(-12).map(({ unique_id, ds, trend }) => ({ unique_id, ds, trend })) })
  assert.equal((fc.MLP as Float64Array).length, 12)
})

test('crossValidation returns cutoff, forecasts and y per window', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  const cv = await nf.crossValidation(rows, { nWindows: 3, stepSize: 12 })
  assert.deepEqual(Object.keys(cv), ['unique_id', 'ds', 'cutoff', 'MLP', 'y'])
  assert.equal(cv.unique_id.length, 36)
  assert.equal(cv.cutoff![0], '1957-12-31')
  assert.equal((cv.y as Float64Array)[35], rows[143].y)
})

test('predict with a new df forecasts after that history', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  await nf.fit(train)
  const fc = await nf.predict({ df: rows })
  assert.equal(fc.ds[0], '1961-01-31')
})

test('same randomSeed, same forecast', async () => {
  const run = async () => {
    const nf = new NeuralForecast({ models: [new NHITS({ ...quick, randomSeed: 3 })], freq: 'ME' })
    await nf.fit(train)
    return (await nf.predict()).NHITS
  }
  assert.deepEqual(await run(), await run())
})

test('DistributionLoss forecasts a mean and ordered quantiles; MASE trains', async () => {
  const nf = new NeuralForecast({
    models: [
      new NHITS({ ...quick, maxSteps: 30, loss: new DistributionLoss({ distribution: 'StudentT', level: [80] }) }),
      new MLP({ ...quick, hiddenSize: 16, loss: new MASE({ seasonality: 12 }) }),
    ],
    freq: 'ME',
  })
  await nf.fit(train)
  const fc = await nf.predict()
  assert.deepEqual(Object.keys(fc), ['unique_id', 'ds', 'NHITS', 'NHITS-median', 'NHITS-lo-80', 'NHITS-hi-80', 'MLP'])
  const [lo, med, hi] = [fc['NHITS-lo-80'], fc['NHITS-median'], fc['NHITS-hi-80']] as Float64Array[]
  for (let i = 0; i < 12; i++) assert.ok(lo[i] <= med[i] && med[i] <= hi[i], `quantiles ordered at ${i}`)
  assert.ok((fc.MLP as Float64Array).every(Number.isFinite))
})

test('padAfterScaling changes only how padding reads: a short series beside a long one', async () => {
  // B is the last 30 months, so its training windows reach into the left padding.
  const panel = [...train, ...train.slice(-30).map((r) => ({ ...r, unique_id: 'B' }))]
  const run = async (padAfterScaling?: boolean) => {
    const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16, scalerType: 'robust', maxSteps: 20, padAfterScaling })], freq: 'ME' })
    await nf.fit(panel)
    return (await nf.predict()).MLP as Float64Array
  }
  const [nfWay, again, zeros] = [await run(), await run(false), await run(true)]
  assert.deepEqual(nfWay, again, "NeuralForecast's treatment is the default")
  assert.notDeepEqual(nfWay, zeros, 'zeros after scaling train a different model')
  assert.throws(() => new MLP({ ...quick, padAfterScaling: 1 as any }), TypeError)
})

test('futrDf with a fractional numeric freq takes the row at each exact ds', async () => {
  // ds 0, 0.5, ..., the future x equal to ds; a model that reads x sees the right rows.
  const n = 40
  const ds = Array.from({ length: n }, (_, t) => t * 0.5)
  const df = { unique_id: ds.map(() => 's'), ds, y: Float64Array.from(ds, (d) => Math.sin(d)), x: Float64Array.from(ds) }
  const future = Array.from({ length: 4 }, (_, k) => (n + k) * 0.5)
  const nf = new NeuralForecast({ models: [new MLP({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 3, futrExogList: ['x'] })], freq: 0.5 })
  await nf.fit(df)
  const inOrder = await nf.predict({ futrDf: { unique_id: future.map(() => 's'), ds: future, x: Float64Array.from(future) } })
  const shuffled = [3, 1, 0, 2].map((i) => future[i])
  const fromShuffled = await nf.predict({ futrDf: { unique_id: shuffled.map(() => 's'), ds: shuffled, x: Float64Array.from(shuffled) } })
  assert.deepEqual(fromShuffled.MLP, inOrder.MLP, 'rows are matched by ds, not by position or rounded ds')
  assert.deepEqual([...(inOrder.ds as ArrayLike<number>)], future)
  const twice = [...future, future[1]]
  await assert.rejects(nf.predict({ futrDf: { unique_id: twice.map(() => 's'), ds: twice, x: Float64Array.from(twice) } }), /2 rows for series 's' at ds 20.5/)
})

// Fitting, forecasting and cross-validating as a user would, on the bundled AirPassengers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, NHITS, NBEATS, DLinear, NLinear, MLP, LSTM, PatchTST, MQLoss, DistributionLoss, MASE, toRows } from '../index.js'
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
  const two = [...train, ...train.map((r) => ({ ...r, unique_id: 'B', y: r.y + 300 }))]
  const make = () => new NeuralForecast({ models: [new NHITS({ ...quick, mlpUnits: [[16, 16], [16, 16], [16, 16]] })], freq: 'ME' })
  const nf = make()
  await nf.fit([...two].reverse())
  const fc = await nf.predict()
  assert.equal(fc.unique_id.length, 24)
  assert.deepEqual([...new Set(fc.unique_id)], ['AirPassengers', 'B'])
  // Reversed rows are the same data: the same model and forecast as the rows in order.
  const sorted = make()
  await sorted.fit(two)
  assert.deepEqual(fc, await sorted.predict())
  // B is A shifted up by 300 and the standard scaler is per window, so its forecast is A's
  // plus 300: each series was forecast from its own history, in order.
  const f = fc.NHITS as Float64Array
  for (let k = 0; k < 12; k++) assert.ok(Math.abs(f[12 + k] - f[k] - 300) < 1e-2, `step ${k}: B ${f[12 + k]} vs A ${f[k]} + 300`)
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

test('future exogenous values from futrDf drive the forecast', async () => {
  // y rises by 100 wherever the promotion flag is on, and the flag follows no pattern the history
  // could predict: a model that reads futrDf must forecast higher with the flag on than off, by
  // about that much, and follow the flags it is given.
  const promo = (i: number) => (Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 1 < 0.5 ? 1 : 0)
  const series = rows.map((r, i) => ({ unique_id: 'S', ds: r.ds, y: 200 + 100 * promo(i) + 10 * Math.sin((2 * Math.PI * i) / 12), promo: promo(i) }))
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, maxSteps: 300, hiddenSize: 32, futrExogList: ['promo'], randomSeed: 1 })], freq: 'ME' })
  await nf.fit(series.slice(0, -12))
  const future = (flag: (i: number) => number) => series.slice(-12).map(({ unique_id, ds }, k) => ({ unique_id, ds, promo: flag(132 + k) }))
  const on = (await nf.predict({ futrDf: future(() => 1) })).MLP as Float64Array
  const off = (await nf.predict({ futrDf: future(() => 0) })).MLP as Float64Array
  const real = (await nf.predict({ futrDf: future(promo) })).MLP as Float64Array
  for (let k = 0; k < 12; k++) assert.ok(on[k] > off[k], `step ${k}: flag on ${on[k]} vs off ${off[k]}`)
  assert.ok(mae(on, off) > 50, `flags on vs off move the forecast by ${mae(on, off)} on average (100 in the data)`)
  const truth = series.slice(-12).map((r) => r.y)
  // With the real flags the forecast is closer to the truth than with all on or all off (a
  // forecast ignoring the flags would be about 50 off).
  const [r, a, b] = [mae(real, truth), mae(on, truth), mae(off, truth)]
  assert.ok(r < 35 && r < a && r < b, `MAE ${r} with the real flags, ${a} all on, ${b} all off`)
})

test('crossValidation returns cutoff, forecasts and y per window', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16 })], freq: 'ME' })
  const cv = await nf.crossValidation(rows, { nWindows: 3, stepSize: 12 })
  assert.deepEqual(Object.keys(cv), ['unique_id', 'ds', 'cutoff', 'MLP', 'y'])
  assert.equal(cv.unique_id.length, 36)
  assert.equal(cv.cutoff![0], '1957-12-31')
  assert.equal((cv.y as Float64Array)[35], rows[143].y)
})

test('crossValidation with refit: true retrains per window, each as a fit up to its cutoff', async () => {
  const model = () => new MLP({ ...quick, hiddenSize: 16, randomSeed: 5 })
  const opts = { nWindows: 3, stepSize: 12 }
  const refit = await new NeuralForecast({ models: [model()], freq: 'ME' }).crossValidation(rows, { ...opts, refit: true })
  const once = await new NeuralForecast({ models: [model()], freq: 'ME' }).crossValidation(rows, opts)
  const window = (cv: typeof refit, w: number) => Array.from((cv.MLP as Float64Array).subarray(12 * w, 12 * w + 12))
  // As NeuralForecast's refit calls fit, each window's training continues from the previous one's.
  const nf = new NeuralForecast({ models: [model()], freq: 'ME' })
  for (let w = 0; w < 3; w++) {
    // Window w's cutoff is row 107 + 12w: fit on the rows up to it, forecast the next 12.
    await nf.fit(rows.slice(0, 108 + 12 * w))
    assert.deepEqual(window(refit, w), Array.from((await nf.predict()).MLP as Float64Array), `window ${w} equals a fit up to its cutoff`)
    // Without refit every window is forecast by the model fit before the first cutoff.
    if (w === 0) assert.deepEqual(window(refit, w), window(once, w), 'the first window has the same training data either way')
    else assert.notDeepEqual(window(refit, w), window(once, w), `window ${w} was retrained`)
  }
})

test('predict with a new df forecasts after that history', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 16, randomSeed: 2 })], freq: 'ME' })
  await nf.fit(train)
  const fitted = (await nf.predict()).MLP as Float64Array
  const fc = await nf.predict({ df: rows })
  assert.equal(fc.ds[0], '1961-01-31')
  const later = fc.MLP as Float64Array
  assert.notDeepEqual(later, fitted, 'a different history gives a different forecast')
  // The same model on the same history: the fit df passed as a new df gives the fitted forecast,
  // and (the standard scaler being per window) only the last inputSize points matter.
  assert.deepEqual((await nf.predict({ df: train })).MLP, fitted)
  assert.deepEqual((await nf.predict({ df: rows.slice(-quick.inputSize) })).MLP, later)
  // A renamed copy of the history is forecast the same, beside the original.
  const both = await nf.predict({ df: [...rows, ...rows.map((r) => ({ ...r, unique_id: 'copy' }))] })
  assert.deepEqual(both.unique_id.slice(0, 12), Array(12).fill('AirPassengers'))
  assert.deepEqual((both.MLP as Float64Array).slice(0, 12), later)
  assert.deepEqual((both.MLP as Float64Array).slice(12), later)
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
  assert.deepEqual(Array.from(inOrder.ds as ArrayLike<number>), future)
  const twice = [...future, future[1]]
  await assert.rejects(nf.predict({ futrDf: { unique_id: twice.map(() => 's'), ds: twice, x: Float64Array.from(twice) } }), /2 rows for series 's' at ds 20.5/)
})

test('makeFutureDataframe and getMissingFuture give the horizon rows, as NeuralForecast', async () => {
  const rows = airPassengers()
  const two = [...rows.slice(0, 60).map((r) => ({ ...r, unique_id: 'b' })), ...rows]
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, h: 3 })], freq: 'ME' })
  assert.throws(() => nf.makeFutureDataframe(), /before fit/)
  await nf.fit(two)
  const futr = nf.makeFutureDataframe()
  assert.deepEqual(futr.unique_id, ['AirPassengers', 'AirPassengers', 'AirPassengers', 'b', 'b', 'b'])
  // Input ds were 'YYYY-MM-DD' strings, so are these: month ends after 1960-12-31 and after b's last month (1953-12-31), calendar-aware.
  assert.deepEqual(futr.ds, ['1961-01-31', '1961-02-28', '1961-03-31', '1954-01-31', '1954-02-28', '1954-03-31'])
  assert.equal(nf.makeFutureDataframe(undefined, 5).unique_id.length, 10)
  // From a new df: its own ends.
  const fromNew = nf.makeFutureDataframe(rows.slice(0, 24), 1)
  assert.deepEqual(fromNew.unique_id, ['AirPassengers'])
  assert.equal((fromNew.ds as string[])[0], '1951-01-31')
  // getMissingFuture: what a partial futrDf lacks.
  const partial = { unique_id: futr.unique_id.slice(0, 4), ds: (futr.ds as string[]).slice(0, 4) }
  const missing = nf.getMissingFuture(partial)
  assert.deepEqual(missing.unique_id, ['b', 'b'])
  assert.deepEqual(missing.ds, ['1954-02-28', '1954-03-31'])
  assert.equal(nf.getMissingFuture(futr).unique_id.length, 0)
  assert.throws(() => nf.makeFutureDataframe(undefined, 0), RangeError)
  assert.throws(() => nf.makeFutureDataframe(undefined, 1.5 as number), TypeError)
})

test('excludeInsampleY: the forecast comes from the exogenous variables alone, as NeuralForecast', async () => {
  const promo = (i: number) => (Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 1 < 0.5 ? 1 : 0)
  const series = rows.map((r, i) => ({ unique_id: 'S', ds: r.ds, y: 2 + promo(i), promo: promo(i) }))
  const model = new MLP({ ...quick, maxSteps: 800, hiddenSize: 32, futrExogList: ['promo'], scalerType: 'identity', excludeInsampleY: true })
  assert.equal(model.config.excludeInsampleY, true)
  const nf = new NeuralForecast({ models: [model], freq: 'ME' })
  await nf.fit(series.slice(0, -12))
  const futrDf = series.slice(-12).map(({ unique_id, ds, promo }) => ({ unique_id, ds, promo }))
  const fc = (await nf.predict({ futrDf })).MLP as Float64Array
  // Unscaled, the window's values cannot reach the model: another history gives the same forecast.
  const other = series.slice(0, -12).map((r) => ({ ...r, y: r.y * 3 + 7 }))
  assert.deepEqual((await nf.predict({ df: other, futrDf })).MLP, fc)
  const err = mae(fc, series.slice(-12).map((r) => r.y))
  assert.ok(err < 0.25, `the flags alone predict the level: MAE ${err}`)
  // Classes whose NeuralForecast signature has no exclude_insample_y refuse it as unknown; the
  // ones without exogenous inputs refuse true; DeepNPTS has its own message.
  const type = (re: RegExp) => (e: any) => e instanceof TypeError && re.test(e.message)
  assert.throws(() => new NBEATS({ h: 12, inputSize: 24, excludeInsampleY: false } as any), type(/excludeInsampleY/))
  assert.throws(() => new DLinear({ h: 12, inputSize: 24, excludeInsampleY: true as any }), /'excludeInsampleY'/)
  assert.equal(new NHITS({ h: 12, inputSize: 24 }).config.excludeInsampleY, false)
})

test('predict({ h }) beyond the trained horizon, as NeuralForecast: recursive for direct models, stepwise for recurrent ones', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick }), new LSTM({ ...quick, recurrent: true, encoderHiddenSize: 8, decoderHiddenSize: 8 })], freq: 'ME' })
  await nf.fit(train)
  const plain = await nf.predict()
  const long = await nf.predict({ h: 30 })
  assert.equal(long.ds.length, 30)
  assert.deepEqual(long.ds, nf.makeFutureDataframe(null, 30).ds)
  for (const m of ['MLP', 'LSTM']) {
    assert.deepEqual((long[m] as Float64Array).slice(0, 12), plain[m], `${m}: the first 12 steps are the plain forecast`)
    assert.ok((long[m] as Float64Array).every(Number.isFinite))
  }
  await assert.rejects(nf.predict({ h: 11 }), (e: any) => e instanceof RangeError && /'h' \(11\) must be at least .*\(12\)/.test(e.message))
  await assert.rejects(nf.predict({ h: 2.5 } as any), (e: any) => e instanceof TypeError && /'h'/.test(e.message))
  await assert.rejects(nf.predict({ h: 1e12 }), (e: any) => e instanceof RangeError && /'h'/.test(e.message))
})

test('predictInsample: NeuralForecast’s cutoffs and columns, y from the data, a forecast per cutoff', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick })], freq: 'ME' })
  await assert.rejects(nf.predictInsample(), /before fit\(\)/)
  await nf.fit(rows)
  const ins = await nf.predictInsample({ stepSize: 12 })
  assert.deepEqual(Object.keys(ins), ['unique_id', 'ds', 'cutoff', 'MLP', 'y'])
  // 144 months, h 12, every 12: cutoffs before month 1, after month 12, ..., after month 132.
  assert.equal(ins.ds.length, 144)
  assert.deepEqual([ins.cutoff![0], ins.ds[0], ins.cutoff![143], ins.ds[143]], ['1948-12-31', '1949-01-31', '1959-12-31', '1960-12-31'])
  assert.deepEqual(Array.from(ins.y as Float64Array), rows.map((r) => r.y))
  assert.ok((ins.MLP as Float64Array).every(Number.isFinite))
  assert.equal((await nf.predictInsample()).ds.length, 133 * 12, 'stepSize 1 by default')
  await assert.rejects(nf.predictInsample({ stepSize: 0 }), (e: any) => e instanceof RangeError && /'stepSize'/.test(e.message))
  await assert.rejects(nf.predictInsample({ step: 2 } as any), (e: any) => e instanceof TypeError && /'step'/.test(e.message))
})

test('a predict of 400 series (an output buffer handed over, not copied) gives each series its own forecast', async () => {
  // NLinear forecasts from the window minus its last value, so shifting a series by c shifts
  // its forecast by c: series i is AirPassengers plus 10·i.
  const many = Array.from({ length: 400 }, (_, i) => train.map((r) => ({ ...r, unique_id: `S${i}`, y: r.y + 10 * i }))).flat()
  const nf = new NeuralForecast({ models: [new NLinear({ ...quick })], freq: 'ME' })
  await nf.fit(many)
  for (const fc of [await nf.predict(), await nf.predict({ df: many })]) {
    assert.equal(fc.unique_id.length, 4800)
    const f = fc.NLinear as Float64Array
    assert.ok(f instanceof Float64Array && f.length === 4800)
    // Series come back in NeuralForecast's order, sorted by id: S0, S1, S10, S100, ...
    const at = (i: number) => Array.prototype.indexOf.call(fc.unique_id, `S${i}`)
    assert.equal(at(0), 0)
    for (const i of [1, 137, 399]) {
      const r = at(i)
      assert.equal(fc.ds[r + 11], '1960-12-31')
      for (let k = 0; k < 12; k++) assert.ok(Math.abs(f[r + k] - f[k] - 10 * i) < 1e-2, `S${i} step ${k}: ${f[r + k]} vs ${f[k]} + ${10 * i}`)
    }
  }
})

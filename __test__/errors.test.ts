// Bad input never hurts the host: every case is a clear error naming what is wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, NHITS, MLP, LSTM, PatchTST, MAE, MQLoss, DistributionLoss, NeuroDivergentError, ModelFileError } from '../index.js'
import { airPassengers, quick } from './helpers'

const rows = airPassengers()
const nf = () => new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 8 })], freq: 'ME' })

async function rejects(p: Promise<unknown>, kind: Function, pattern: RegExp) {
  await assert.rejects(p, (e: any): boolean => {
    const message = String(e?.message)
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${e?.name}: ${message}`)
    assert.match(message, pattern)
    return true
  })
}

test('NaN and Infinity in y name the row, series and ds', async () => {
  const bad = rows.map((r, i) => (i === 7 ? { ...r, y: NaN } : r))
  await rejects(nf().fit(bad), NeuroDivergentError, /'y' is NaN at row 7 \(series 'AirPassengers', ds 1949-08-31\)/)
  const inf = rows.map((r, i) => (i === 3 ? { ...r, y: Infinity } : r))
  await rejects(nf().fit(inf), NeuroDivergentError, /inf at row 3/)
})

test('wrong types name the column and row', async () => {
  const bad = rows.map((r, i) => (i === 5 ? { ...r, y: '112' as unknown as number } : r))
  await rejects(nf().fit(bad), TypeError, /column 'y' at row 5 must be a number, got the string "112"/)
  await rejects(nf().fit(rows.map((r, i) => (i === 2 ? { ...r, ds: 'yesterday' } : r))), TypeError, /ds at row 2 is not an ISO-8601 date/)
  await rejects(nf().fit('not a frame' as any), TypeError, /array of rows or an object of columns/)
  await rejects(nf().fit({ unique_id: ['a'], ds: [1, 2], y: [1] } as any), TypeError, /'ds' has 2 values but unique_id has 1/)
})

test('empty frames and too-short series', async () => {
  await rejects(nf().fit([]), NeuroDivergentError, /df is empty/)
  await rejects(nf().fit(rows.slice(0, 10)), NeuroDivergentError, /too short/)
})

test('duplicate timestamps and gaps', async () => {
  await rejects(nf().fit([...rows, rows[10]]), NeuroDivergentError, /duplicate timestamps: rows 10 and 144 both have ds 1949-11-30/)
  await rejects(nf().fit(rows.filter((_, i) => i !== 50)), NeuroDivergentError, /gap: after ds 1953-02-28 comes 1953-04-30 .* expected 1953-03-31/)
})

test('unknown options, wrong option types and out-of-range values', () => {
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, inputSzie: 3 } as any), (e: any) => e instanceof TypeError && /unknown option 'inputSzie' \(did you mean 'inputSize'\?\)/.test(e.message))
  assert.throws(() => new NHITS({ h: 12, inputSize: '24' } as any), (e: any) => e instanceof TypeError && /'inputSize' must be a whole number/.test(e.message))
  assert.throws(() => new NHITS({ h: 0, inputSize: 24 }), (e: any) => e instanceof RangeError && /'h' must be >= 1/.test(e.message))
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, learningRate: NaN }), (e: any) => e instanceof RangeError && /learningRate/.test(e.message))
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, scalerType: 'zscore' as any }), (e: any) => e instanceof RangeError && /scalerType/.test(e.message))
  assert.throws(() => new MLP({ inputSize: 24 } as any), (e: any) => e instanceof TypeError && /needs option 'h'/.test(e.message))
  assert.throws(() => new MQLoss({ levels: [80] } as any), (e: any) => e instanceof TypeError && /unknown option 'levels'/.test(e.message))
  assert.throws(() => new MLP({ h: 1, inputSize: 2, loss: new MQLoss({ level: [120] }) }), (e: any) => e instanceof RangeError && /level/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: [new MLP({ h: 1, inputSize: 2 })], freq: 'XX' as any }), (e: any) => e instanceof RangeError && /freq 'XX'/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: [], freq: 'MS' }), TypeError)
  assert.throws(() => new NeuralForecast({ models: [new MLP({ h: 1, inputSize: 2 })], freq: 'MS', extra: 1 } as any), /unknown option 'extra'/)
})

test('bad fit and predict options', async () => {
  await rejects(nf().fit(rows, { valsize: 12 } as any), TypeError, /unknown option 'valsize'/)
  await rejects(nf().fit(rows, { valSize: -1 }), RangeError, /valSize/)
  await rejects(nf().fit(rows, { onProgress: 5 as any }), TypeError, /onProgress/)
  await rejects(nf().predict(), NeuroDivergentError, /before fit/)
})

test('futrDf missing rows or columns', async () => {
  const withX = rows.map((r, i) => ({ ...r, x: i }))
  const m = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 8, futrExogList: ['x'] })], freq: 'ME' })
  await m.fit(withX.slice(0, -12))
  await rejects(m.predict(), NeuroDivergentError, /pass their future values as futrDf/)
  const futr = withX.slice(-12).map(({ unique_id, ds, x }) => ({ unique_id, ds, x }))
  await rejects(m.predict({ futrDf: futr.slice(0, 11) }), NeuroDivergentError, /missing the row for series 'AirPassengers' at ds 1960-12-31/)
  await rejects(m.predict({ futrDf: futr.map(({ unique_id, ds }) => ({ unique_id, ds, z: 1 })) }), NeuroDivergentError, /futrDf has no column 'x'/)
  const noX = new NeuralForecast({ models: [new MLP({ ...quick, histExogList: ['price'] })], freq: 'ME' })
  await rejects(noX.fit(rows), NeuroDivergentError, /column 'price' of histExogList is not in df/)
})

test('corrupted, truncated and missing model files are refused clearly', async () => {
  const m = nf()
  await m.fit(rows)
  const dir = mkdtempSync(join(tmpdir(), 'nd-err-'))
  const path = join(dir, 'm.nd')
  await m.save(path)
  const bytes = readFileSync(path)
  bytes[Math.floor(bytes.length / 2)] ^= 0xff
  writeFileSync(path, bytes)
  await rejects(NeuralForecast.load(path), ModelFileError, /checksum mismatch|corrupted/)
  writeFileSync(path, bytes.subarray(0, 100))
  await rejects(NeuralForecast.load(path), ModelFileError, /corrupted/)
  writeFileSync(path, 'hello')
  await rejects(NeuralForecast.load(path), ModelFileError, /not a valid neuro-divergent model file/)
  await rejects(NeuralForecast.load(join(dir, 'nope.nd')), NeuroDivergentError, /cannot read model file/)
})

test('model-specific option errors name the option', () => {
  assert.throws(() => new PatchTST({ h: 12, inputSize: 24, hiddenSize: 30, nHeads: 16 }), (e: any) => e instanceof RangeError && /'hiddenSize' \(30\) must be divisible by 'nHeads' \(16\)/.test(e.message))
  assert.throws(() => new PatchTST({ h: 12, inputSize: 8, patchLen: 16 }), (e: any) => e instanceof RangeError && /patchLen/.test(e.message))
  for (const [option, kind] of [['futrExogList', 'future'], ['histExogList', 'historical'], ['statExogList', 'static']]) {
    assert.throws(() => new PatchTST({ h: 12, inputSize: 24, [option]: ['x'] }), (e: any) => e instanceof TypeError && new RegExp(`PatchTST does not support ${kind} exogenous variables \\(option '${option}'`).test(e.message))
  }
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, mlpUnits: [[64, 32], [64, 64]] }), (e: any) => e instanceof RangeError && /'mlpUnits': layer 1 takes 64 inputs but layer 0 gives 32 outputs/.test(e.message))
  assert.throws(() => new LSTM({ h: 12, inputSize: 24, encoderHiddenSize: 0 }), (e: any) => e instanceof RangeError && /encoderHiddenSize/.test(e.message))
  assert.throws(() => new LSTM({ h: 12, inputSize: 24, recurrent: true, hTrain: 0 }), (e: any) => e instanceof RangeError && /'hTrain'/.test(e.message))
  assert.throws(() => new MLP({ h: 1, inputSize: 2, loss: new DistributionLoss({ distribution: 'Cauchy' as any }) }), (e: any) => e instanceof RangeError && /distribution/.test(e.message))
})

/** A small integer-indexed series as a columns frame. */
const columns = (n = 40) => ({
  unique_id: Array.from({ length: n }, () => 'a'),
  ds: Array.from({ length: n }, (_, i) => i),
  y: Array.from({ length: n }, (_, i) => Math.sin(i / 3)),
})
const small = () => new NeuralForecast({ models: [new MLP({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 3 })], freq: 1 })

test('columns frames: wrong types name the column and row', async () => {
  const c = columns()
  await rejects(small().fit({ ...c, y: c.y.map((v, i) => (i === 7 ? ('x' as unknown as number) : v)) }), TypeError, /column 'y' at row 7 must be a number, got the string "x"/)
  await rejects(small().fit({ ...c, unique_id: c.unique_id.map((v, i) => (i === 3 ? (null as unknown as string) : v)) }), TypeError, /unique_id at row 3 must be a string or a number, got null/)
  // A column a model reads must be numeric (one no model reads is ignored, as in NeuralForecast).
  const withPrice = new NeuralForecast({ models: [new MLP({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 3, histExogList: ['price'] })], freq: 1 })
  await rejects(withPrice.fit({ ...c, price: c.y.map((v, i) => (i === 4 ? 'cheap' : v)) } as any), TypeError, /column 'price' at row 4 must be a number/)
  await rejects(small().fit({ unique_id: c.unique_id, ds: c.ds } as any), TypeError, /column 'y' is missing/)
  await rejects(small().fit({ ...c, y: Float64Array.from(c.y, (v, i) => (i === 9 ? NaN : v)) }), NeuroDivergentError, /'y' is NaN at row 9 \(series 'a', ds 9\)/)
  await rejects(small().fit({ unique_id: [], ds: [], y: [] }), NeuroDivergentError, /df is empty/)
})

test('unsorted rows are allowed (sorted by unique_id, ds); duplicate timestamps are errors', async () => {
  const c = columns()
  const order = c.ds.map((_, i) => i).reverse()
  const shuffled = { unique_id: order.map((i) => c.unique_id[i]), ds: order.map((i) => c.ds[i]), y: order.map((i) => c.y[i]) }
  const a = small()
  await a.fit(shuffled)
  assert.deepEqual(Array.from((await a.predict()).ds as Float64Array), [40, 41, 42, 43])
  await rejects(small().fit({ unique_id: [...c.unique_id, 'a'], ds: [...c.ds, 5], y: [...c.y, 0] }), NeuroDivergentError, /duplicate timestamps: rows 5 and 40 both have ds 5/)
})

test('bad freq values are refused when NeuralForecast is built', () => {
  const m = () => [new MLP({ h: 1, inputSize: 2 })]
  for (const freq of [0, -1, NaN, Infinity]) {
    assert.throws(() => new NeuralForecast({ models: m(), freq }), (e: any) => e instanceof RangeError && /'freq'/.test(e.message), `freq ${freq}`)
  }
  assert.throws(() => new NeuralForecast({ models: m(), freq: {} as any }), (e: any) => e instanceof TypeError && /'freq'/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: m() } as any), TypeError)
  assert.throws(() => new NeuralForecast({ models: m(), freq: '2XX' as any }), RangeError)
})

test('dates with a numeric freq are a TypeError', async () => {
  await rejects(small().fit(rows), TypeError, /ds holds dates but freq is the number 1/)
})

test('localScalerType: validated, and refused until the engine supports it', () => {
  const m = () => [new MLP({ h: 1, inputSize: 2 })]
  assert.doesNotThrow(() => new NeuralForecast({ models: m(), freq: 1, localScalerType: null }))
  assert.throws(() => new NeuralForecast({ models: m(), freq: 1, localScalerType: 'zscore' as any }), (e: any) => e instanceof RangeError && /localScalerType/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: m(), freq: 1, localScalerType: 'standard' }), (e: any) => e instanceof RangeError && /not supported yet/.test(e.message))
})

test('bad crossValidation and predict options', async () => {
  await rejects(small().crossValidation(columns(), { nWindows: 0 }), RangeError, /'nWindows' must be >= 1/)
  await rejects(small().crossValidation(columns(), { nWindows: 20, stepSize: 4 }), NeuroDivergentError, /too few for 20 cross-validation windows/)
  await rejects(small().crossValidation(columns(), { refit: 'yes' as any }), TypeError, /'refit' must be true or false/)
  await rejects(small().predict({ futr: 1 } as any), TypeError, /unknown option 'futr'/)
  await rejects(small().fit(columns(), { signal: {} as any }), TypeError, /'signal' must be an AbortSignal/)
  await rejects(NeuralForecast.load('' as any), TypeError, /file path/)
  await rejects(NeuralForecast.load(tmpdir()), NeuroDivergentError, /cannot read model file/)
})

test('validLoss pairs NeuralForecast refuses throw at construction, naming validLoss', () => {
  const normal = () => new DistributionLoss({ distribution: 'Normal', level: [80] })
  const refused: Array<[() => unknown, new (...args: any[]) => Error, RegExp]> = [
    [() => new MLP({ h: 4, inputSize: 8, loss: new MQLoss(), validLoss: new MAE() }), TypeError, /please set validLoss to MQLoss\(\) when training with MQLoss/],
    [() => new MLP({ h: 4, inputSize: 8, validLoss: normal() }), TypeError, /validation with distribution loss DistributionLoss is not possible when using loss=MAE/],
    [() => new MLP({ h: 4, inputSize: 8, loss: normal(), validLoss: new DistributionLoss({ distribution: 'StudentT', level: [80] }) }), TypeError, /must be the training loss itself/],
    [() => new MLP({ h: 4, inputSize: 8, loss: new MQLoss({ level: [80] }), validLoss: new MQLoss({ level: [90] }) }), NeuroDivergentError, /same level or quantiles/],
  ]
  for (const [make, kind, pattern] of refused) {
    assert.throws(make, (e: any) => e instanceof kind && /'validLoss'/.test(e.message) && pattern.test(e.message))
  }
})

test('validLoss pairs NeuralForecast supports validate (a different output count used to panic)', async () => {
  const normal = () => new DistributionLoss({ distribution: 'Normal', level: [80], numSamples: 50 })
  const pairs = [
    { loss: new MAE(), validLoss: new MQLoss({ level: [80] }) },
    { loss: normal(), validLoss: new MAE() },
    { loss: normal(), validLoss: new MQLoss({ level: [80] }) },
  ]
  for (const pair of pairs) {
    const vals: number[] = []
    const m = new NeuralForecast({ models: [new MLP({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 2, valCheckSteps: 1, ...pair })], freq: 1 })
    await m.fit(columns(), { valSize: 4, onProgress: (e) => e.valLoss != null && vals.push(e.valLoss) })
    assert.ok(vals.length > 0 && vals.every(Number.isFinite), `${pair.loss.constructor.name} / ${pair.validLoss.constructor.name}: ${vals}`)
  }
})

test('a distribution model whose parameters overflow forecasts NaN instead of crashing or hanging', async () => {
  // History spanning f32's range: the minmax scale (max - min) overflows to infinity and so does
  // the Poisson rate anchored on it, where the sampler's rejection loop would never end.
  const c = columns()
  const counts = { ...c, y: c.y.map((v) => Math.round(5 * (1 + v))) }
  const huge = { ...c, y: c.y.map((_, i) => (i % 2 ? 3e38 : -3e38)) }
  const poisson = new DistributionLoss({ distribution: 'Poisson', numSamples: 10 })
  const m = new NeuralForecast({ models: [new MLP({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 1, scalerType: 'minmax', loss: poisson })], freq: 1 })
  await m.fit(counts)
  assert.ok((await m.predict()).MLP!.every(Number.isFinite))
  const fc = await m.predict({ df: huge })
  assert.ok((fc.MLP as Float64Array).some(Number.isNaN), String(fc.MLP))
})

test('values whose toString throws or is not a function, and revoked proxies, are named, not converted (fuzzing found these)', () => {
  const m = () => [new MLP({ h: 1, inputSize: 2 })]
  const revoked = Proxy.revocable({}, {})
  revoked.revoke()
  for (const freq of [{ toString: 'QS' }, Object.create(null), { toString() { throw new Error('no') } }, revoked.proxy]) {
    assert.throws(() => new NeuralForecast({ models: m(), freq: freq as any }), (e: any) => e instanceof TypeError && /option 'freq' must be a string .* got an object/.test(e.message))
  }
  assert.throws(() => new NeuralForecast({ models: m(), freq: 1, holidays: 5n as any }), (e: any) => e instanceof TypeError && /got the bigint 5n/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: m(), freq: 1, holidays: undefined, threads: new Int32Array(1) as any }), (e: any) => e instanceof TypeError && /got an Int32Array/.test(e.message))
})

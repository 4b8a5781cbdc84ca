// Bad input never hurts the host: every case is a clear error naming what is wrong.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { writeFileSync, readFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, NHITS, MLP, LSTM, PatchTST, MQLoss, DistributionLoss, NeuroDivergentError, ModelFileError } from '../index.js'
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
  assert.throws(() => new NHITS({ h: 12, inputSize: 24, inputSzie: 3 } as any), (e: any) => e instanceof TypeError && /unknown option 'inputSzie'; did you mean 'inputSize'\?/.test(e.message))
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
  assert.throws(() => new PatchTST({ h: 12, inputSize: 24, histExogList: ['x'] }), /does not use exogenous/)
  assert.throws(() => new LSTM({ h: 12, inputSize: 24, encoderHiddenSize: 0 }), (e: any) => e instanceof RangeError && /encoderHiddenSize/.test(e.message))
  assert.throws(() => new LSTM({ h: 12, inputSize: 24, recurrent: true as any }), (e: any) => e instanceof RangeError && /recurrent/.test(e.message))
  assert.throws(() => new MLP({ h: 1, inputSize: 2, loss: new DistributionLoss({ distribution: 'Cauchy' as any }) }), (e: any) => e instanceof RangeError && /distribution/.test(e.message))
})

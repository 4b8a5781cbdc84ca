// What a trading user hits first: exchange holidays, weekly bars, UTC timestamps, and messages
// that name the real problem.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, MLP, LSTM, MAE, NeuroDivergentError } from '../index.js'

const tiny = { h: 5, inputSize: 10, maxSteps: 3, hiddenSize: 8, numLayers: 1, windowsBatchSize: 16 }
const DAY = 86_400_000
const iso = (t: number) => new Date(t).toISOString().slice(0, 10)

// NYSE closures in the first half of 2023 (and July 4th, inside the forecast horizon).
const NYSE_2023 = ['2023-01-02', '2023-01-16', '2023-02-20', '2023-04-07', '2023-05-29', '2023-06-19', '2023-07-04']

/** Daily bars like /work/shared/data/stocks_daily_6.csv: trading days only, OHLCV beside y. */
function stocks(ids: string[], from: string, to: string, closed: string[]) {
  const rows: { unique_id: string; ds: string; y: number; [column: string]: string | number }[] = []
  ids.forEach((id, k) => {
    let price = 100 + 50 * k
    for (let t = Date.parse(from); t <= Date.parse(to); t += DAY) {
      const wd = new Date(t).getUTCDay()
      if (wd === 0 || wd === 6 || closed.includes(iso(t))) continue
      price *= 1 + 0.01 * Math.sin(rows.length * 0.7 + k)
      rows.push({ unique_id: id, ds: iso(t), y: price, open: price * 0.99, volume: 1e6 + rows.length, sector: 'tech' })
    }
  })
  return rows
}

const bars = stocks(['AAPL', 'NVDA'], '2023-01-03', '2023-06-30', NYSE_2023)

test("freq 'B' with exchange holidays: real rows only, forecasts dated on trading days", async () => {
  // Without the list, the first holiday is a gap; the message points at 'holidays'.
  const plain = new NeuralForecast({ models: [new MLP(tiny)], freq: 'B' })
  await assert.rejects(plain.fit(bars), (e: any) => /has a gap: after ds 2023-01-13 comes 2023-01-17/.test(e.message) && /'holidays'/.test(e.message))
  const nf = new NeuralForecast({ models: [new MLP({ ...tiny, loss: new MAE() })], freq: 'B', holidays: NYSE_2023 })
  await nf.fit(bars) // the unused 'sector' strings and 'open'/'volume' columns are ignored
  const fc = await nf.predict()
  // Friday June 30th, then Monday July 3rd, not the 4th (a holiday), then Wednesday to Monday.
  assert.deepEqual(fc.ds.slice(0, 5), ['2023-07-03', '2023-07-05', '2023-07-06', '2023-07-07', '2023-07-10'])
  assert.deepEqual(fc.unique_id, [...Array(5).fill('AAPL'), ...Array(5).fill('NVDA')])
  // A row on a listed holiday is refused by name.
  const onHoliday = [...bars.slice(0, 5), { ...bars[5], ds: '2023-01-16' }]
  await assert.rejects(nf.fit(onHoliday.filter((r) => r.unique_id === 'AAPL')), /2023-01-16.*'holidays'/)
  // Holidays and the model objects survive save/load.
  const path = join(mkdtempSync(join(tmpdir(), 'nd-trading-')), 'spy.nd')
  await nf.save(path)
  const again = await NeuralForecast.load(path)
  assert.deepEqual(await again.predict(), fc)
  assert.equal(again.models.length, 1)
  assert.ok(again.models[0] instanceof MLP)
  assert.equal(again.models[0].h, 5)
  assert.ok(again.models[0].options.loss instanceof MAE)
  assert.deepEqual(again.models[0].config, nf.models[0].config)
  assert.throws(() => new NeuralForecast({ models: [new MLP(tiny)], freq: 'D', holidays: ['2023-01-02'] }), (e: any) => e instanceof TypeError && /'holidays' needs a business-day freq/.test(e.message))
  assert.throws(() => new NeuralForecast({ models: [new MLP(tiny)], freq: 'B', holidays: ['01/02/2023'] }), TypeError)
})

test("anchored weekly freqs: 'W-FRI' bars forecast on Fridays; a day off the anchor is named", async () => {
  const fridays = Array.from({ length: 40 }, (_, i) => ({ unique_id: 'SPY', ds: iso(Date.UTC(2023, 0, 6) + 7 * i * DAY), y: 400 + Math.sin(i) }))
  const nf = new NeuralForecast({ models: [new MLP(tiny)], freq: 'W-FRI' })
  await nf.fit(fridays)
  const fc = await nf.predict()
  assert.deepEqual(fc.ds, ['2023-10-13', '2023-10-20', '2023-10-27', '2023-11-03', '2023-11-10'])
  const sunday = fridays.map((r, i) => (i === 3 ? { ...r, ds: '2023-01-29' } : r))
  await assert.rejects(nf.fit(sunday), /ds 2023-01-29 \(row 3\) is a Sunday, but freq 'W-FRI' has Fridays only/)
  // pandas' 'W' is 'W-SUN': Friday bars with 'W' are refused with the right alias.
  await assert.rejects(new NeuralForecast({ models: [new MLP(tiny)], freq: 'W' }).fit(fridays), /is a Friday.*use 'W-FRI'/)
  const biweekly = fridays.filter((_, i) => i % 2 === 0)
  const fc2 = await new NeuralForecast({ models: [new MLP({ ...tiny, h: 2 })], freq: '2W-FRI' }).fit(biweekly).then(() => 0)
  assert.equal(fc2, 0)
})

test('ds strings: ISO-8601 only, and a Z in the input stays in the output', async () => {
  const hourly = (fmt: (t: number) => string) => Array.from({ length: 40 }, (_, i) => ({ unique_id: 'fx', ds: fmt(Date.UTC(2023, 0, 1) + i * 3_600_000), y: Math.sin(i) }))
  const fit = async (rows: object[]) => {
    const nf = new NeuralForecast({ models: [new MLP({ ...tiny, h: 2 })], freq: 'h' })
    await nf.fit(rows as any)
    return (await nf.predict()).ds
  }
  assert.deepEqual(await fit(hourly((t) => new Date(t).toISOString().replace('.000', ''))), ['2023-01-02T16:00:00Z', '2023-01-02T17:00:00Z'])
  assert.deepEqual(await fit(hourly((t) => new Date(t).toISOString().slice(0, 19))), ['2023-01-02T16:00:00', '2023-01-02T17:00:00'])
  // An offset names an instant too: it comes back in UTC, with Z.
  assert.deepEqual(await fit(hourly((t) => new Date(t + 7_200_000).toISOString().slice(0, 19) + '+02:00')), ['2023-01-02T16:00:00Z', '2023-01-02T17:00:00Z'])
  // Years below 100 are those years (Date.UTC alone reads 0050 as 1950).
  const ancient = Array.from({ length: 40 }, (_, i) => ({ unique_id: 'fx', ds: `0050-01-${String(1 + (i % 20)).padStart(2, '0')}T${String(i < 20 ? 0 : 12).padStart(2, '0')}:00`, y: Math.sin(i) }))
  ancient.sort((a, b) => (a.ds < b.ds ? -1 : 1))
  const nf12 = new NeuralForecast({ models: [new MLP({ ...tiny, h: 2 })], freq: '12h' })
  await nf12.fit(ancient)
  assert.deepEqual((await nf12.predict()).ds, ['0050-01-21T00:00:00', '0050-01-21T12:00:00'])
  const nf = new NeuralForecast({ models: [new MLP(tiny)], freq: 'D' })
  for (const bad of ['01/02/2023', '13/01/2023', '2023-02-31', '2023-1-5', 'Jan 5 2023']) {
    const rows = Array.from({ length: 30 }, (_, i) => ({ unique_id: 'a', ds: i === 4 ? bad : iso(Date.UTC(2023, 0, 1) + i * DAY), y: i }))
    await assert.rejects(nf.fit(rows), (e: any) => e instanceof TypeError && e.message.includes(`ds at row 4 is not an ISO-8601 date ('YYYY-MM-DD'`) && e.message.includes(JSON.stringify(bad)), bad)
  }
})

test('messages name the real problem', async (t) => {
  const nf = () => new NeuralForecast({ models: [new MLP(tiny)], freq: 'D' })
  // Local-midnight Dates in Berlin around the DST change of 2023-03-26, as `new Date(2023, 2, d)` makes them there.
  const berlin = Array.from({ length: 30 }, (_, i) => ({ unique_id: 'a', ds: new Date(Date.UTC(2023, 2, 10 + i) - (10 + i >= 27 ? 2 : 1) * 3_600_000), y: i }))
  await assert.rejects(nf().fit(berlin), (e: any) => /daylight-saving/.test(e.message) && /Date\.UTC/.test(e.message) && !/check freq/.test(e.message))
  const daily = Array.from({ length: 30 }, (_, i) => ({ unique_id: 'a', ds: iso(Date.UTC(2023, 0, 1) + i * DAY), y: i }))
  await assert.rejects(new NeuralForecast({ models: [new MLP(tiny)], freq: 'h' }).fit(daily), (e: any) => /never steps by one freq 'h'/.test(e.message) && !/gap/.test(e.message))
  await assert.rejects(new NeuralForecast({ models: [new MLP({ ...tiny, inputSize: 40 })], freq: 'D' }).fit(daily), /the longest has 30 points; with inputSize 40 a series needs at least 41/)
  // h longer than the series: trained as NeuralForecast does, with a warning that says so.
  const warnings: string[] = []
  const onWarning = (w: Error) => warnings.push(w.message)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  await new NeuralForecast({ models: [new MLP({ ...tiny, h: 50 })], freq: 'D' }).fit(daily)
  await new Promise((r) => setImmediate(r))
  assert.ok(warnings.some((w) => /series 'a' has 30 points, fewer than the 60 that MLP needs for one training window with a full horizon \(inputSize 10 \+ h 50\)/.test(w)), warnings.join('\n'))
  // A recurrent model's training window is inputSize + 1 points before hTrain targets, not h.
  warnings.length = 0
  const lstm = { h: 30, inputSize: 10, maxSteps: 2, encoderHiddenSize: 4, decoderHiddenSize: 4, recurrent: true }
  await new NeuralForecast({ models: [new LSTM({ ...lstm, hTrain: 25 })], freq: 'D' }).fit(daily)
  await new NeuralForecast({ models: [new LSTM({ ...lstm, hTrain: 1, alias: 'short' })], freq: 'D' }).fit(daily)
  await new Promise((r) => setImmediate(r))
  assert.ok(warnings.some((w) => /fewer than the 36 that LSTM needs .*\(inputSize 10 \+ 1 \+ hTrain 25\)/.test(w)), warnings.join('\n'))
  assert.ok(!warnings.some((w) => /short needs/.test(w)), warnings.join('\n'))
  // save before fit writes nothing.
  const path = join(mkdtempSync(join(tmpdir(), 'nd-unfit-')), 'm.nd')
  await assert.rejects(nf().save(path), (e: any) => e instanceof NeuroDivergentError && /save\(\) before fit\(\)/.test(e.message))
  assert.equal(existsSync(path), false)
  // Typos get the closest known name.
  assert.throws(() => new MLP({ h: 5, imputSize: 10 } as any), (e: any) => e instanceof TypeError && e.message.includes("unknown option 'imputSize' (did you mean 'inputSize'?)"))
  assert.throws(() => new NeuralForecast({ models: [new MLP(tiny)], freqq: 'D' } as any), (e: any) => e.message.includes("unknown option 'freqq' (did you mean 'freq'?)"))
  await assert.rejects(nf().crossValidation(daily, { nWindow: 2 } as any), (e: any) => e.message.includes("(did you mean 'nWindows'?)"))
  // A non-numeric column no model reads is ignored; one a model reads is still checked.
  const withText = daily.map((r) => ({ ...r, note: 'text' }))
  await nf().fit(withText)
  await assert.rejects(new NeuralForecast({ models: [new MLP({ ...tiny, histExogList: ['note'] })], freq: 'D' }).fit(withText), TypeError)
})

test("crossValidation's testSize is NeuralForecast's alternative to nWindows", async () => {
  const daily = Array.from({ length: 60 }, (_, i) => ({ unique_id: 'a', ds: iso(Date.UTC(2023, 0, 1) + i * DAY), y: Math.sin(i / 3) }))
  const cv = (opts: object) => new NeuralForecast({ models: [new MLP({ ...tiny, randomSeed: 3 })], freq: 'D' }).crossValidation(daily, opts)
  const byTest = await cv({ testSize: 9, stepSize: 2 })
  assert.deepEqual(byTest, await cv({ nWindows: 3, stepSize: 2 }))
  assert.deepEqual([...new Set(byTest.cutoff as string[])], ['2023-02-20', '2023-02-22', '2023-02-24'])
  await assert.rejects(cv({ testSize: 9, nWindows: 3 }), (e: any) => e instanceof TypeError && /'nWindows' or 'testSize', not both/.test(e.message))
  await assert.rejects(cv({ testSize: 8, stepSize: 2 }), (e: any) => e instanceof RangeError && /must be divisible by 'stepSize'/.test(e.message))
  await assert.rejects(cv({ testSize: 4 }), (e: any) => e instanceof RangeError && /must be >= h \(5\)/.test(e.message))
})

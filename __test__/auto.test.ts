// Auto* models: the search spaces, the local search (random and TPE), its refit, results,
// reproducibility, abort, save/load, and every class's default space against its model's options.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as nd from '../index.js'
import { NeuralForecast, MLP, AutoMLP, AutoNHITS, AbortError, choice, uniform, loguniform, quniform, randint } from '../index.js'
import { airPassengers, lastYearWithMonth, tinyMlpSpace as space } from './helpers'

const { Rng } = require('../lib/space.js')
const tpe = require('../lib/tpe.js')

const strip = (results: { fitSeconds: number }[]) => results.map(({ fitSeconds, ...rest }) => rest)

test('samplers keep Ray Tune semantics: bounds, q rounding, randint excluding its upper bound', () => {
  const rng = new Rng(7)
  const draws = (d: any, n = 2000) => Array.from({ length: n }, () => d.sample(rng))
  const u = draws(uniform(-2, 3))
  assert.ok(u.every((v) => v >= -2 && v < 3) && Math.min(...u) < -1.9 && Math.max(...u) > 2.9)
  const l = draws(loguniform(1e-4, 1e-1))
  assert.ok(l.every((v) => v >= 1e-4 && v <= 1e-1))
  assert.ok(l.filter((v) => v < 1e-3).length > 500, 'log-uniform: a third of the draws per decade')
  const q = draws(quniform(430, 1520, 100))
  assert.deepEqual([...new Set(q)].sort((a, b) => a - b), [500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500])
  assert.ok(draws(quniform(0, 1, 0.1)).every((v) => Math.round(v * 10) / 10 === v), 'no float noise: 0.3, not 0.30000000000000004')
  const r = draws(randint(1, 4))
  assert.deepEqual([...new Set(r)].sort(), [1, 2, 3])
  assert.deepEqual([...new Set(draws(choice(['a', [1, 2]])).map(String))].sort(), ['1,2', 'a'])
  // TPE past its startup trials stays inside each domain too.
  const domains = { a: quniform(500, 1500, 100), b: randint(1, 4), c: loguniform(1e-4, 1e-1), d: choice([8, 16]) }
  const history = Array.from({ length: 12 }, (_, i) => {
    const params = Object.fromEntries(Object.entries(domains).map(([k, d]) => [k, (d as any).sample(rng)]))
    return { trial: i, params, domains, loss: params.c }
  })
  for (let i = 0; i < 50; i++) {
    const a = tpe.suggest('a', domains.a, history, rng)
    const b = tpe.suggest('b', domains.b, history, rng)
    const c = tpe.suggest('c', domains.c, history, rng)
    assert.ok(a % 100 === 0 && a >= 500 && a <= 1500 && [1, 2, 3].includes(b) && c >= 1e-4 && c <= 1e-1 && [8, 16].includes(tpe.suggest('d', domains.d, history, rng)))
  }
  // TPE learns: the loss here is c itself, so its suggestions lean to small c.
  const cs = Array.from({ length: 200 }, () => tpe.suggest('c', domains.c, history, rng))
  assert.ok(cs.filter((v) => v < 1e-3).length > 100, 'most TPE draws in the best third')
  assert.throws(() => choice([]), TypeError)
  assert.throws(() => uniform(2, 1), RangeError)
  assert.throws(() => loguniform(0, 1), RangeError)
  assert.throws(() => quniform(0, 1, 0), RangeError)
  assert.throws(() => quniform(0.1, 0.2, 1), /no multiple/)
  assert.throws(() => randint(1.5, 3), TypeError)
  assert.throws(() => randint(3, 3), RangeError)
})

const MULTIVARIATE = ['AutoiTransformer', 'AutoStemGNN', 'AutoTSMixer', 'AutoTSMixerx', 'AutoMLPMultivariate']
const autoNames = Object.keys(nd).filter((k) => /^Auto[A-Zi]/.test(k) && k !== 'Autoformer')

test('every Auto class constructs with its default space, whose every option its model accepts', () => {
  assert.equal(autoNames.length, 26)
  for (const name of autoNames) {
    const Class = (nd as any)[name]
    const nSeries = MULTIVARIATE.includes(name) ? { nSeries: 3 } : {}
    const auto = new Class({ h: 12, ...nSeries })
    assert.equal(auto.alias, name)
    const base = (nd as any)[auto.baseClassName]
    // The lowest value of each entry (h 24: PatchTST's patchLen 16 must fit the shortest inputSize).
    const lowest = (d: any) => (d?.kind === 'choice' ? d.categories[0] : d?.kind === 'quniform' ? d.qlower : d?.kind ? d.lower : d)
    const config = Object.fromEntries(Object.entries(Class.getDefaultConfig({ h: 24, ...nSeries })).map(([k, d]) => [k, lowest(d)]))
    const model = new base({ ...config, h: 24 })
    assert.equal(model.className, auto.baseClassName, name)
    assert.ok('inputSizeMultiplier' in Class.defaultConfig, `${name}.defaultConfig keeps NF's multipliers`)
  }
  assert.throws(() => new AutoMLP({ h: 12, numSample: 4 } as any), /unknown option 'numSample'.*numSamples/)
  assert.throws(() => new AutoMLP({ h: 12, config: { ...space, hidenSize: 8 } as any }), (e: any) => e instanceof TypeError && /config.*hidenSize/.test(e.message))
  assert.throws(() => new AutoMLP({ h: 12, config: { ...space, h: 6 } as any }), /'h' as the AutoMLP option 'h'/)
  assert.throws(() => new AutoMLP({ h: 12, config: { maxSteps: 5 } }), /inputSize/, 'NF: config must give the required inputSize')
  assert.throws(() => new AutoMLP({ h: 12, searchAlg: 'grid' } as any), RangeError)
  assert.throws(() => new AutoMLP({ h: 12, numSamples: 0 }), RangeError)
  assert.throws(() => new AutoMLP({ h: 12, cpus: 1.5 }), TypeError)
  assert.throws(() => new (nd as any).AutoTSMixer({ h: 12 }), /nSeries/)
  assert.throws(() => new AutoMLP({ h: 12, nSeries: 2 } as any), /nSeries/)
})

test('a search finds a config better than its worst, refits it on all the data, and forecasts under its name', async () => {
  const df = airPassengers()
  const auto = new AutoMLP({ h: 12, numSamples: 6, config: space, randomSeed: 3 })
  const events: any[] = []
  const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
  await nf.fit(df, { valSize: 12, onProgress: (e) => events.push(e) })
  const r = auto.results
  assert.equal(r.length, 6)
  assert.deepEqual(r.map((t) => t.trial).sort(), [0, 1, 2, 3, 4, 5])
  for (let i = 1; i < r.length; i++) assert.ok(r[i - 1].validLoss <= r[i].validLoss, 'best first')
  assert.ok(r.every((t) => Number.isFinite(t.validLoss) && t.fitSeconds > 0 && typeof t.config.inputSize === 'number'))
  assert.ok(r[0].validLoss < r[r.length - 1].validLoss)
  // Trial events are labelled by the Auto's name and their trial; the refit's are plain fit events.
  assert.deepEqual([...new Set(events.filter((e) => e.trial !== undefined).map((e) => e.trial))].sort(), [0, 1, 2, 3, 4, 5])
  assert.ok(events.every((e) => e.model === 'AutoMLP'))
  // The refit is the best config fitted on every point (refitWithVal false), named as the Auto.
  assert.deepEqual({ ...auto.model!.options, h: undefined }, { ...r[0].config, alias: 'AutoMLP', h: undefined })
  const fc = await nf.predict()
  assert.deepEqual(Object.keys(fc), ['unique_id', 'ds', 'AutoMLP'])
  const alone = new NeuralForecast({ models: [new MLP({ ...(r[0].config as any), h: 12, alias: 'AutoMLP' })], freq: 'ME' })
  await alone.fit(df)
  assert.deepEqual(fc, await alone.predict())
  // Save and load: the Auto comes back as its best model under the Auto's name, as NF does.
  const path = join(mkdtempSync(join(tmpdir(), 'nd-auto-')), 'auto')
  await nf.save(path)
  const again = await NeuralForecast.load(path)
  assert.deepEqual(await again.predict(), fc)
  assert.equal(again.models[0].className, 'MLP')
  assert.equal(again.models[0].alias, 'AutoMLP')
})

test('the same seed gives the same search (random and TPE, past its startup trials); another seed another', async () => {
  const df = airPassengers()
  const search = async (searchAlg: 'random' | 'tpe', randomSeed: number, numSamples: number) => {
    const auto = new AutoMLP({ h: 12, numSamples, config: { ...space, maxSteps: 10 }, searchAlg, randomSeed })
    await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
    return strip(auto.results)
  }
  const tpeRun = await search('tpe', 5, 13)
  assert.equal(tpeRun.length, 13)
  assert.deepEqual(await search('tpe', 5, 13), tpeRun)
  assert.deepEqual(await search('random', 5, 4), await search('random', 5, 4))
  assert.notDeepEqual(await search('random', 6, 4), await search('random', 5, 4))
  // A config function (Optuna's style) with TPE.
  const fn = new AutoMLP({
    h: 12,
    numSamples: 4,
    searchAlg: 'tpe',
    config: (trial: any) => ({ ...space, maxSteps: 10, inputSize: trial.suggestCategorical('inputSize', [12, 24]), learningRate: trial.suggestFloat('learningRate', 1e-3, 1e-1, { log: true }) }),
  })
  await new NeuralForecast({ models: [fn], freq: 'ME' }).fit(df, { valSize: 12 })
  assert.ok(fn.results.every((t) => [12, 24].includes(t.config.inputSize as number)))
})

test('an AbortSignal stops the search: fit rejects, the finished trials stay in results, nothing is committed', async () => {
  const auto = new AutoNHITS({ h: 12, numSamples: 6, config: { inputSize: 24, maxSteps: 400, mlpUnits: [[8, 8], [8, 8], [8, 8]], windowsBatchSize: 16, learningRate: loguniform(1e-3, 1e-2) } })
  const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
  const controller = new AbortController()
  const fit = nf.fit(airPassengers(), { valSize: 12, signal: controller.signal, onProgress: (e) => e.trial === 2 && controller.abort() })
  await assert.rejects(fit, AbortError)
  assert.ok(auto.results.length < 6, `${auto.results.length} trials`)
  assert.equal(auto.model, null)
  await assert.rejects(nf.predict(), /fit/)
})

test('beside an Auto model, other models keep fit\'s valSize while the Auto refits on every point', async () => {
  const df = airPassengers()
  const plain = { h: 12, inputSize: 24, hiddenSize: 8, numLayers: 1, maxSteps: 20, windowsBatchSize: 32, scalerType: 'standard' as const }
  const auto = new AutoMLP({ h: 12, numSamples: 2, config: space })
  const nf = new NeuralForecast({ models: [auto, new MLP({ ...plain, alias: 'plain' })], freq: 'ME' })
  await nf.fit(df, { valSize: 24 })
  const fc = await nf.predict()
  const alone = new NeuralForecast({ models: [new MLP({ ...plain, alias: 'plain' })], freq: 'ME' })
  await alone.fit(df, { valSize: 24 })
  assert.deepEqual(fc.plain, (await alone.predict()).plain)
  const best = new NeuralForecast({ models: [new MLP({ ...(auto.results[0].config as any), h: 12, alias: 'AutoMLP' })], freq: 'ME' })
  await best.fit(df)
  assert.deepEqual(fc.AutoMLP, (await best.predict()).AutoMLP)
  await assert.rejects(nf.crossValidation(df), /crossValidation does not search/)
  // refitWithVal keeps the search's hold-out in the refit (valSize 0 holds out h, as NF).
  const withVal = new AutoMLP({ h: 12, numSamples: 2, config: space, refitWithVal: true })
  const nf2 = new NeuralForecast({ models: [withVal], freq: 'ME' })
  await nf2.fit(df)
  const held = new NeuralForecast({ models: [new MLP({ ...(withVal.results[0].config as any), h: 12, alias: 'AutoMLP' })], freq: 'ME' })
  await held.fit(df, { valSize: 12 })
  assert.deepEqual(await nf2.predict(), await held.predict())
})

test("scheduler 'asha' stops poor trials at their validation checks and still ranks every trial", async () => {
  const auto = new AutoMLP({ h: 12, numSamples: 6, scheduler: 'asha', config: { ...space, maxSteps: 60, valCheckSteps: 5 } })
  await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(airPassengers(), { valSize: 12 })
  const r = auto.results
  assert.equal(r.length, 6)
  const stopped = r.filter((t) => t.stoppedAtStep !== undefined)
  assert.ok(stopped.length >= 1 && stopped.every((t) => t.error === undefined && t.stoppedAtStep! % 5 === 0 && t.stoppedAtStep! < 60 && Number.isFinite(t.validLoss)), JSON.stringify(r))
  for (let i = 1; i < r.length; i++) assert.ok(r[i - 1].validLoss <= r[i].validLoss)
  assert.throws(() => new AutoMLP({ h: 12, scheduler: 'hyperband' } as any), /scheduler/)
})

test('a trial that fails is recorded with its error and the search goes on; an error of the data ends it', async () => {
  const df = airPassengers()
  // inputSize 200 leaves no training window in 132 points: those trials fail, the others rank.
  const auto = new AutoMLP({ h: 12, numSamples: 4, config: { ...space, inputSize: choice([24, 200]) }, randomSeed: 2 })
  await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
  const failed = auto.results.filter((t) => t.error)
  assert.ok(failed.length >= 1 && failed.length < 4, JSON.stringify(auto.results))
  assert.ok(failed.every((t) => t.config.inputSize === 200 && Number.isNaN(t.validLoss) && /too short|training window/.test(t.error!)))
  assert.ok(auto.results.slice(0, 4 - failed.length).every((t) => t.error === undefined), 'failures last')
  const wrongFreq = new AutoMLP({ h: 12, numSamples: 6, config: space })
  await assert.rejects(new NeuralForecast({ models: [wrongFreq], freq: 'D' }).fit(df), /check freq/)
  assert.ok(wrongFreq.results.length <= 2, 'the search stopped at the first round')
})

test('exogenous lists searched over: every listed column is read, and the best model forecasts with its own', async () => {
  const { train, futrDf } = lastYearWithMonth()
  const auto = new AutoMLP({ h: 12, numSamples: 4, config: { ...space, futrExogList: choice([[], ['month']]) }, randomSeed: 1 })
  const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
  await nf.fit(train, { valSize: 12 })
  assert.deepEqual(new Set(auto.results.map((t) => JSON.stringify(t.config.futrExogList))), new Set(['[]', '["month"]']))
  const fc = await nf.predict({ futrDf })
  assert.equal(fc.AutoMLP!.length, 12)
  assert.deepEqual(auto.model!.config.futrExogList, auto.results[0].config.futrExogList)
})

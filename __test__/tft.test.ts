// TFT as a user calls it: it learns AirPassengers (with a future exogenous column), repeats with
// a seed, saves and loads exactly; NeuralForecast's defaults and constructor errors, naming the
// option; the GRU variant and the dummy future input (no future exogenous) forecast too.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, TFT } from '../index.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { lastYearWithMonth, learnsRepeatsRoundTrips, quick } from './helpers'
const { link } = require('../lib/explain.js')

const { train, futrDf, truth, seasonalNaive } = lastYearWithMonth()
const small = { h: 12, inputSize: 24, maxSteps: 150, windowsBatchSize: 64, learningRate: 3e-3, scalerType: 'standard' as const, hiddenSize: 16, nHead: 2, futrExogList: ['month'] }

test('TFT learns AirPassengers, repeats with a seed and saves/loads exactly', () =>
  learnsRepeatsRoundTrips({ name: 'TFT', make: (seed) => new TFT({ ...small, randomSeed: seed }), train, truth, bound: seasonalNaive, predict: { futrDf } }))

test('TFT: NeuralForecast’s defaults and constructor errors, naming the option', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  const c = new TFT({ h: 12, inputSize: 24 }).config
  assert.deepEqual(
    [c.hiddenSize, c.nHead, c.attnDropout, c.dropout, c.grnActivation, c.nRnnLayers, c.rnnType, c.oneRnnInitialState, c.scalerType, c.maxSteps, c.learningRate],
    [128, 4, 0, 0.1, 'ELU', 1, 'lstm', false, 'robust', 1000, 1e-3],
  )
  assert.equal(new TFT({ h: 12, inputSize: 24, rnnType: 'GRU' as any }).config.rnnType, 'gru')
  assert.throws(() => new TFT({ h: 12, inputSize: 24, hiddenSize: 10, nHead: 4 }), range(/'hiddenSize'.*'nHead'/))
  assert.throws(() => new TFT({ h: 12, inputSize: 24, rnnType: 'rnn' as any }), range(/'rnnType'/))
  assert.throws(() => new TFT({ h: 12, inputSize: 24, grnActivation: 'GLU' as any }), range(/'grnActivation'/))
})

test('TFT with a GRU and no future exogenous column forecasts; the future column reaches the forecast', async () => {
  const nf = new NeuralForecast({
    models: [
      new TFT({ ...quick, hiddenSize: 8, nHead: 2, rnnType: 'gru', nRnnLayers: 2, alias: 'gru' }),
      new TFT({ ...quick, hiddenSize: 8, nHead: 2, futrExogList: ['month'], alias: 'futr' }),
    ],
    freq: 'ME',
  })
  await nf.fit(train as any)
  const fc = await nf.predict({ futrDf } as any)
  const shifted = await nf.predict({ futrDf: futrDf.map((r) => ({ ...r, month: r.month + 5 })) } as any)
  assert.ok((fc.gru as Float64Array).every(Number.isFinite))
  assert.ok((fc.futr as Float64Array).every(Number.isFinite))
  assert.notDeepEqual(shifted.futr, fc.futr)
})

// NeuralForecast's interpretability methods on the tiny TFTs of scripts/tft_reference.py: their
// batch-mean weights, labelled and reshaped by us, against what its methods returned.
const reference = JSON.parse(readFileSync(join(__dirname, '../src/models/tft_reference.json'), 'utf8'))
const referenceOptions: Record<string, object> = {
  lstm: { nRnnLayers: 2, futrExogList: ['a', 'b'], histExogList: ['c'], statExogList: ['s', 't'] },
  gru: { rnnType: 'gru', nRnnLayers: 2, oneRnnInitialState: true, histExogList: ['c'], statExogList: ['s', 't'], grnActivation: 'GELU' },
  plain: {},
}

/** The engine's explanation JSON for NeuralForecast's recorded batch of 2. */
function explanationOf(r: any, model: TFT) {
  const batchMean = (v: number[]) => Array.from({ length: v.length / 2 }, (_, i) => (v[i] + v[i + v.length / 2]) / 2)
  const c = model.config as any
  const nPast = (c.histExogList?.length ?? 0) + Math.max(c.futrExogList?.length ?? 0, 1) + 1
  const i = r.interpretability
  const e: any = {
    history_vsn: { shape: [5, nPast], mean: batchMean(i.history_vsn_wgts) },
    attention: { shape: [2, 8, 8], mean: batchMean(i.attn_wts) },
  }
  if (c.futrExogList?.length) e.future_vsn = { shape: [3, c.futrExogList.length], mean: batchMean(i.future_vsn_wgts) }
  if (c.statExogList?.length) e.static_vsn = { shape: [c.statExogList.length], mean: batchMean(i.static_encoder_sparse_weights) }
  return JSON.stringify(e)
}

test('TFT interpretability: featureImportances, attentionWeights and correlations are NeuralForecast’s', () => {
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
    assert.equal(a.length, b.length, what)
    for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) < 1e-5, `${what}[${k}]: ours ${a[k]}, NeuralForecast ${b[k]}`)
  }
  for (const [name, extra] of Object.entries(referenceOptions)) {
    const r = reference[name]
    const tft = new TFT({ h: 3, inputSize: 5, hiddenSize: 4, nHead: 2, dropout: 0.3, ...extra } as any)
    link(tft, () => explanationOf(r, tft))
    const ours = tft.featureImportances()
    const theirs = r.feature_importances
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort(), name)
    // Without future variables NeuralForecast labels its past inputs [.., observed_target,
    // repeated_target] while feeding [.., repeated, observed]: the same columns, names swapped.
    const nfName = (col: string) => ((tft.config as any).futrExogList?.length ? col : ({ repeated_target: 'observed_target', observed_target: 'repeated_target' } as any)[col] ?? col)
    for (const part of ['Past variable importance over time', 'Future variable importance over time'] as const) {
      if (!ours[part]) continue
      for (const [col, v] of Object.entries(ours[part]!)) close(v, theirs[part][nfName(col)], `${name} ${part} ${col}`)
    }
    if (ours['Static covariates']) {
      assert.deepEqual(ours['Static covariates'].variable, theirs['Static covariates'].index)
      close(ours['Static covariates'].importance, theirs['Static covariates'].importance, `${name} static`)
    }
    tft.attentionWeights().forEach((row, k) => close(row, r.attention_weights[k], `${name} attention row ${k}`))
    const corr = tft.featureImportanceCorrelations()
    const cols = Object.keys(corr).filter((k) => k !== 'variable')
    for (const col of cols) {
      const nf = r.feature_importance_correlations[nfName(col)]
      const order = corr.variable.map((v) => Object.keys(r.feature_importance_correlations).indexOf(nfName(v)))
      const expected = order.map((k: number) => nf[k] ?? NaN)
      ;(corr[col] as Float64Array).forEach((v, k) => assert.ok(Object.is(v, expected[k]) || Math.abs(v - expected[k]) < 1e-9, `${name} correlation ${col}/${corr.variable[k]}: ours ${v}, NeuralForecast ${expected[k]}`))
    }
  }
})

test('TFT interpretability after fit and predict: weights are distributions, attention is causal, none before a predict', async () => {
  const tft = new TFT({ ...quick, hiddenSize: 8, nHead: 2, futrExogList: ['month'], alias: 'tft' })
  const nf = new NeuralForecast({ models: [tft], freq: 'ME' })
  await nf.fit(train as any)
  assert.throws(() => tft.featureImportances(), /tft\.featureImportances\(\): no interpretability outputs yet; make a prediction/)
  await nf.predict({ futrDf } as any)
  const past = tft.featureImportances()['Past variable importance over time']
  assert.deepEqual(Object.keys(past), ['month', 'observed_target'])
  for (let t = 0; t < 24; t++) assert.ok(Math.abs(past.month[t] + past.observed_target[t] - 1) < 1e-5)
  const future = tft.featureImportances()['Future variable importance over time']!
  assert.ok(future.month.length === 12 && future.month.every((v) => Math.abs(v - 1) < 1e-6))
  const att = tft.attentionWeights()
  assert.equal(att.length, 36)
  att.forEach((row, i) => {
    assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, `row ${i} sums to 1`)
    for (let j = i + 1; j < 36; j++) assert.equal(row[j], 0, `step ${i} does not attend to the later step ${j}`)
  })
  assert.deepEqual(tft.featureImportanceCorrelations().variable, ['month', 'observed_target', 'Correlation with Mean Attention'])
})

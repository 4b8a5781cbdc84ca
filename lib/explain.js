'use strict'
// TFT's interpretability outputs, as NeuralForecast's TFT methods give them after a prediction:
// `feature_importances()`, `attention_weights()` and `feature_importance_correlations()`. The
// engine averages the recorded weights over the windows of the model's last predict; this file
// only labels and reshapes them.

const LAST = Symbol('lastExplanation')

/** Points `model` at what explains its last predict (read lazily, so the latest predict wins). */
function link(model, read) {
  Object.defineProperty(model, LAST, { value: read, configurable: true, writable: true })
}

function explanation(model, method) {
  const read = model[LAST]
  const e = read && JSON.parse(read())
  if (!e || !e.history_vsn) {
    throw new Error(`${model.alias}.${method}(): no interpretability outputs yet; make a prediction with the model (await nf.predict()) to generate them`)
  }
  return e
}

/** Rows of a row-major `[rows, cols]` mean as one Float64Array per column, keyed by `names`. */
function columns(part, names) {
  const [rows, cols] = part.shape
  const out = {}
  names.forEach((name, c) => {
    const col = new Float64Array(rows)
    for (let r = 0; r < rows; r++) col[r] = part.mean[r * cols + c]
    out[name] = col
  })
  return out
}

/**
 * The past inputs in the order the history VSN weighs them: historic exogenous, future exogenous
 * (or, without any, the repeated last value NeuralForecast feeds in their place), the target.
 * NeuralForecast's labels put 'observed_target' before 'repeated_target', which is not the order of
 * its own inputs; these follow the inputs.
 */
function pastNames(config) {
  const futr = config.futrExogList ?? []
  return [...(config.histExogList ?? []), ...(futr.length ? futr : ['repeated_target']), 'observed_target']
}

function featureImportances(model) {
  const e = explanation(model, 'featureImportances')
  const c = model.config
  const out = { 'Past variable importance over time': columns(e.history_vsn, pastNames(c)) }
  if (e.future_vsn) out['Future variable importance over time'] = columns(e.future_vsn, c.futrExogList)
  if (e.static_vsn) {
    const order = (c.statExogList ?? []).map((name, i) => ({ name, importance: e.static_vsn.mean[i] })).sort((a, b) => a.importance - b.importance)
    out['Static covariates'] = { variable: order.map((v) => v.name), importance: Float64Array.from(order, (v) => v.importance) }
  }
  return out
}

/** `[T, T]`, T = inputSize + h: the attention of each step (row) on each step (column), averaged over heads. */
function attentionWeights(model) {
  const { shape, mean } = explanation(model, 'attentionWeights').attention
  const [heads, t] = shape
  const rows = []
  for (let i = 0; i < t; i++) {
    const row = new Float64Array(t)
    for (let hd = 0; hd < heads; hd++) for (let j = 0; j < t; j++) row[j] += mean[(hd * t + i) * t + j] / heads
    rows.push(row)
  }
  return rows
}

/** Ranks with ties at their average rank, as pandas' Spearman correlation takes them. */
function ranks(values) {
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b])
  const out = new Float64Array(values.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j++
    for (let k = i; k <= j; k++) out[order[k]] = (i + j) / 2 + 1
    i = j + 1
  }
  return out
}

function pearson(a, b) {
  const n = a.length
  const ma = a.reduce((s, v) => s + v, 0) / n
  const mb = b.reduce((s, v) => s + v, 0) / n
  let sab = 0
  let saa = 0
  let sbb = 0
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb)
    saa += (a[i] - ma) ** 2
    sbb += (b[i] - mb) ** 2
  }
  return sab / Math.sqrt(saa * sbb) // NaN for a constant column, as in pandas
}

/**
 * Spearman correlations, rounded to 2 decimals, between the past variables' importances over the
 * input steps and the attention the horizon pays to each input step (NeuralForecast's
 * `feature_importance_correlations`): `variable` names the rows, one column per variable.
 */
function featureImportanceCorrelations(model) {
  const past = featureImportances(model)['Past variable importance over time']
  const att = attentionWeights(model)
  const l = model.config.inputSize
  const meanAttention = new Float64Array(l)
  for (let i = l; i < att.length; i++) for (let j = 0; j < l; j++) meanAttention[j] += att[i][j] / (att.length - l)
  const cols = { ...past, 'Correlation with Mean Attention': meanAttention }
  const names = Object.keys(cols)
  const r = Object.fromEntries(names.map((n) => [n, ranks(cols[n])]))
  const out = { variable: names }
  for (const a of names) out[a] = Float64Array.from(names, (b) => Math.round(pearson(r[b], r[a]) * 100) / 100)
  return out
}

module.exports = { link, featureImportances, attentionWeights, featureImportanceCorrelations }

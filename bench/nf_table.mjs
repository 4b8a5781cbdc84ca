// Turns harness.jsonl into a markdown table: the mean MAE over seeds (what the issues' accuracy
// criteria compare), then medians over seeds of every metric, ours and NeuralForecast's, and ratios.
import { readFileSync } from 'node:fs'

const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined)
const cell = (a, b, d, r = 2) => `${a?.toFixed(d) ?? '-'} / ${b?.toFixed(d) ?? '-'} (${a && b ? (a / b).toFixed(r) : '-'})`
const groups = new Map()
for (const r of rows) {
  const k = `${r.dataset}|${r.model}`
  if (!groups.has(k)) groups.set(k, { ours: [], neuralforecast: [] })
  groups.get(k)[r.impl].push(r)
}
const metrics = [['mae', 'MAE', 3], ['smape', 'sMAPE %', 2], ['fit_s', 'fit s', 2], ['s_per_step', 's/step', 4], ['single_predict_ms', '1-series predict ms', 3], ['peak_rss_mb', 'peak RSS MB', 0]]
console.log(`| dataset | model | seeds | mean MAE ours / NF (ratio) | ${metrics.map(([, n]) => `${n} ours / NF (ratio), medians`).join(' | ')} |`)
console.log(`|---|---|---|---|${metrics.map(() => '---').join('|')}|`)
for (const [k, g] of groups) {
  const [dataset, model] = k.split('|')
  const cells = metrics.map(([m, , d]) => cell(median(g.ours.map((r) => r[m])), median(g.neuralforecast.map((r) => r[m])), d))
  const meanMae = cell(mean(g.ours.map((r) => r.mae)), mean(g.neuralforecast.map((r) => r.mae)), 3, 3)
  console.log(`| ${dataset} | ${model} | ${g.ours.length} | ${meanMae} | ${cells.join(' | ')} |`)
}

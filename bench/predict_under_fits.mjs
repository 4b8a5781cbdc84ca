// Latency of one-series predicts on an idle object while N fits train on other objects, and of an
// fs.readFile meanwhile (issue 18 item 7: predicts used to queue behind fits once the fits reached
// the number of cores, and fits held libuv's threads, which file reads need).
//
//   node bench/predict_under_fits.mjs [--fits 0,1,2,4] [--calls 50]
//
// Prints, per number of concurrent fits: median / p95 / worst predict in ms, the readFile time,
// and the fits' training throughput (steps per second, summed over the fits).
import { readFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, NHITS, MLP } from '../index.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const fitCounts = arg('fits', '0,1,2,4').split(',').map(Number)
const calls = Number(arg('calls', 50))

const csvPath = fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url))
const rows = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1).map((l) => {
  const [unique_id, ds, y] = l.split(',')
  return { unique_id, ds, y: Number(y) }
})
const nf = new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 20 })], freq: 'ME' })
await nf.fit(rows)
const one = rows.slice(-48)
for (let i = 0; i < 20; i++) await nf.predict({ df: one })

const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]
for (const n of fitCounts) {
  const ac = new AbortController()
  const steps = Array(n).fill(0)
  const fits = Array.from({ length: n }, (_, i) =>
    new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24, mlpUnits: [[64, 64], [64, 64], [64, 64]], windowsBatchSize: 64, maxSteps: 10_000_000 })], freq: 'ME' })
      .fit(rows, { signal: ac.signal, onProgress: (e) => (steps[i] = e.step) })
      .catch(() => {}),
  )
  await new Promise((r) => setTimeout(r, 500))
  const s0 = steps.reduce((a, b) => a + b, 0)
  const t0 = performance.now()
  const times = []
  for (let i = 0; i < calls; i++) {
    const t = performance.now()
    await nf.predict({ df: one })
    times.push(performance.now() - t)
  }
  const r0 = performance.now()
  await readFile(csvPath)
  const readMs = performance.now() - r0
  const elapsed = (performance.now() - t0) / 1000
  const rate = (steps.reduce((a, b) => a + b, 0) - s0) / elapsed
  ac.abort()
  await Promise.all(fits)
  console.log(`${n} fits: predict median ${q(times, 0.5).toFixed(2)} ms, p95 ${q(times, 0.95).toFixed(2)} ms, worst ${Math.max(...times).toFixed(2)} ms; readFile ${readMs.toFixed(2)} ms; fits ${rate.toFixed(0)} steps/s in total`)
}

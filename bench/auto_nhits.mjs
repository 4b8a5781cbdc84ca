// AutoNHITS with 20 TPE trials on AirPassengers: ours with cpus 1 (two trials at once on two
// cores) against ours with cpus 2 (one trial at a time on two threads, as NeuralForecast's Ray
// backend reserves every core per trial), ours with scheduler 'asha', and optionally NeuralForecast's AutoNHITS with its
// Optuna backend (TPESampler, trials one at a time, torch on 2 threads) on the same space and data.
// Per seed: wall time of the search and refit, the best trial's validation MAE, and the refit's
// MAE on the held-out last year. Prints a Markdown table.
//
//   nice node bench/auto_nhits.mjs                          # ours, seeds 1 2 3, 20 trials
//   nice node bench/auto_nhits.mjs --nf                     # and NeuralForecast (needs optuna in /work/nfenv)
//   node bench/auto_nhits.mjs --seeds 1 --samples 4         # a quick look
//
// The space is NeuralForecast's AutoNHITS default_config with its costliest entries cut so that
// 3 seeds × 20 trials × 3 runs fit in minutes on two shared cores: MLPs of 128 units (NF: 512)
// and maxSteps quniform(100, 300, 100) (NF: 500-1500). Not part of npm test.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, AutoNHITS, choice, loguniform, quniform, randint } from '../index.mjs'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i < 0 ? fallback : process.argv[i + 1]
}
const seeds = arg('seeds', '1,2,3').split(',').map(Number)
const numSamples = Number(arg('samples', '20'))
const withNf = process.argv.includes('--nf')

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})
const h = 12
const train = rows.slice(0, -h)
const test = rows.slice(-h)

const config = {
  inputSize: choice([1, 2, 3, 4, 5].map((k) => k * h)),
  stepSize: choice([1, h]),
  nPoolKernelSize: choice([[2, 2, 1], [1, 1, 1], [2, 2, 2], [4, 4, 4], [8, 4, 1], [16, 8, 1]]),
  nFreqDownsample: choice([[168, 24, 1], [24, 12, 1], [180, 60, 1], [60, 8, 1], [40, 20, 1], [1, 1, 1]]),
  learningRate: loguniform(1e-4, 1e-1),
  scalerType: choice(['identity', 'robust', 'standard']),
  maxSteps: quniform(100, 300, 100),
  batchSize: choice([32, 64, 128, 256]),
  windowsBatchSize: choice([128, 256, 512, 1024]),
  randomSeed: randint(1, 20),
  mlpUnits: [[128, 128], [128, 128], [128, 128]],
}

async function ours(seed, cpus, scheduler) {
  // ASHA decides at validation checks: every 25 steps here (NF's default 100 would give it one).
  const space = scheduler === 'asha' ? { ...config, valCheckSteps: 25 } : config
  const auto = new AutoNHITS({ h, numSamples, searchAlg: 'tpe', cpus, randomSeed: seed, config: space, scheduler })
  const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
  const started = performance.now()
  await nf.fit(train, { valSize: h })
  const seconds = (performance.now() - started) / 1000
  const fc = await nf.predict()
  const mae = test.reduce((s, r, i) => s + Math.abs(r.y - fc.AutoNHITS[i]), 0) / h
  return { seconds, bestValid: auto.results[0].validLoss, testMae: mae, failed: auto.results.filter((r) => r.error).length, stopped: auto.results.filter((r) => r.stoppedAtStep !== undefined).length }
}

function nf(seed) {
  const out = execFileSync('/work/nfenv/bin/python', [fileURLToPath(new URL('./auto_nhits_nf.py', import.meta.url)), String(seed), String(numSamples)], {
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 26,
  })
  return JSON.parse(out.toString().trim().split('\n').pop())
}

const runs = []
for (const seed of seeds) {
  runs.push({ who: 'ours, cpus 1 (2 trials at once)', seed, ...(await ours(seed, 1)) })
  runs.push({ who: 'ours, cpus 2 (1 trial at a time)', seed, ...(await ours(seed, 2)) })
  runs.push({ who: "ours, cpus 1, scheduler 'asha'", seed, ...(await ours(seed, 1, 'asha')) })
  if (withNf) runs.push({ who: "NeuralForecast, Optuna TPE (1 at a time)", seed, ...nf(seed) })
  console.error(runs.slice(withNf ? -4 : -3))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`| run | seed | wall s | best trial's validation MAE | refit's test MAE | failed / stopped trials |`)
console.log(`|---|---|---|---|---|---|`)
for (const r of runs) console.log(`| ${r.who} | ${r.seed} | ${r.seconds.toFixed(1)} | ${r.bestValid.toFixed(2)} | ${r.testMae.toFixed(2)} | ${r.failed} / ${r.stopped ?? '-'} |`)
for (const who of [...new Set(runs.map((r) => r.who))]) {
  const mine = runs.filter((r) => r.who === who)
  console.log(`| ${who} | median | ${median(mine.map((r) => r.seconds)).toFixed(1)} | ${median(mine.map((r) => r.bestValid)).toFixed(2)} | ${median(mine.map((r) => r.testMae)).toFixed(2)} | |`)
}

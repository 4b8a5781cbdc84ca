// Training precision side by side: each model fitted on AirPassengers (all but the last 12 months)
// with '32-true', 'bf16-mixed' and '16-mixed' at the same seed; the test-year MAE, the fit's wall
// time and the peak RSS of a process that did nothing but that fit.
//
//   node scripts/precision.mjs [--models MLP,NHITS,LSTM,PatchTST] [--steps 300] [--threads 1]
//                              [--seeds 1] [--sizes default|small]
//
// With several seeds the MAE is the mean of the per-seed MAEs (each precision at the same seeds:
// one seed's test MAE moves by several percent from seed to seed in f32 alone), the time the
// mean fit. `--sizes small` takes __test__/precision.test.ts's models (MLP hiddenSize 64 with 200
// steps, NHITS with 64-unit MLPs and 300 steps; --steps is ignored).
//
// Each (model, precision) runs in a child process of its own, so its peak RSS is that fit's
// (resourceUsage().maxRSS, which includes the addon and the frame: compare rows, not absolutes).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : fallback
}
const precisions = ['32-true', 'bf16-mixed', '16-mixed']
// Sizes as the README's AirPassengers examples; LSTM narrower so that it stays quick.
const sizes = {
  default: {
    MLP: { hiddenSize: 1024 },
    NHITS: {},
    LSTM: { encoderHiddenSize: 128, decoderHiddenSize: 128 },
    PatchTST: { hiddenSize: 64, nHeads: 4 },
  },
  small: {
    MLP: { hiddenSize: 64, maxSteps: 200, numLrDecays: 3, windowsBatchSize: 64 },
    NHITS: { mlpUnits: [[64, 64], [64, 64], [64, 64]], maxSteps: 300, windowsBatchSize: 64 },
  },
}

async function one(name, precision, steps, seed, size) {
  const nd = await import('../index.mjs')
  const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
  const rows = csv.trim().split('\n').slice(1).map((l) => {
    const [unique_id, ds, y] = l.split(',')
    return { unique_id, ds, y: Number(y) }
  })
  const [train, test] = [rows.slice(0, -12), rows.slice(-12)]
  const model = new nd[name]({ h: 12, inputSize: 24, maxSteps: steps, scalerType: 'standard', windowsBatchSize: 128, randomSeed: seed, precision, ...sizes[size][name] })
  const nf = new nd.NeuralForecast({ models: [model], freq: 'ME' })
  const t0 = process.hrtime.bigint()
  await nf.fit(train)
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  const fc = (await nf.predict())[name]
  const mae = test.reduce((s, r, i) => s + Math.abs(fc[i] - r.y), 0) / test.length
  return { mae, seconds, rssMiB: process.resourceUsage().maxRSS / 1024 }
}

if (process.argv.includes('--one')) {
  const i = process.argv.indexOf('--one')
  const [name, precision, steps, seed, size] = process.argv.slice(i + 1)
  const r = await one(name, precision, Number(steps), Number(seed), size)
  process.stdout.write(JSON.stringify(r))
} else {
  const names = arg('models', 'MLP,NHITS,LSTM,PatchTST').split(',')
  const steps = Number(arg('steps', 300))
  const threads = arg('threads', '1')
  const seeds = arg('seeds', '1').split(',')
  const size = arg('sizes', 'default')
  const env = { ...process.env, RAYON_NUM_THREADS: threads }
  console.log(`AirPassengers, h 12, inputSize 24, ${size} sizes, ${size === 'small' ? '' : `${steps} steps, windowsBatchSize 128, `}seeds ${seeds}, ${threads} thread(s); load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`)
  console.log('| model | precision | MAE | vs f32 | fit s | vs f32 | peak RSS MiB |')
  console.log('|---|---|---|---|---|---|---|')
  for (const name of names) {
    let base
    for (const precision of precisions) {
      const runs = seeds.map((seed) => JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--one', name, precision, String(steps), seed, size], { env }).toString()))
      const mean = (key) => runs.reduce((s, r) => s + r[key], 0) / runs.length
      const r = { mae: mean('mae'), seconds: mean('seconds'), rssMiB: Math.max(...runs.map((r) => r.rssMiB)) }
      base ??= r
      const pct = (a, b) => `${a >= b ? '+' : ''}${(100 * (a / b - 1)).toFixed(1)}%`
      console.log(`| ${name} | ${precision} | ${r.mae.toFixed(2)} | ${pct(r.mae, base.mae)} | ${r.seconds.toFixed(2)} | ${(r.seconds / base.seconds).toFixed(2)}x | ${r.rssMiB.toFixed(0)} |`)
    }
  }
}

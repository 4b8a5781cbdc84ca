// Queue backend throughput: an AutoMLP search of N tiny trials through BullMQ to 2 local worker
// processes, against the same search on the local backend (2 trials at once). Reports trials/s,
// each trial's fit time on its worker, and the per-trial overhead of the queue: the worker time
// not spent fitting, (workers × wall − Σ fit) / N. Starts its own redis-server (or REDIS_URL).
//
// Each side runs 3 times, alternating; the run of median wall time is reported.
//
//   node bench/queue_throughput.mjs [N=200] [maxSteps=20]
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, AutoMLP, randint } from '../index.mjs'
import { BullMQBackend, runTrialWorker } from '../queue.mjs'
import { startRedis, connectionOf } from '../examples/redis_server.mjs'

const QUEUE = 'nd-bench'
const WORKERS = 2

if (process.argv[2] === 'worker') {
  const controller = new AbortController()
  process.on('SIGTERM', () => controller.abort())
  await runTrialWorker({ connection: connectionOf(process.env.REDIS_URL), queue: QUEUE, signal: controller.signal })
  process.exit(0)
}

const n = Number(process.argv[2] ?? 200)
const maxSteps = Number(process.argv[3] ?? 20)
const children = []
let url = process.env.REDIS_URL
if (!url) {
  const redis = await startRedis()
  children.push({ kill: redis.stop })
  url = redis.url
}
for (let i = 0; i < WORKERS; i++) children.push(spawn(process.execPath, [fileURLToPath(import.meta.url), 'worker'], { env: { ...process.env, REDIS_URL: url }, stdio: 'inherit' }))

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const df = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})
// Every trial the same size; only its seed is drawn.
const config = { inputSize: 24, hiddenSize: 16, numLayers: 1, maxSteps, windowsBatchSize: 32, scalerType: 'standard', randomSeed: randint(1, 1000) }

async function search(numSamples, backend) {
  const auto = new AutoMLP({ h: 12, numSamples, config, ...(backend ? { backend } : {}) })
  const started = performance.now()
  await new NeuralForecast({ models: [auto], freq: 'ME' }).fit(df, { valSize: 12 })
  const wall = (performance.now() - started) / 1000
  const fit = auto.results.reduce((s, r) => s + r.fitSeconds, 0)
  return { wall, fit, perSecond: numSamples / wall, meanFitMs: (fit / numSamples) * 1000, overheadMs: ((WORKERS * wall - fit) / numSamples) * 1000 }
}

const backend = new BullMQBackend({ connection: connectionOf(url), queue: QUEUE })
try {
  await search(8, backend) // warm-up: the workers load the addon and connect
  const runs = { queued: [], local: [] }
  for (let rep = 0; rep < 3; rep++) {
    runs.queued.push(await search(n, backend))
    runs.local.push(await search(n))
  }
  const median = (xs) => xs.sort((a, b) => a.wall - b.wall)[1]
  const queued = median(runs.queued)
  const local = median(runs.local)
  const f = (v, d = 1) => v.toFixed(d)
  console.log(`${n} AutoMLP trials of ${maxSteps} steps on AirPassengers (search and one refit), ${WORKERS} workers, median of 3`)
  console.log(`queue (BullMQ, ${WORKERS} worker processes): ${f(queued.wall, 2)} s, ${f(queued.perSecond)} trials/s, fit ${f(queued.meanFitMs)} ms a trial on its worker, overhead ${f(queued.overheadMs)} ms a trial`)
  console.log(`local (${WORKERS} trials at once):             ${f(local.wall, 2)} s, ${f(local.perSecond)} trials/s, fit ${f(local.meanFitMs)} ms a trial, overhead ${f(local.overheadMs)} ms a trial`)
} finally {
  await backend.close()
  for (const c of children) c.kill('SIGTERM')
}

// Auto* search on a queue: this process coordinates (draws the configs, ranks the trials, refits
// the best) and worker processes fit the trials, here two on this machine; on a cluster, run
// `node examples/queue_search.mjs worker` on every worker machine with the same REDIS_URL.
// Needs: npm install bullmq ioredis, and Redis (REDIS_URL) or a local redis-server to start.
//
//   node examples/queue_search.mjs                                   # starts redis-server and 2 workers
//   REDIS_URL=redis://10.0.0.5:6379 node examples/queue_search.mjs worker   # a worker machine
//   REDIS_URL=redis://10.0.0.5:6379 WORKERS=0 node examples/queue_search.mjs # the coordinator alone
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, AutoNHITS, choice, loguniform } from '../index.mjs'
import { BullMQBackend, runTrialWorker } from '../queue.mjs'
import { startRedis, connectionOf } from './redis_server.mjs'

const QUEUE = 'nd-example'

if (process.argv[2] === 'worker') {
  // A worker: fits trials until SIGTERM or Ctrl-C, then finishes the running one and exits.
  const controller = new AbortController()
  for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => controller.abort())
  await runTrialWorker({ connection: connectionOf(process.env.REDIS_URL), queue: QUEUE, signal: controller.signal })
  process.exit(0)
}

const children = []
let url = process.env.REDIS_URL
if (!url) {
  const redis = await startRedis() // none given: a throwaway one
  children.push({ kill: redis.stop })
  url = redis.url
}
const workers = Number(process.env.WORKERS ?? 2)
for (let i = 0; i < workers; i++) {
  children.push(spawn(process.execPath, [fileURLToPath(import.meta.url), 'worker'], { env: { ...process.env, REDIS_URL: url }, stdio: 'inherit' }))
}

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})
const train = rows.slice(0, -12)
const test = rows.slice(-12)

const backend = new BullMQBackend({ connection: connectionOf(url), queue: QUEUE })
try {
  const auto = new AutoNHITS({
    h: 12,
    numSamples: 8,
    backend,
    config: {
      inputSize: choice([24, 36]),
      maxSteps: 100,
      learningRate: loguniform(1e-4, 1e-2),
      scalerType: 'robust',
      windowsBatchSize: 128,
      mlpUnits: [[64, 64], [64, 64], [64, 64]],
    },
  })
  const nf = new NeuralForecast({ models: [auto], freq: 'ME' })
  const started = performance.now()
  const done = new Set()
  await nf.fit(train, {
    valSize: 12,
    onProgress: (e) => {
      if (e.trial !== undefined && e.step === e.maxSteps && !done.has(e.trial)) done.add(e.trial) && console.log(`trial ${e.trial} done (${done.size}/8)`)
    },
  })
  console.log(`search of ${auto.results.length} trials on ${workers} workers and refit: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  for (const r of auto.results) console.log(`trial ${r.trial}: validation MAE ${r.validLoss.toFixed(2)} (${r.fitSeconds.toFixed(2)} s on its worker)`)
  const fc = await nf.predict()
  const mae = test.reduce((s, r, i) => s + Math.abs(r.y - fc.AutoNHITS[i]), 0) / test.length
  console.log(`best config's MAE on 1960: ${mae.toFixed(2)}`)
} finally {
  await backend.close()
  for (const c of children) c.kill('SIGTERM')
}

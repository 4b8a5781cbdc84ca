// One rank of bench/allreduce.mjs's step timing: a data-parallel fit of MLP at NeuralForecast's
// default size (2 layers of 1024) on eight scaled copies of AirPassengers, the same frame on every
// rank; rank 0 prints {"ranks", "threads", "steps", "ms_per_step"} (the fit's wall time over its steps).
import { readFileSync } from 'node:fs'
import { NeuralForecast, MLP } from '../index.mjs'
import { mpiWorld } from '../lib/distributed.js'

const steps = Number(process.env.STEPS ?? 40)
const threads = Number(process.env.THREADS ?? 1)
const world = mpiWorld()
const air = readFileSync(new URL('../data/air_passengers.csv', import.meta.url), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
const df = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => air.map(([, ds, y]) => ({ unique_id: `s${k}`, ds, y: Number(y) * (1 + 0.25 * k) })))
const nf = new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: steps, scalerType: 'standard' })], freq: 'ME', threads })
await nf.fit(df, { maxSteps: 2, world }) // warm-up: pools, allocations, MPI connections
const t = performance.now()
await nf.fit(df, { world })
const ms = performance.now() - t
if (world.rank === 0) console.log(JSON.stringify({ ranks: world.size, threads, steps, ms_per_step: +(ms / steps).toFixed(2) }))

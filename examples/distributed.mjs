// Data-parallel training over MPI: two processes train one MLP on AirPassengers, each computing
// half of every batch, and end with the same model. Needs the MPI build (`npm run build:mpi`).
//
//   mpirun -n 2 node examples/distributed.mjs         (as root: mpirun --allow-run-as-root ...)
//   node examples/distributed.mjs                     (a world of one: a plain fit)
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, MLP } from '../index.mjs'
import { mpiWorld } from 'neuro-divergent/distributed'

const world = mpiWorld()
const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
const rows = csv.trim().split('\n').slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',')
  return { unique_id, ds, y: Number(y) }
})

const nf = new NeuralForecast({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 100, scalerType: 'standard' })], freq: 'ME' })
// Every rank the same frame: batchSize/windowsBatchSize are the global batch, split over ranks.
// With each rank's own series instead: nf.fit(myRows, { world, sharded: true }).
// For a job its launcher may restart, add { checkpointEvery: 20, checkpointPath: 'run.ckpt',
// resume: true }: rank 0 writes the file, and the restarted job resumes every rank from it.
await nf.fit(rows, { world, valSize: 12 })
const fc = await nf.predict()
// Every rank holds the same model; let rank 0 speak.
if (world.rank === 0) console.log(`rank 0 of ${world.size}: 1961 forecast`, Array.from(fc.MLP, (v) => Math.round(v)).join(' '))

// Our half of bench/same_start.py: trains on AirPassengers from the weights in a saved file and
// prints the forecast as JSON.
//   node bench/same_start.mjs save <model> <file> '<options JSON>'   # a 1-step fit, saved
//   node bench/same_start.mjs fit <file> <steps>                     # load, fit, forecast
import { resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { loadDataset } from './datasets.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const nd = createRequire(import.meta.url)(root)
const shared = process.env.ND_SHARED ?? resolve(root, '../shared')
const { train } = loadDataset(shared, 'airpassengers')
const [cmd, ...args] = process.argv.slice(2)
if (cmd === 'save') {
  const [model, file, options] = args
  const nf = new nd.NeuralForecast({ models: [new nd[model]({ ...JSON.parse(options), maxSteps: 1 })], freq: 'ME' })
  await nf.fit(train)
  await nf.save(file)
} else {
  const [file, steps] = args
  const nf = await nd.NeuralForecast.load(file)
  await nf.fit(train, { maxSteps: Number(steps) })
  const fc = await nf.predict()
  const model = Object.keys(fc).find((k) => k !== 'unique_id' && k !== 'ds')
  console.log(JSON.stringify(Array.from(fc[model])))
}

// What waking the JS thread costs on this machine, with no engine in it: a worker thread computes
// for `busy` µs (the length of a forecast that runs on a pool), stamps the time and posts a
// message; the JS thread, idle in its event loop meanwhile, reads the stamp when the message
// arrives. The longer the JS thread has slept, the longer its wake-up takes on a virtual machine
// (an idle vCPU halts and the host must resume it): this is the part of a pooled predict's
// "JS − engine" (bench/predict_latency.mjs) that no binding work can remove.
//
//   node bench/wakeup.mjs [--calls 500]
import { Worker } from 'node:worker_threads'
import { loadavg } from 'node:os'

const i = process.argv.indexOf('--calls')
const calls = i >= 0 ? Number(process.argv[i + 1]) : 500
const stamp = new Float64Array(new SharedArrayBuffer(8))
const worker = new Worker(
  `const { parentPort, workerData } = require('node:worker_threads')
   const stamp = new Float64Array(workerData)
   const now = () => performance.timeOrigin + performance.now()
   parentPort.on('message', (busy) => {
     const end = now() + busy / 1000
     while (now() < end) {}
     stamp[0] = now()
     parentPort.postMessage(0)
   })`,
  { eval: true, workerData: stamp.buffer },
)
const now = () => performance.timeOrigin + performance.now()
const once = (busy) =>
  new Promise((resolve) => {
    worker.once('message', () => resolve((now() - stamp[0]) * 1000))
    worker.postMessage(busy)
  })

console.log(`wake-up of the JS thread after a worker's message, µs over ${calls} calls; load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`)
console.log('| worker busy for | median | p90 |')
console.log('|---|---|---|')
for (const busy of [0, 100, 500, 1000, 2000]) {
  const took = []
  for (let k = 0; k < calls; k++) took.push(await once(busy))
  took.sort((a, b) => a - b)
  console.log(`| ${busy} µs | ${took[Math.floor(calls / 2)].toFixed(0)} | ${took[Math.floor(calls * 0.9)].toFixed(0)} |`)
}
await worker.terminate()

// How long `new TimeLLM` holds the JS thread, and the event loop's longest delay around it; with
// --fit, also around a one-step fit (which reads the weights, tokenizer and SHA-256 in its worker).
//   node bench/timellm_construct.mjs <SmolLM2-135M-Instruct.Q4_1.gguf> [--fit]
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { TimeLLM, NeuralForecast } = require('../index.js')
const [llm, fit] = [process.argv[2], process.argv.includes('--fit')]
if (!llm) throw new Error('usage: node bench/timellm_construct.mjs <path of a GGUF backbone> [--fit]')
const options = { h: 12, inputSize: 24, llm, dLlm: 576, windowsBatchSize: 1, maxSteps: 1 }
const tick = () => new Promise((r) => setTimeout(r, 20))

const delay = monitorEventLoopDelay({ resolution: 1 })
delay.enable()
await tick()
const times = []
let model
for (let i = 0; i < 3; i++) {
  const t0 = performance.now()
  model = new TimeLLM(options)
  times.push(performance.now() - t0)
  await tick()
}
delay.disable()
console.log(`new TimeLLM: ${times.map((t) => t.toFixed(1)).join(', ')} ms; longest event-loop delay ${(delay.max / 1e6).toFixed(1)} ms`)

if (fit) {
  const df = Array.from({ length: 48 }, (_, i) => ({ unique_id: 'a', ds: i + 1, y: 100 + 10 * Math.sin(i / 2) + i }))
  const nf = new NeuralForecast({ models: [model], freq: 1 })
  const during = monitorEventLoopDelay({ resolution: 1 })
  during.enable()
  const t0 = performance.now()
  await nf.fit(df)
  during.disable()
  console.log(`fit (1 step, 1 window, backbone read in the worker): ${((performance.now() - t0) / 1e3).toFixed(1)} s; longest event-loop delay ${(during.max / 1e6).toFixed(1)} ms`)
}

#!/usr/bin/env node
// Soak (issue 14): fit/predict/save/load cycles of a small model, every object dropped and
// collected, reporting RSS (the process's, native memory included) and the JS heap every 100
// cycles, and RSS growth after the first 100 (the warm-up: pools, allocator arenas, JIT).
//
//   node --expose-gc scripts/soak.mjs [--cycles 1000]     (npm run soak)
import { createRequire } from 'node:module'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)
const { NeuralForecast, MLP } = require('..')

if (typeof global.gc !== 'function') {
  console.error('run with --expose-gc: node --expose-gc scripts/soak.mjs')
  process.exit(2)
}
const i = process.argv.indexOf('--cycles')
const cycles = i >= 0 ? Number(process.argv[i + 1]) : 1000
const rows = Array.from({ length: 120 }, (_, t) => ({ unique_id: `s${t % 2}`, ds: Math.floor(t / 2), y: 10 + Math.sin(t / 4) + (t % 2) }))
const dir = mkdtempSync(join(tmpdir(), 'nd-soak-'))
const path = join(dir, 'model.nd')
const mb = (b) => (b / 2 ** 20).toFixed(1)

let atWarmup = 0
const t0 = performance.now()
try {
  for (let c = 1; c <= cycles; c++) {
    const nf = new NeuralForecast({ models: [new MLP({ h: 6, inputSize: 12, hiddenSize: 64, numLayers: 2, maxSteps: 10, randomSeed: c })], freq: 1 })
    await nf.fit(rows)
    await nf.predict()
    await nf.save(path)
    const loaded = await NeuralForecast.load(path)
    await loaded.predict()
    if (c % 100 === 0) {
      global.gc()
      // Finalizers of the dropped native objects run after a collection; give them a turn.
      await new Promise((r) => setImmediate(r))
      global.gc()
      const { rss, heapUsed } = process.memoryUsage()
      if (c === 100) atWarmup = rss
      console.log(`cycle ${c}: rss ${mb(rss)} MB, heap ${mb(heapUsed)} MB, ${((performance.now() - t0) / c).toFixed(1)} ms/cycle`)
    }
  }
  const end = process.memoryUsage().rss
  if (atWarmup) console.log(`rss growth after cycle 100: ${mb(end - atWarmup)} MB over ${cycles - 100} cycles`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}

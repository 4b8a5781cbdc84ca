// A short seeded slice of the fuzzer (__test__/fuzz.ts); `npm run fuzz` runs it for a time budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fuzz } from './fuzz'

test('fuzzed options, frames, call sequences and model files: each call works or throws a documented error; the library still works', { timeout: 120_000 }, async () => {
  const report = await fuzz({ seed: 14, runs: { model: 6000, loss: 1000, constructor: 3000, sequence: 200, file: 300 }, budgetMs: 0 })
  assert.equal(report.rounds, 1)
  console.log(`# fuzz slice: ${report.total} cases in ${(report.ms / 1000).toFixed(1)} s ${JSON.stringify(report.cases)}`)
})

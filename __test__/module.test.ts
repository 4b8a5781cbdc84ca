// The package loads both as CommonJS and as an ES module.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'

test('require and import expose the same API', async () => {
  const req = createRequire(__filename)
  const cjs = req('..')
  const esm = await import(pathToFileURL(join(__dirname, '..', 'index.mjs')).href)
  for (const name of ['NeuralForecast', 'NHITS', 'MLP', 'LSTM', 'PatchTST', 'MAE', 'MQLoss', 'MASE', 'DistributionLoss', 'toRows', 'AbortError']) {
    assert.equal(typeof cjs[name], 'function', name)
    assert.equal(esm[name], cjs[name], name)
  }
})

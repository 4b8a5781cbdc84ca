// The package loads both as CommonJS and as an ES module, with the same exports.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(__dirname, '..')

test('require and import expose the same API', async () => {
  const req = createRequire(__filename)
  const cjs = req('..')
  // Self-reference by package name goes through package.json "exports": import → index.mjs.
  const esm: Record<string, unknown> = await import('neuro-divergent')
  for (const name of ['NeuralForecast', 'NHITS', 'MLP', 'LSTM', 'PatchTST', 'MAE', 'MQLoss', 'MASE', 'DistributionLoss', 'toRows', 'AbortError']) {
    assert.equal(typeof cjs[name], 'function', name)
  }
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], `ESM export ${name} (add it to index.mjs)`)
  assert.equal(esm.default, cjs)
})

test('a plain .mjs and a plain .cjs script can both fit and predict', () => {
  const body = (imp: string) => `${imp}
const rows = Array.from({ length: 40 }, (_, t) => ({ unique_id: 's', ds: t, y: Math.sin(t / 2) }))
const nf = new NeuralForecast({ models: [new MLP({ h: 3, inputSize: 6, hiddenSize: 8, maxSteps: 3 })], freq: 1 })
nf.fit(rows).then(() => nf.predict()).then((fc) => console.log(fc.MLP.length))`
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', body("import { NeuralForecast, MLP } from 'neuro-divergent'")], { cwd: root, encoding: 'utf8' })
  const cjs = execFileSync(process.execPath, ['-e', body("const { NeuralForecast, MLP } = require('neuro-divergent')")], { cwd: root, encoding: 'utf8' })
  assert.equal(esm.trim(), '3')
  assert.equal(cjs.trim(), '3')
})

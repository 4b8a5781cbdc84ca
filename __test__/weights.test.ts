// save(path, { weights: 'bf16' | 'f16' }): 16-bit weights, half the file, loaded forecasts close
// to the f32 model's.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { NeuralForecast, MLP } from '../index.js'
import { airPassengers, quick } from './helpers'

test('16-bit weights: about half the file, forecasts within 2% of f32, and bad options refused', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, hiddenSize: 256 })], freq: 'ME' })
  await nf.fit(airPassengers())
  const exact = await nf.predict()
  const dir = mkdtempSync(join(tmpdir(), 'nd-weights-'))
  await nf.save(join(dir, 'f32.nd'))
  for (const weights of ['bf16', 'f16'] as const) {
    const path = join(dir, `${weights}.nd`)
    await nf.save(path, { weights })
    assert.ok(statSync(path).size < 0.55 * statSync(join(dir, 'f32.nd')).size, weights)
    const loaded = await NeuralForecast.load(path)
    const fc = await loaded.predict()
    assert.deepEqual(fc.ds, exact.ds)
    const [got, want] = [fc.MLP as Float64Array, exact.MLP as Float64Array]
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 0.02 * Math.abs(want[i]), `${weights} step ${i}: ${v} vs ${want[i]}`))
  }
  // @ts-expect-error not a weight type
  await assert.rejects(nf.save(join(dir, 'x.nd'), { weights: 'int8' }), RangeError)
  // @ts-expect-error not a save option
  await assert.rejects(nf.save(join(dir, 'x.nd'), { precision: 'bf16' }), TypeError)
  rmSync(dir, { recursive: true, force: true })
})

// save → load → identical predictions; the file is written atomically.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, NHITS, MLP, LSTM, PatchTST, MQLoss } from '../index.js'
import { airPassengers, quick } from './helpers'

test('save then load gives identical predictions, with the same ds kind', async () => {
  const nf = new NeuralForecast({
    models: [new NHITS({ ...quick, maxSteps: 20 }), new MLP({ ...quick, hiddenSize: 32, loss: new MQLoss({ level: [90] }), alias: 'M' })],
    freq: 'ME',
  })
  await nf.fit(airPassengers())
  const before = await nf.predict()
  const dir = mkdtempSync(join(tmpdir(), 'nd-save-'))
  const path = join(dir, 'models', 'airline')
  await nf.save(path)
  assert.deepEqual(readdirSync(join(dir, 'models')), ['airline'], 'no temporary file left behind')
  const again = await NeuralForecast.load(path)
  assert.deepEqual(await again.predict(), before)
  assert.equal(typeof (await again.predict()).ds[0], 'string')
})

test('LSTM and PatchTST (with BatchNorm statistics) save and load exactly', async () => {
  const nf = new NeuralForecast({
    models: [new LSTM({ ...quick, encoderHiddenSize: 16, decoderHiddenSize: 16 }), new PatchTST({ ...quick, hiddenSize: 16, nHeads: 4 })],
    freq: 'ME',
  })
  await nf.fit(airPassengers())
  const before = await nf.predict()
  const path = join(mkdtempSync(join(tmpdir(), 'nd-save2-')), 'm.nd')
  await nf.save(path)
  assert.deepEqual(await (await NeuralForecast.load(path)).predict(), before)
})

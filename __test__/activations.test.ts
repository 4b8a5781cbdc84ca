// The activations NeuralForecast's MLP decoders and TCN convolutions take by name (torch.nn classes
// with their defaults): each trains, and the three NeuralForecast lists but cannot run say why.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { NeuralForecast, TCN, LSTM } from '../index.js'
import { airPassengers, quick } from './helpers'

const moduleActivations = ['GELU', 'ELU', 'SiLU', 'Mish', 'Softsign', 'Hardshrink', 'Softshrink', 'CELU', 'LogSigmoid', 'Hardtanh', 'Hardswish', 'Identity'] as const

test('TCN trains with every torch.nn activation in its convolutions and decoder', async () => {
  const df = airPassengers()
  const small = { ...quick, maxSteps: 2, encoderHiddenSize: 8, decoderHiddenSize: 8, dilations: [1, 2] }
  const models = moduleActivations.map((a, i) => new TCN({ ...small, encoderActivation: a, decoderActivation: a, alias: `TCN_${i}` }))
  const nf = new NeuralForecast({ models, freq: 'M' })
  await nf.fit(df)
  const fc = await nf.predict()
  for (let i = 0; i < models.length; i++) {
    const col = fc[`TCN_${i}`] as Float64Array
    assert.equal(col.length, 12)
    assert.ok(col.every(Number.isFinite), `${moduleActivations[i]} gives finite forecasts`)
  }
})

test('GLU, Threshold and RReLU are refused at construction, with the reason; other names list the choices', () => {
  const range = (re: RegExp) => (e: any) => e instanceof RangeError && re.test(e.message)
  assert.throws(() => new LSTM({ h: 12, decoderActivation: 'GLU' as any }), range(/'decoderActivation'.*GLU.*halves/))
  assert.throws(() => new TCN({ h: 12, encoderActivation: 'Threshold' as any }), range(/'encoderActivation'.*Threshold/))
  assert.throws(() => new TCN({ h: 12, decoderActivation: 'RReLU' as any }), range(/'decoderActivation'.*RReLU/))
  assert.throws(() => new TCN({ h: 12, decoderActivation: 'Swish' as any }), range(/'decoderActivation' must be one of .*Hardswish/))
  assert.equal(new LSTM({ h: 12, decoderActivation: 'GELU' }).config.decoderActivation, 'GELU')
})

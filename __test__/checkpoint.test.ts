// Issue 17: a fit checkpoints its training state and a restarted job resumes it, ending with the
// forecasts of an uninterrupted fit, bit for bit.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast, MLP, NHITS, AutoMLP, ModelFileError } from '../index.js'
import { airPassengers, quick } from './helpers'

const root = join(__dirname, '..')

// Two models, so a checkpoint holds a finished model beside the one in training; early stopping
// and lr decay on, so their state is checkpointed too. (The 110 steps after the first checkpoint
// take over a second here: the kill, polled every 2 ms, lands mid-fit.)
const modelOptions = {
  mlp: { ...quick, maxSteps: 60, valCheckSteps: 10, earlyStopPatienceSteps: 5, numLrDecays: 2, randomSeed: 3 },
  nhits: { ...quick, maxSteps: 60, valCheckSteps: 10, earlyStopPatienceSteps: 5, randomSeed: 4 },
}
const build = () => new NeuralForecast({ models: [new MLP(modelOptions.mlp), new NHITS(modelOptions.nhits)], freq: 'ME' })

/** A child node fitting with checkpoints every 10 steps; resolves once it has been SIGKILLed after its first checkpoint appeared. */
function fitAndKill(path: string): Promise<{ code: number | null; signal: string | null }> {
  const script = `
    const { NeuralForecast, MLP, NHITS } = require(${JSON.stringify(join(root, 'index.js'))})
    const rows = require('fs').readFileSync(${JSON.stringify(join(root, 'data', 'air_passengers.csv'))}, 'utf8').trim().split('\\n').slice(1)
      .map((l) => { const [unique_id, ds, y] = l.split(','); return { unique_id, ds, y: Number(y) } })
    const o = ${JSON.stringify(modelOptions)}
    const nf = new NeuralForecast({ models: [new MLP(o.mlp), new NHITS(o.nhits)], freq: 'ME' })
    nf.fit(rows, { valSize: 12, checkpointEvery: 10, checkpointPath: ${JSON.stringify(path)}, resume: true }).then(() => console.log('finished'))
  `
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'inherit', 'inherit'] })
    const poll = setInterval(() => existsSync(path) && p.kill('SIGKILL'), 2)
    const bound = setTimeout(() => p.kill('SIGKILL'), 120_000)
    p.on('error', reject)
    p.on('exit', (code, signal) => {
      clearInterval(poll)
      clearTimeout(bound)
      resolve({ code, signal })
    })
  })
}

test('a fit SIGKILLed after its first checkpoint, run again with resume, ends with the forecasts of an uninterrupted fit', { timeout: 240_000 }, async () => {
  const whole = build()
  await whole.fit(airPassengers(), { valSize: 12 })
  const expected = await whole.predict()

  const dir = mkdtempSync(join(tmpdir(), 'nd-ckpt-'))
  const path = join(dir, 'run.ckpt')
  const killed = await fitAndKill(path)
  assert.equal(killed.signal, 'SIGKILL', 'the child was killed mid-fit, not finished')
  assert.ok(existsSync(path))

  // The launcher's restart: the same command in a new process (here, this one).
  const events: { model: string; step: number }[] = []
  const nf = build()
  await nf.fit(airPassengers(), { valSize: 12, checkpointEvery: 10, checkpointPath: path, resume: true, onProgress: (e) => events.push(e) })
  assert.ok(events[0].model !== 'MLP' || events[0].step > 10, `resumed after a checkpoint, not from step 1 (first report ${JSON.stringify(events[0])})`)
  assert.deepEqual(await nf.predict(), expected)
  assert.deepEqual(readdirSync(dir), ['run.ckpt'], 'the killed process left no temporary file behind once a save ran again')

  // The finished checkpoint resumes to the same models without training.
  const again = build()
  const seen: unknown[] = []
  await again.fit(airPassengers(), { valSize: 12, checkpointPath: path, resume: true, onProgress: (e) => seen.push(e) })
  assert.deepEqual(seen, [])
  assert.deepEqual(await again.predict(), expected)
})

test('resume without a checkpoint file starts afresh; one of another fit is refused naming what differs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-ckpt-'))
  const path = join(dir, 'sub', 'run.ckpt')
  const opts = { ...quick, maxSteps: 20 }
  const plain = new NeuralForecast({ models: [new MLP(opts)], freq: 'ME' })
  await plain.fit(airPassengers())
  const nf = new NeuralForecast({ models: [new MLP(opts)], freq: 'ME' })
  await nf.fit(airPassengers(), { checkpointEvery: 5, checkpointPath: path, resume: true })
  assert.deepEqual(await nf.predict(), await plain.predict())
  assert.ok(existsSync(path))

  const fresh = () => new NeuralForecast({ models: [new MLP(opts)], freq: 'ME' })
  await assert.rejects(fresh().fit(airPassengers().slice(0, -12), { checkpointPath: path, resume: true }), /run\.ckpt was written by a fit given other data \(df differs\)/)
  await assert.rejects(
    new NeuralForecast({ models: [new MLP({ ...opts, maxSteps: 30 })], freq: 'ME' }).fit(airPassengers(), { checkpointPath: path, resume: true }),
    /other model options \(MLP option 'maxSteps': 20 in the checkpoint, 30 now\)/,
  )
  await assert.rejects(fresh().fit(airPassengers(), { checkpointPath: path, resume: true, valSize: 12 }), /other fit options \('valSize'/)
  // A second fit of a fitted object continues from its weights: not the checkpoint's start.
  await assert.rejects(nf.fit(airPassengers(), { checkpointPath: path, resume: true }), /other starting weights/)
  // Without resume the file is simply replaced.
  await fresh().fit(airPassengers().slice(0, -12), { checkpointPath: path })
})

test('a corrupted or truncated checkpoint is a ModelFileError naming the file; a model file is not a checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-ckpt-'))
  const path = join(dir, 'run.ckpt')
  const opts = { ...quick, maxSteps: 12 }
  const fresh = () => new NeuralForecast({ models: [new MLP(opts)], freq: 'ME' })
  await fresh().fit(airPassengers(), { checkpointEvery: 5, checkpointPath: path })
  const good = readFileSync(path)
  const flipped = Buffer.from(good)
  flipped[flipped.length - 100] ^= 0x55
  writeFileSync(path, flipped)
  await assert.rejects(fresh().fit(airPassengers(), { checkpointPath: path, resume: true }), (e: Error) => e instanceof ModelFileError && e.message.includes(path) && /checkpoint file: checksum mismatch/.test(e.message))
  writeFileSync(path, good.subarray(0, good.length >> 1))
  await assert.rejects(fresh().fit(airPassengers(), { checkpointPath: path, resume: true }), (e: Error) => e instanceof ModelFileError && e.message.includes(path))
  const model = fresh()
  await model.fit(airPassengers())
  await model.save(path)
  await assert.rejects(fresh().fit(airPassengers(), { checkpointPath: path, resume: true }), /is not a checkpoint/)
  // And the other way round.
  await fresh().fit(airPassengers(), { checkpointPath: path })
  await assert.rejects(NeuralForecast.load(path), (e: Error) => e instanceof ModelFileError && /run\.ckpt is a training checkpoint .*not a saved model/.test(e.message))
})

test('checkpoint options are checked', async () => {
  const nf = new NeuralForecast({ models: [new MLP({ ...quick, maxSteps: 2 })], freq: 'ME' })
  const df = airPassengers()
  const path = join(mkdtempSync(join(tmpdir(), 'nd-ckpt-')), 'c')
  await assert.rejects(nf.fit(df, { checkpointEvery: 0, checkpointPath: path }), RangeError)
  await assert.rejects(nf.fit(df, { checkpointEvery: -3, checkpointPath: path }), /'checkpointEvery' must be >= 1/)
  await assert.rejects(nf.fit(df, { checkpointEvery: 1.5, checkpointPath: path }), TypeError)
  await assert.rejects(nf.fit(df, { checkpointEvery: 10 }), (e: Error) => e instanceof TypeError && /'checkpointPath'.*with 'checkpointEvery'/.test(e.message))
  await assert.rejects(nf.fit(df, { resume: true }), (e: Error) => e instanceof TypeError && /'checkpointPath'.*with 'resume'/.test(e.message))
  await assert.rejects(nf.fit(df, { checkpointPath: 7 as any }), (e: Error) => e instanceof TypeError && /'checkpointPath'/.test(e.message))
  await assert.rejects(nf.fit(df, { checkpointPath: path, resume: 'yes' as any }), (e: Error) => e instanceof TypeError && /'resume'/.test(e.message))
  await assert.rejects(nf.fit(df, { checkpointEvry: 5 } as any), /unknown option 'checkpointEvry'/)
  const search = new NeuralForecast({ models: [new AutoMLP({ h: 12, numSamples: 2 })], freq: 'ME' })
  await assert.rejects(search.fit(df, { checkpointPath: path }), (e: Error) => e instanceof TypeError && /Auto\* model's search/.test(e.message))
  assert.ok(!existsSync(path), 'nothing was written')
})

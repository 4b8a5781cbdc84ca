// Issue 14: a panic inside the engine is contained, and a save killed half-way leaves the old file.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NeuralForecast } from '../index.js'

const root = join(__dirname, '..')

/** Runs `script` in a child node with `env` added; resolves with its exit code and stdout lines. */
function child(script: string, env: Record<string, string> = {}, onLine?: (line: string, kill: () => void) => void): Promise<{ code: number | null; signal: string | null; out: string[]; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    const out: string[] = []
    let err = ''
    p.stderr.on('data', (d) => {
      err += d
      process.stderr.write(d)
    })
    let buffer = ''
    p.stdout.on('data', (d) => {
      buffer += d
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        out.push(line)
        onLine?.(line, () => p.kill('SIGKILL'))
      }
    })
    const bound = setTimeout(() => p.kill('SIGKILL'), 60_000)
    p.on('error', reject)
    p.on('exit', (code, signal) => {
      clearTimeout(bound)
      resolve({ code, signal, out, err })
    })
  })
}

test('a panic inside the engine becomes a NeuroDivergentError with its message; the object keeps serving and fits again', async () => {
  // NEURO_DIVERGENT_TEST_PANIC is read once per process (so it is set on a child): reading a frame
  // that holds the series it names panics inside the engine. No input reaches a panic on purpose.
  const r = await child(
    `
    const nd = require(${JSON.stringify(root)})
    const rows = (id, shift = 0) => Array.from({ length: 40 }, (_, t) => ({ unique_id: id, ds: t, y: 10 + Math.sin(t) + shift }))
    const report = (what, e) => console.log(JSON.stringify({ what, name: e.name, isND: e instanceof nd.NeuroDivergentError, message: e.message }))
    ;(async () => {
      const nf = new nd.NeuralForecast({ models: [new nd.MLP({ h: 3, inputSize: 6, hiddenSize: 8, maxSteps: 3 })], freq: 1 })
      await nf.fit(rows('a'))
      const before = Array.from((await nf.predict()).MLP)
      await nf.fit(rows('boom')).then(() => console.log('fit did not panic'), (e) => report('fit', e))
      await nf.predict({ df: rows('boom') }).then(() => console.log('predict did not panic'), (e) => report('predict', e))
      await nf.crossValidation([...rows('a'), ...rows('boom')]).then(() => console.log('cv did not panic'), (e) => report('crossValidation', e))
      console.log(JSON.stringify({ same: JSON.stringify(Array.from((await nf.predict()).MLP)) === JSON.stringify(before) }))
      await nf.fit(rows('a', 5))
      console.log(JSON.stringify({ refit: (await nf.predict()).MLP.length }))
    })()`,
    { NEURO_DIVERGENT_TEST_PANIC: 'boom' },
  )
  assert.equal(r.code, 0, r.out.join('\n'))
  const lines = r.out.map((l) => JSON.parse(l))
  for (const what of ['fit', 'predict', 'crossValidation']) {
    const e = lines.find((l) => l.what === what)
    assert.ok(e, `${what}: ${r.out.join('\n')}`)
    assert.ok(e.isND && e.name === 'NeuroDivergentError', JSON.stringify(e))
    assert.match(e.message, new RegExp(`^internal error in ${what}: NEURO_DIVERGENT_TEST_PANIC: the frame holds series 'boom' \\(this is a bug in neuro-divergent at src/forecast/core\\.rs:\\d+; please report it\\)$`))
  }
  // Contained: nothing of it reaches the host's stderr (Rust's default hook would print each).
  assert.doesNotMatch(r.err, /panicked|NEURO_DIVERGENT_TEST_PANIC/)
  assert.ok(lines.some((l) => l.same === true), 'after the panics, predict serves the model fitted before them')
  assert.ok(lines.some((l) => l.refit === 3), 'the panicked fit released the object: the next fit runs')
})

test('a process killed (SIGKILL) while saving leaves the previous file loadable, and a later save is not tripped by what it left, and clears it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nd-killed-save-'))
  const path = join(dir, 'model.nd')
  try {
    // ~4M weights (a 16 MB file): each save writes, syncs and renames for a while.
    const script = `
      const nd = require(${JSON.stringify(root)})
      const rows = Array.from({ length: 60 }, (_, t) => ({ unique_id: 'a', ds: t, y: 10 + Math.sin(t) }))
      const make = (seed) => new nd.NeuralForecast({ models: [new nd.MLP({ h: 4, inputSize: 8, hiddenSize: 1024, numLayers: 4, maxSteps: 1, randomSeed: seed })], freq: 1 })
      ;(async () => {
        const a = make(1)
        await a.fit(rows)
        await a.save(${JSON.stringify(path)})
        const b = make(2)
        await b.fit(rows)
        console.log('SAVED ' + JSON.stringify([Array.from((await a.predict()).MLP), Array.from((await b.predict()).MLP)]))
        for (let i = 0; ; i++) await (i % 2 ? a : b).save(${JSON.stringify(path)})
      })()`
    let forecasts: number[][] = []
    for (const delay of [5, 40, 120]) {
      const r = await child(script, {}, (line, kill) => {
        if (!line.startsWith('SAVED ')) return
        forecasts = JSON.parse(line.slice(6))
        setTimeout(kill, delay)
      })
      assert.equal(r.signal, 'SIGKILL', r.out.join('\n'))
      const loaded = await NeuralForecast.load(path)
      const fc = Array.from((await loaded.predict()).MLP as Float64Array)
      assert.ok(forecasts.some((f) => JSON.stringify(f) === JSON.stringify(fc)), `killed ${delay} ms into the saves: the file holds one of the saved models`)
    }
    // What a killed save can leave is its own hidden temporary file, never the target.
    for (const name of readdirSync(dir)) assert.ok(name === 'model.nd' || /^\.model\.nd\.tmp-\d+$/.test(name), name)
    const nf = new NeuralForecast({ models: [new (require('../index.js').MLP)({ h: 4, inputSize: 8, hiddenSize: 8, maxSteps: 1 })], freq: 1 })
    await nf.fit(Array.from({ length: 30 }, (_, t) => ({ unique_id: 'a', ds: t, y: t })))
    await nf.save(path)
    assert.deepEqual(await (await NeuralForecast.load(path)).predict(), await nf.predict())
    // ...and that save cleared the temporary files the killed processes left.
    assert.deepEqual(readdirSync(dir), ['model.nd'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

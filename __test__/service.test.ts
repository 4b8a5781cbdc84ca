// The examples run: the service (examples/service.mjs) answers forecasts with intervals while it
// refits in the background (a refit on one object does not pause its answers), and the exogenous one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { once } from 'node:events'

const root = join(__dirname, '..')

async function get(port: number, path: string, init?: RequestInit) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, init)
  return { status: res.status, body: await res.json() }
}

test('the example service keeps answering, fast, while it refits', async (t) => {
  const child = spawn(process.execPath, [join(root, 'examples', 'service.mjs'), '0'], { env: { ...process.env, SERVICE_STEPS: '100' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.after(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.setEncoding('utf8')
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: string) => {
      out += d
      const m = /127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`service exited with ${code}: ${out}`)))
  })
  const deadline = Date.now() + 120_000
  while (!(await get(port, '/health')).body.fitted) {
    assert.ok(Date.now() < deadline, 'first fit took over 2 minutes')
    await new Promise((r) => setTimeout(r, 100))
  }
  const first = await get(port, '/forecast?id=AirPassengers')
  assert.equal(first.status, 200)
  assert.equal(first.body.length, 12)
  assert.deepEqual(Object.keys(first.body[0]), ['unique_id', 'ds', 'NHITS-median', 'NHITS-lo-90', 'NHITS-lo-80', 'NHITS-hi-80', 'NHITS-hi-90'])
  assert.equal(first.body[0].ds, '1961-01-31')
  // MQLoss quantiles are separate outputs and may cross (as in NeuralForecast): only finiteness is promised.
  for (const r of first.body) for (const k of Object.keys(r).slice(2)) assert.ok(Number.isFinite(r[k]), JSON.stringify(r))

  const observed = await get(port, '/observe', { method: 'POST', body: JSON.stringify([{ unique_id: 'AirPassengers', ds: '1961-01-31', y: 420 }]) })
  assert.equal(observed.status, 202)
  const latencies: number[] = []
  let sawRefit = false
  for (;;) {
    const t0 = performance.now()
    const fc = await get(port, '/forecast?id=AirPassengers')
    latencies.push(performance.now() - t0)
    assert.equal(fc.status, 200)
    const health = (await get(port, '/health')).body
    if (health.refitting) sawRefit = true
    if (health.refits === 2) break
    assert.ok(Date.now() < deadline, 'refit took over 2 minutes')
    await new Promise((r) => setTimeout(r, 10))
  }
  assert.ok(sawRefit && latencies.length >= 5, `answered ${latencies.length} forecasts during the refit`)
  latencies.sort((a, b) => a - b)
  const median = latencies[latencies.length >> 1]
  t.diagnostic(`${latencies.length} forecasts during a refit: median ${median.toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`)
  // Bounds against a pause (a refit blocking answers would take the whole refit), not timings.
  assert.ok(median < 100 && latencies.at(-1)! < 2000, `median ${median} ms, max ${latencies.at(-1)} ms`)
  assert.equal((await get(port, '/forecast?id=AirPassengers')).body[0].ds, '1961-02-28', 'the refit took the new month in')

  const bad = await get(port, '/observe', { method: 'POST', body: JSON.stringify([{ unique_id: 'AirPassengers', ds: '1961-06-30', y: 1 }]) })
  assert.equal(bad.status, 202)
  while ((await get(port, '/health')).body.refitting || (await get(port, '/health')).body.lastError === null) {
    assert.ok(Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20))
  }
  assert.match((await get(port, '/health')).body.lastError, /gap/)
  assert.equal((await get(port, '/forecast?id=AirPassengers')).body[0].ds, '1961-02-28', 'a failed refit keeps the previous models')
  assert.equal((await get(port, '/forecast?id=nope')).status, 404)
  assert.equal((await get(port, '/observe', { method: 'POST', body: '{' })).status, 400)
  child.kill('SIGTERM')
  await once(child, 'exit')
})

test('the exogenous example runs: makeFutureDataframe, the added column, predict with futrDf', async () => {
  const child = spawn(process.execPath, [join(root, 'examples', 'exogenous.mjs')], { env: { ...process.env, EXAMPLE_STEPS: '5' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  const [code] = await once(child, 'exit')
  assert.equal(code, 0, out)
  assert.match(out, /missing future rows: 0; MAE \d+\.\d\d/)
  assert.match(out, /1960-12/)
})

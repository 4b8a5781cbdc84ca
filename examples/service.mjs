// A small forecasting service: node:http only, on 127.0.0.1.
//
//   node examples/service.mjs [port]      (port 0 or none: a free one; the chosen port is printed)
//
//   GET  /forecast?id=AirPassengers   the next 12 months of a series, with 80% and 90% intervals
//   POST /observe                     new rows as JSON [{ unique_id, ds, y }]; the models refit on
//                                     them in the background while /forecast keeps answering
//   GET  /health                      { fitted, refitting, refits, lastRefitSeconds, lastError }
//
// What it shows: refit-in-place. One NeuralForecast object serves forecasts while it retrains:
// `predict` on an object that is fitting answers at once with the models fitted before, and the
// new ones take over when the fit succeeds (a failed or aborted fit keeps the old ones). Fitting
// runs on the engine's threads, so the event loop, and with it every request, stays free.
// With `threads: 1` the refit uses one core and leaves the other to the answers.
import http from 'node:http'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { NeuralForecast, NHITS, MQLoss, toRows } from '../index.mjs'

const csv = readFileSync(fileURLToPath(new URL('../data/air_passengers.csv', import.meta.url)), 'utf8')
let history = csv
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [unique_id, ds, y] = line.split(',')
    return { unique_id, ds, y: Number(y) }
  })

const model = () =>
  new NHITS({ h: 12, inputSize: 24, maxSteps: Number(process.env.SERVICE_STEPS ?? 200), scalerType: 'standard', windowsBatchSize: 128, loss: new MQLoss({ level: [80, 90] }), randomSeed: 1 })
const nf = new NeuralForecast({ models: [model()], freq: 'ME', threads: 1 })

const state = { fitted: false, refitting: false, refits: 0, lastRefitSeconds: null, lastError: null }
/** Rows observed since the last refit began; they join `history` when a fit on them succeeds. */
let incoming = []

/** Refits on the history plus the new rows; rows arriving meanwhile get one more refit after it. */
async function refit() {
  if (state.refitting) return
  state.refitting = true
  try {
    for (let first = true; first || incoming.length > 0; first = false) {
      const candidate = history.concat(incoming)
      incoming = []
      const t = performance.now()
      try {
        await nf.fit(candidate)
        history = candidate
        state.fitted = true
        state.refits++
        state.lastRefitSeconds = (performance.now() - t) / 1000
        state.lastError = null
      } catch (err) {
        // A bad batch (a gap, a duplicate date, NaN) fails the fit: the previous models keep
        // serving, and the batch is dropped rather than failing every later refit too.
        state.lastError = err.message
      }
    }
  } finally {
    state.refitting = false
  }
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

async function readJson(req, limit = 1 << 20) {
  let size = 0
  const chunks = []
  for await (const chunk of req) {
    size += chunk.length
    if (size > limit) throw new RangeError(`body over ${limit} bytes`)
    chunks.push(chunk)
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1')
  try {
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, state)
    if (req.method === 'GET' && url.pathname === '/forecast') {
      if (!state.fitted) return send(res, 503, { error: 'still training the first model' })
      const id = url.searchParams.get('id') ?? 'AirPassengers'
      const rows = toRows(await nf.predict()).filter((r) => r.unique_id === id)
      if (rows.length === 0) return send(res, 404, { error: `no series '${id}'` })
      return send(res, 200, rows.map((r) => ({ ...r, ds: r.ds instanceof Date ? r.ds.toISOString().slice(0, 10) : r.ds })))
    }
    if (req.method === 'POST' && url.pathname === '/observe') {
      const rows = await readJson(req)
      if (!Array.isArray(rows) || rows.length === 0) return send(res, 400, { error: 'send a non-empty JSON array of { unique_id, ds, y }' })
      incoming = incoming.concat(rows)
      refit()
      return send(res, 202, { accepted: rows.length })
    }
    return send(res, 404, { error: 'GET /forecast?id=..., POST /observe, GET /health' })
  } catch (err) {
    return send(res, err instanceof SyntaxError || err instanceof TypeError || err instanceof RangeError ? 400 : 500, { error: err.message })
  }
})

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
  refit()
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))

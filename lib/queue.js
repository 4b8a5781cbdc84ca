'use strict'
// neuro-divergent/queue: Auto* trials and cross-validation windows fitted by workers on any
// machine, through BullMQ on Redis. The coordinator (the Auto's search) draws every config and
// ranks the results; a job carries one trial (the model's options, the data or a path to it) and
// its worker fits it off the JS thread and returns { validLoss, fitSeconds }; a window's job
// returns its forecasts. BullMQ delivers a job at least once (a killed worker's job goes back to
// the queue once its lock expires), so each job id is its batch's id and its number, and the
// coordinator reads each job's result once.

const { randomUUID } = require('node:crypto')
const { unlink, readFile, writeFile } = require('node:fs/promises')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { NeuralForecast, AbortError } = require('../index.js')
const models = require('./models.js')
const { Auto, fitTrial } = require('./auto.js')
const { describe, toNative, withIdRuns, fromNative } = require('./frames.js')
const { checkKeys, wholeNumber } = require('./checks.js')
const { NeuroDivergentError } = require('./errors.js')
const { encodeF64, decodeF64, encodeData, writeAtomic, DataCache, withoutLast } = require('./queue_data.js')

/** The job format; a worker refuses jobs of another (a coordinator and workers of other versions). */
const JOB_VERSION = 1
const DEFAULT_MAX_INLINE_BYTES = 512 * 1024
const DEFAULT_TPE_CONCURRENCY = 4
/** Progress between validation checks reaches the coordinator at most this often (each is a Redis write). */
const PROGRESS_INTERVAL_MS = 250
const BACKEND_OPTIONS = ['connection', 'queue', 'concurrency', 'maxInlineBytes', 'dataDir']
const FIT_OPTIONS = ['valSize', 'staticDf', 'predictionIntervals', 'maxSteps', 'onProgress', 'signal', 'verbose']
const CV_OPTIONS = ['nWindows', 'stepSize', 'valSize', 'staticDf', 'level', 'predictionIntervals', 'onProgress', 'signal', 'verbose']
const WORKER_OPTIONS = ['connection', 'queue', 'concurrency', 'lockDuration', 'stalledInterval', 'onProgress', 'signal']

/** bullmq, required only when the queue is used: it and ioredis are optional peer dependencies. */
function loadBullMQ() {
  try {
    return require('bullmq')
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND' && /'(bullmq|ioredis)'/.test(e.message)) {
      throw new NeuroDivergentError("neuro-divergent/queue needs its optional peer dependencies bullmq and ioredis: npm install bullmq ioredis", { cause: e })
    }
    throw e
  }
}

/** `connection` (ioredis options or an ioredis instance) and `queue` (its name), both required. */
function target(opts, where) {
  if (opts.connection === null || typeof opts.connection !== 'object') {
    throw new TypeError(`${where} option 'connection' must be ioredis connection options such as { host: '127.0.0.1', port: 6379 } or an ioredis instance, got ${describe(opts.connection)}`)
  }
  if (typeof opts.queue !== 'string' || opts.queue.length === 0) throw new TypeError(`${where} option 'queue' must be a non-empty string (the queue's name), got ${describe(opts.queue)}`)
  return { connection: opts.connection, queue: opts.queue }
}

function whole(v, name, where, fallback, min = 1) {
  return v === undefined ? fallback : wholeNumber(v, name, where, min)
}

function abortSignal(signal, where) {
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw new TypeError(`${where} option 'signal' must be an AbortSignal, got ${describe(signal)}`)
  }
  return signal
}

function callback(fn, name, where) {
  if (fn !== undefined && typeof fn !== 'function') throw new TypeError(`${where} option '${name}' must be a function, got ${describe(fn)}`)
  return fn
}

/** A worker's error as the coordinator rethrows it: the class it had (option errors stay TypeErrors). */
function remoteError({ error, errorName }) {
  const Class = { TypeError, RangeError }[errorName] ?? NeuroDivergentError
  return new Class(error)
}

/** Warns once per distinct message: a Redis outage repeats its error every reconnection attempt. */
function warner(where) {
  const seen = new Set()
  return (e) => {
    const message = (e && e.message) || String(e)
    if (seen.has(message)) return
    seen.add(message)
    process.emitWarning(`${where}: ${message}`, 'NeuroDivergentWarning')
  }
}

/**
 * Auto* search on a BullMQ queue: `new AutoNHITS({ ..., backend: new BullMQBackend({ connection,
 * queue }) })`; each trial is a job that a `runTrialWorker` process fits. Also cross-validates
 * with one job per window (`crossValidation`). One backend serves any number of searches;
 * `close()` it when done (it holds Redis connections).
 */
class BullMQBackend {
  constructor(options) {
    const opts = checkKeys(options, BACKEND_OPTIONS, 'BullMQBackend', true)
    const { connection, queue } = target(opts, 'BullMQBackend')
    this._lib = loadBullMQ()
    this._connection = connection
    this.queueName = queue
    this._concurrency = whole(opts.concurrency, 'concurrency', 'BullMQBackend', undefined)
    this._maxInlineBytes = whole(opts.maxInlineBytes, 'maxInlineBytes', 'BullMQBackend', DEFAULT_MAX_INLINE_BYTES)
    if (opts.dataDir !== undefined && (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0)) {
      throw new TypeError(`BullMQBackend option 'dataDir' must be a directory path every worker can read, got ${describe(opts.dataDir)}`)
    }
    this._dataDir = opts.dataDir
    this._queue = null
    this._events = null
    this._progress = new Map() // job id -> the coordinator's progress callback
    this._warn = warner('BullMQBackend')
  }

  /**
   * The queue and its event stream, opened at the first batch. The stream only once Redis has
   * answered: BullMQ's QueueEvents.close() waits for a first connection forever.
   */
  async _ready() {
    const { Queue, QueueEvents } = this._lib
    if (!this._queue) {
      this._queue = new Queue(this.queueName, { connection: this._connection })
      // An unhandled 'error' event would throw in the host; ioredis reconnects by itself.
      this._queue.on('error', this._warn)
      // Each job awaited adds a listener to the queue (BullMQ's waitUntilFinished): a search
      // awaits numSamples of them at once by design.
      this._queue.setMaxListeners(0)
    }
    await this._queue.waitUntilReady()
    if (!this._events) {
      this._events = new QueueEvents(this.queueName, { connection: this._connection })
      this._events.on('error', this._warn)
      this._events.on('progress', ({ jobId, data }) => {
        try {
          this._progress.get(jobId)?.(data)
        } catch (e) {
          this._warn(new Error(`onProgress threw (the work goes on): ${e && e.message}`))
        }
      })
    }
    await this._events.waitUntilReady()
  }

  /**
   * Where the workers find a batch's data: inside each job under `maxInlineBytes`, else in a
   * file under `dataDir`. Returns the reference and a function that removes what it made.
   */
  async _place(text, id) {
    const bytes = Buffer.byteLength(text)
    if (bytes <= this._maxInlineBytes) return { ref: { inline: text }, release: async () => {} }
    if (this._dataDir === undefined) {
      throw new RangeError(`BullMQBackend: the data is ${bytes} bytes, over option 'maxInlineBytes' (${this._maxInlineBytes}); give option 'dataDir', a directory every worker can read (a shared volume), or raise 'maxInlineBytes'`)
    }
    const path = join(this._dataDir, `nd-${id}.json`)
    await writeAtomic(path, text)
    return { ref: { path, bytes }, release: () => unlink(path).catch(() => {}) }
  }

  /**
   * A batch of jobs over one data set (a search's trials, a cross-validation's windows):
   * `run(number, job, onProgress)` enqueues one and resolves to its result, or rejects with the
   * error its worker reported; on abort every waiting one rejects at once, and `close()` removes
   * the jobs not yet read (running ones finish on their workers, unread) and the data file.
   */
  async _batch(data, signal) {
    let onAbort
    const aborted = new Promise((_, reject) => {
      onAbort = () => reject(new AbortError())
      if (signal?.aborted) onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => {})
    const id = randomUUID()
    let placed
    try {
      // Until Redis answers (ioredis retries without end, warning once), only an abort ends the wait.
      await Promise.race([this._ready(), aborted])
      placed = await this._place(encodeData(data), id)
    } catch (e) {
      signal?.removeEventListener('abort', onAbort)
      throw e
    }
    const unread = new Set()
    return {
      id,
      run: async (number, job, onProgress) => {
        const jobId = `${id}-${number}`
        unread.add(jobId)
        if (onProgress) this._progress.set(jobId, onProgress)
        try {
          // An id already in the queue is not added again: delivered twice, read once.
          const added = await this._queue.add(job.kind, { ...job, v: JOB_VERSION, batch: id, data: placed.ref }, { jobId, removeOnComplete: { age: 86400 }, removeOnFail: { age: 86400 } })
          const result = await Promise.race([added.waitUntilFinished(this._events), aborted])
          await added.remove().catch(() => {})
          unread.delete(jobId)
          if (result.error !== undefined) throw remoteError(result)
          return result
        } finally {
          this._progress.delete(jobId)
        }
      },
      close: async () => {
        signal?.removeEventListener('abort', onAbort)
        await Promise.all([...unread].map((j) => this._queue.remove(j).catch(() => 0)))
        await placed.release()
      },
    }
  }

  /** A session of the Auto's search (see lib/auto.js, the local backend): fits trials as jobs. */
  async _open({ data, freq, valSize, verbose, signal, auto }) {
    const batch = await this._batch(data, signal)
    return {
      concurrency: this._concurrency ?? (auto._searchAlg === 'tpe' ? DEFAULT_TPE_CONCURRENCY : auto._numSamples),
      async run(trial, model, onProgress) {
        const job = { kind: 'trial', trial, model: { class: model.className, options: model.options }, freq, valSize, verbose, threads: auto._cpus }
        const { validLoss, fitSeconds } = await batch.run(trial, job, onProgress)
        return { validLoss: validLoss ?? NaN, fitSeconds }
      },
      close: batch.close,
    }
  }

  /**
   * `nf.crossValidation(df, { ...options, refit: true })` with one job per window, the windows
   * fitted side by side on the workers. Each window is a fresh fit of `nf`'s models (from their
   * `randomSeed`) on the data before its cutoff, as `nf.crossValidation` of that data with
   * `nWindows: 1` gives; the local refit instead continues each window from the previous one's
   * weights (NeuralForecast's), so the forecasts differ, the rows and columns do not. `nf`
   * itself is left as it was. Options: `nWindows`, `stepSize`, `valSize`, `staticDf`, `level`,
   * `predictionIntervals`, `verbose`, `onProgress` (events with `window`), `signal`.
   */
  async crossValidation(nf, df, options = {}) {
    const where = 'BullMQBackend.crossValidation'
    const { opts, frame, staticDf, kinds, signal } = prepare(nf, df, options, CV_OPTIONS, where)
    const nWindows = whole(opts.nWindows, 'nWindows', where, 1)
    const stepSize = whole(opts.stepSize, 'stepSize', where, 1)
    const valSize = whole(opts.valSize, 'valSize', where, 0, 0)
    // The engine's check, before any job: every window needs a point before its cutoff.
    const testSize = nf.models[0].h + stepSize * (nWindows - 1)
    const lengths = new Map()
    for (const id of frame.uniqueId) lengths.set(id, (lengths.get(id) ?? 0) + 1)
    for (const [id, n] of lengths) {
      if (n <= testSize) throw new RangeError(`${where}: series '${id}' has ${n} points, too few for ${nWindows} windows of h=${nf.models[0].h} every ${stepSize} steps (needs more than ${testSize})`)
    }
    const job = { kind: 'window', ...spec(nf), cv: { valSize, level: opts.level, predictionIntervals: opts.predictionIntervals, verbose: opts.verbose } }
    const batch = await this._batch({ frame, staticDf, kinds }, signal)
    let outs
    try {
      outs = await Promise.all(
        Array.from({ length: nWindows }, (_, w) =>
          batch.run(w, { ...job, window: w, drop: (nWindows - 1 - w) * stepSize }, opts.onProgress && ((e) => opts.onProgress({ ...e, window: w }))),
        ),
      )
    } finally {
      await batch.close() // after a failed window, the others still waiting
    }
    return fromNative(withIdRuns(mergeWindows(outs)), kinds)
  }

  /**
   * `nf.fit(df, options)` on a worker: the models train there and their weights come back into
   * `nf`, which then predicts and saves as if it had fitted here. Independent fits (a model per
   * market, per shard) run side by side on the workers when awaited together. The fitted models
   * come back inside the job's result under `maxInlineBytes`, else through a file under
   * `dataDir`. Options: `valSize`, `staticDf`, `predictionIntervals`, `maxSteps`, `verbose`,
   * `onProgress`, `signal`.
   */
  async fit(nf, df, options = {}) {
    const where = 'BullMQBackend.fit'
    const { opts, frame, staticDf, kinds, signal } = prepare(nf, df, options, FIT_OPTIONS, where)
    const fit = { valSize: whole(opts.valSize, 'valSize', where, 0, 0), maxSteps: whole(opts.maxSteps, 'maxSteps', where, undefined), predictionIntervals: opts.predictionIntervals, verbose: opts.verbose }
    const batch = await this._batch({ frame, staticDf, kinds }, signal)
    let result
    try {
      result = await batch.run(0, { kind: 'fit', ...spec(nf), fit, resultBytes: this._maxInlineBytes, dataDir: this._dataDir }, opts.onProgress)
    } finally {
      await batch.close()
    }
    const path = result.path ?? join(tmpdir(), `nd-${batch.id}.nd`)
    try {
      if (result.path === undefined) await writeFile(path, Buffer.from(result.models, 'base64'))
      const fitted = await NeuralForecast.load(path, { threads: nf._threads ?? undefined })
      nf._native = fitted._native
      nf._kinds = kinds // the worker saw ds as numbers and ids as strings; predictions give the caller's
    } finally {
      await unlink(path).catch(() => {})
    }
  }

  /** Closes the backend's Redis connections. */
  async close() {
    await Promise.all([this._queue?.close(), this._events?.close()])
  }
}

/** Checks `nf`, `df` and the options of `fit` and `crossValidation`, and converts the data once. */
function prepare(nf, df, options, allowed, where) {
  if (!(nf instanceof NeuralForecast)) throw new TypeError(`${where} needs a NeuralForecast, got ${describe(nf)}`)
  const opts = checkKeys(options, allowed, where, true)
  const searched = nf.models.find((m) => m instanceof Auto)
  if (searched) throw new TypeError(`${where} does not search: ${searched.alias} is an Auto* model; give it this backend as its 'backend' option`)
  callback(opts.onProgress, 'onProgress', where)
  const signal = abortSignal(opts.signal, where)
  if (signal?.aborted) throw new AbortError()
  const used = models.usedColumns(nf.models)
  const { frame, kinds } = toNative(df, 'df', { keep: used.df })
  const staticDf = opts.staticDf === undefined ? undefined : toNative(opts.staticDf, 'staticDf', { requireY: false, requireDs: false, keep: used.staticDf }).frame
  return { opts, frame, staticDf, kinds, signal }
}

/** What a worker needs to build `nf` again: its models and constructor options. */
function spec(nf) {
  return { models: nf.models.map((m) => ({ class: m.className, options: m.options })), nf: { freq: nf.freq, holidays: nf._holidays, threads: nf._threads ?? undefined } }
}

/** `opts` without its undefined and null entries (the public API refuses some nulls). */
function defined(opts) {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined && v !== null))
}

/**
 * The windows' outputs as one frame in NeuralForecast's row order (by series, then cutoff, then
 * ds): each window holds h rows of every series, in the same series order.
 */
function mergeWindows(outs) {
  const n = outs[0].uniqueId.length
  const series = new Set(outs[0].uniqueId).size
  const h = n / series
  const decoded = outs.map((o) => ({ ds: decodeF64(o.ds, n, 'a window'), columns: o.columns.map((c) => decodeF64(c, n, 'a window')) }))
  const rows = outs.length * n
  const out = { uniqueId: new Array(rows), ds: new Float64Array(rows), columnNames: outs[0].columnNames, columns: outs[0].columnNames.map(() => new Float64Array(rows)) }
  let r = 0
  for (let s = 0; s < series; s++) {
    for (let w = 0; w < outs.length; w++) {
      for (let k = s * h; k < (s + 1) * h; k++, r++) {
        out.uniqueId[r] = outs[w].uniqueId[k]
        out.ds[r] = decoded[w].ds[k]
        decoded[w].columns.forEach((c, j) => (out.columns[j][r] = c[k]))
      }
    }
  }
  return out
}

/** The public columns object of a converted frame (ds as numbers: epoch ms or the integer index). */
function columnsOf(frame, withDs = true) {
  const df = { unique_id: frame.uniqueId }
  if (withDs) df.ds = frame.ds
  if (frame.y) df.y = frame.y
  frame.columnNames.forEach((c, i) => (df[c] = frame.columns[i]))
  return df
}

/**
 * A job's progress: every step to the worker's own `onProgress`; to the coordinator (each a Redis
 * write) each new validation loss and the last step always, other steps a few times a second.
 */
function reporter(job, onProgress) {
  const d = job.data
  const which = d.kind === 'trial' ? { trial: d.trial } : d.kind === 'window' ? { window: d.window } : {}
  let sent = 0
  let valLoss
  return (e) => {
    const now = performance.now()
    if (e.valLoss !== valLoss || e.step === e.maxSteps || now - sent >= PROGRESS_INTERVAL_MS) {
      sent = now
      valLoss = e.valLoss
      job.updateProgress(e).catch(() => {})
    }
    if (onProgress) onProgress({ ...e, searchId: d.batch, ...which })
  }
}

/** The work of each kind of job: a trial's validation loss, a window's forecasts, a fit's saved models. */
const JOBS = {
  async trial(d, data, onProgress, signal) {
    const model = models.reviveModel(d.model)
    const validLoss = await fitTrial(NeuralForecast, model, data, { freq: d.freq, threads: d.threads, valSize: d.valSize, verbose: d.verbose, onProgress, signal })
    return { validLoss: Number.isFinite(validLoss) ? validLoss : null }
  },
  async window(d, data, onProgress, signal) {
    const nf = new NeuralForecast({ models: d.models.map(models.reviveModel), ...d.nf })
    const staticDf = data.staticDf && columnsOf(data.staticDf, false)
    const out = await nf.crossValidation(columnsOf(withoutLast(data.frame, d.drop)), defined({ ...d.cv, nWindows: 1, refit: true, staticDf, signal, onProgress }))
    const columnNames = Object.keys(out).filter((c) => c !== 'unique_id' && c !== 'ds')
    return { uniqueId: out.unique_id, ds: encodeF64(out.ds), columnNames, columns: columnNames.map((c) => encodeF64(out[c])) }
  },
  async fit(d, data, onProgress, signal) {
    const nf = new NeuralForecast({ models: d.models.map(models.reviveModel), ...d.nf })
    const staticDf = data.staticDf && columnsOf(data.staticDf, false)
    await nf.fit(columnsOf(data.frame), defined({ ...d.fit, staticDf, signal, onProgress }))
    // The saved file is the fitted state; `save` writes it atomically.
    const path = join(tmpdir(), `nd-${d.batch}-${process.pid}.nd`)
    let bytes
    try {
      await nf.save(path)
      bytes = await readFile(path)
    } finally {
      await unlink(path).catch(() => {})
    }
    if (Math.ceil(bytes.length / 3) * 4 <= d.resultBytes) return { models: bytes.toString('base64') }
    if (d.dataDir === undefined) {
      throw new RangeError(`BullMQBackend.fit: the fitted models are ${bytes.length} bytes, over option 'maxInlineBytes' (${d.resultBytes}); give option 'dataDir', a directory every worker and the coordinator share, or raise 'maxInlineBytes'`)
    }
    const shared = join(d.dataDir, `nd-${d.batch}-fitted.nd`)
    await writeAtomic(shared, bytes)
    return { path: shared }
  },
}

/** Runs one job; a fit that fails is a result (`error`), not a failed job, so it is not retried. */
async function runJob(job, cache, signal, onProgress) {
  const d = job.data
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  try {
    if (d.v !== JOB_VERSION || !Object.hasOwn(JOBS, d.kind)) {
      throw new NeuroDivergentError(`the job is of format ${describe(d.v)} '${d.kind}', this worker reads ${JOB_VERSION}: run the same neuro-divergent version on the coordinator and the workers`)
    }
    const data = await cache.get(d.data)
    return { ...(await JOBS[d.kind](d, data, reporter(job, onProgress), signal)), fitSeconds: seconds() }
  } catch (e) {
    if (e instanceof AbortError) throw e // the worker is closing: the job is not this fit's failure
    return { validLoss: null, fitSeconds: seconds(), error: (e && e.message) || String(e), errorName: e && e.name }
  }
}

/**
 * Runs trials and cross-validation windows from the queue on this machine until `signal`
 * aborts; then finishes the running ones and resolves. `concurrency` jobs at once (default 1;
 * a trial uses its Auto's `cpus` threads). A killed worker's jobs go back to the queue after
 * `lockDuration` ms (BullMQ's, default 30000) and run on another worker.
 */
async function runTrialWorker(options) {
  const where = 'runTrialWorker'
  const opts = checkKeys(options, WORKER_OPTIONS, where, true)
  const { connection, queue } = target(opts, where)
  const concurrency = whole(opts.concurrency, 'concurrency', where, 1)
  const timing = {
    lockDuration: whole(opts.lockDuration, 'lockDuration', where, undefined),
    stalledInterval: whole(opts.stalledInterval, 'stalledInterval', where, undefined),
  }
  for (const k of Object.keys(timing)) if (timing[k] === undefined) delete timing[k]
  const onProgress = callback(opts.onProgress, 'onProgress', where)
  const signal = abortSignal(opts.signal, where)
  const { Worker } = loadBullMQ()
  if (signal?.aborted) return
  const cache = new DataCache()
  const worker = new Worker(queue, (job, _token, jobSignal) => runJob(job, cache, jobSignal, onProgress), { connection, concurrency, ...timing })
  worker.on('error', warner(where))
  let connected = false
  worker.waitUntilReady().then(() => (connected = true), () => {})
  await new Promise((resolve) => {
    if (!signal) return // runs as long as the process
    signal.addEventListener('abort', resolve, { once: true })
  })
  // Running trials finish first; a worker that never reached Redis has none (and BullMQ's
  // graceful close would wait for that first connection forever).
  await worker.close(!connected)
}

module.exports = { BullMQBackend, runTrialWorker }

'use strict'
// neuro-divergent/queue: Auto* trials fitted by workers on any machine, through BullMQ on Redis.
// The coordinator (the Auto's search) draws every config and ranks the results; a job carries
// one trial (the model's options, the data or a path to it) and its worker fits it off the JS
// thread and returns { validLoss, fitSeconds }. BullMQ delivers a job at least once (a killed
// worker's job goes back to the queue once its lock expires), so each job id is the search's id
// and the trial's number, and the coordinator counts each trial once.

const { randomUUID } = require('node:crypto')
const { writeFile, rename, unlink, readFile, stat } = require('node:fs/promises')
const { join } = require('node:path')
const { NeuralForecast, AbortError } = require('../index.js')
const models = require('./models.js')
const { fitTrial } = require('./auto.js')
const { describe } = require('./frames.js')
const { didYouMean } = require('./suggest.js')
const { NeuroDivergentError } = require('./errors.js')

/** The job format; a worker refuses jobs of another (a coordinator and workers of other versions). */
const JOB_VERSION = 1
const DEFAULT_MAX_INLINE_BYTES = 512 * 1024
const DEFAULT_TPE_CONCURRENCY = 4
/** Progress between validation checks reaches the coordinator at most this often (each is a Redis write). */
const PROGRESS_INTERVAL_MS = 250
const BACKEND_OPTIONS = ['connection', 'queue', 'concurrency', 'maxInlineBytes', 'dataDir']
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

function checkKeys(opts, allowed, where) {
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${where} options must be an object, got ${describe(opts)}`)
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new TypeError(`${where}: unknown option '${k}'${didYouMean(k, allowed)} (allowed: ${allowed.join(', ')})`)
  }
  return opts
}

/** `connection` (ioredis options or an ioredis instance) and `queue` (its name), both required. */
function target(opts, where) {
  if (opts.connection === null || typeof opts.connection !== 'object') {
    throw new TypeError(`${where} option 'connection' must be ioredis connection options such as { host: '127.0.0.1', port: 6379 } or an ioredis instance, got ${describe(opts.connection)}`)
  }
  if (typeof opts.queue !== 'string' || opts.queue.length === 0) throw new TypeError(`${where} option 'queue' must be a non-empty string (the queue's name), got ${describe(opts.queue)}`)
  return { connection: opts.connection, queue: opts.queue }
}

function positive(v, name, where, fallback) {
  if (v === undefined) return fallback
  if (!Number.isSafeInteger(v)) throw new TypeError(`${where} option '${name}' must be a whole number, got ${describe(v)}`)
  if (v < 1) throw new RangeError(`${where} option '${name}' must be >= 1, got ${v}`)
  return v
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

// The converted frames travel as JSON, each Float64Array as the base64 of its bytes (exact, and
// a third of the size of decimal text). Every platform Node runs on is little-endian.
const encodeF64 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

function decodeF64(s, n, what) {
  if (typeof s !== 'string') throw new TypeError(`${what} must be base64 text`)
  // Checked before allocating: 4 base64 characters hold 3 bytes.
  if (Math.floor((s.length * 3) / 4) - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0) !== n * 8) throw new RangeError(`${what} does not hold ${n} numbers`)
  const bytes = Buffer.from(s, 'base64')
  const out = new Float64Array(n)
  new Uint8Array(out.buffer).set(bytes)
  return out
}

function encodeFrame(f) {
  if (f === undefined) return undefined
  return { uniqueId: f.uniqueId, ds: encodeF64(f.ds), y: f.y === undefined ? undefined : encodeF64(f.y), columnNames: f.columnNames, columns: f.columns.map(encodeF64) }
}

function decodeFrame(f, what) {
  if (f === undefined || f === null) return undefined
  if (!Array.isArray(f.uniqueId) || !Array.isArray(f.columnNames) || !Array.isArray(f.columns) || f.columns.length !== f.columnNames.length) {
    throw new TypeError(`${what} is not a frame this version wrote`)
  }
  const n = f.uniqueId.length
  return {
    uniqueId: f.uniqueId,
    ds: decodeF64(f.ds, n, `${what}.ds`),
    y: f.y === undefined || f.y === null ? undefined : decodeF64(f.y, n, `${what}.y`),
    columnNames: f.columnNames,
    columns: f.columns.map((c, i) => decodeF64(c, n, `${what}.${f.columnNames[i]}`)),
  }
}

/** A search's data as one JSON text: the frames as the Auto converted them, and their kinds. */
function encodeData({ frame, staticDf, kinds }) {
  return JSON.stringify({ frame: encodeFrame(frame), staticDf: encodeFrame(staticDf), kinds })
}

function decodeData(text, what) {
  const d = JSON.parse(text)
  return { frame: decodeFrame(d.frame, `${what} frame`), staticDf: decodeFrame(d.staticDf, `${what} staticDf`), kinds: d.kinds }
}

/** Writes `text` to `path` through a temporary file and a rename: a reader never sees half of it. */
async function writeAtomic(path, text) {
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`
  try {
    await writeFile(tmp, text)
    await rename(tmp, path)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
}

/**
 * Auto* search on a BullMQ queue: `new AutoNHITS({ ..., backend: new BullMQBackend({ connection,
 * queue }) })`; each trial is a job that a `runTrialWorker` process fits. One backend serves any
 * number of searches; `close()` it when done (it holds Redis connections).
 */
class BullMQBackend {
  constructor(options) {
    const opts = checkKeys(options, BACKEND_OPTIONS, 'BullMQBackend')
    const { connection, queue } = target(opts, 'BullMQBackend')
    this._lib = loadBullMQ()
    this._connection = connection
    this.queueName = queue
    this._concurrency = positive(opts.concurrency, 'concurrency', 'BullMQBackend', undefined)
    this._maxInlineBytes = opts.maxInlineBytes === undefined ? DEFAULT_MAX_INLINE_BYTES : positive(opts.maxInlineBytes, 'maxInlineBytes', 'BullMQBackend')
    if (opts.dataDir !== undefined && (typeof opts.dataDir !== 'string' || opts.dataDir.length === 0)) {
      throw new TypeError(`BullMQBackend option 'dataDir' must be a directory path every worker can read, got ${describe(opts.dataDir)}`)
    }
    this._dataDir = opts.dataDir
    this._queue = null
    this._events = null
    this._progress = new Map() // job id -> the coordinator's progress callback
    this._warn = warner('BullMQBackend')
  }

  /** The queue and its event stream, opened at the first search. */
  async _ready() {
    if (!this._queue) {
      const { Queue, QueueEvents } = this._lib
      this._queue = new Queue(this.queueName, { connection: this._connection })
      this._events = new QueueEvents(this.queueName, { connection: this._connection })
      // An unhandled 'error' event would throw in the host; ioredis reconnects by itself.
      this._queue.on('error', this._warn)
      // Each trial awaited adds a listener to the queue (BullMQ's waitUntilFinished): a search
      // awaits numSamples of them at once by design.
      this._queue.setMaxListeners(0)
      this._events.on('error', this._warn)
      this._events.on('progress', ({ jobId, data }) => this._progress.get(jobId)?.(data))
    }
    await Promise.all([this._queue.waitUntilReady(), this._events.waitUntilReady()])
  }

  /**
   * Where the workers find a search's data: inside each job under `maxInlineBytes`, else in a
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

  /** One job and its result, `{ validLoss, fitSeconds }`; throws the trial's error as the worker reported it. */
  async _job(jobId, data, onProgress, aborted) {
    if (onProgress) this._progress.set(jobId, onProgress)
    try {
      // An id already in the queue is not added again: a retried coordinator call counts once.
      const job = await this._queue.add('trial', data, { jobId, removeOnComplete: { age: 86400 }, removeOnFail: { age: 86400 } })
      const result = await Promise.race([job.waitUntilFinished(this._events), aborted])
      await job.remove().catch(() => {}) // read: nothing else needs it
      if (result.error !== undefined) throw new NeuroDivergentError(result.error)
      return { validLoss: result.validLoss ?? NaN, fitSeconds: result.fitSeconds }
    } finally {
      this._progress.delete(jobId)
    }
  }

  /** A session of the Auto's search (see lib/auto.js, the local backend): fits trials as jobs. */
  async _open({ data, freq, valSize, verbose, signal, auto }) {
    await this._ready()
    const id = randomUUID()
    const placed = await this._place(encodeData(data), id)
    const jobs = new Set() // ids of this search's jobs not yet read
    // Every waiting trial rejects at once on abort; close() then removes their jobs.
    let onAbort
    const aborted = new Promise((_, reject) => {
      onAbort = () => reject(new AbortError())
      if (signal?.aborted) onAbort()
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    aborted.catch(() => {})
    const backend = this
    return {
      concurrency: this._concurrency ?? (auto._searchAlg === 'tpe' ? DEFAULT_TPE_CONCURRENCY : auto._numSamples),
      async run(trial, model, onProgress) {
        const jobId = `${id}-${trial}`
        jobs.add(jobId)
        const job = { v: JOB_VERSION, kind: 'trial', searchId: id, trial, model: { class: model.className, options: model.options }, freq, valSize, verbose, threads: auto._cpus, data: placed.ref }
        try {
          return await backend._job(jobId, job, onProgress, aborted)
        } finally {
          if (!signal?.aborted) jobs.delete(jobId) // read (a result or a failed trial): nothing to remove
        }
      },
      async close() {
        signal?.removeEventListener('abort', onAbort)
        // The jobs of an aborted search still waiting; a running one finishes on its worker unread.
        await Promise.all([...jobs].map((j) => backend._queue.remove(j).catch(() => 0)))
        await placed.release()
      },
    }
  }

  /** Closes the backend's Redis connections. */
  async close() {
    await Promise.all([this._queue?.close(), this._events?.close()])
  }
}

/** A worker's data of the searches it has seen lately: a search's trials all read the same. */
class DataCache {
  constructor(size = 2) {
    this.size = size
    this.entries = new Map()
  }
  async get(ref) {
    const key = ref.path ?? ref.inline
    if (this.entries.has(key)) return this.entries.get(key)
    let text = ref.inline
    if (text === undefined) {
      if (typeof ref.path !== 'string') throw new TypeError('the job has no data (neither inline nor a path)')
      const { size } = await stat(ref.path)
      if (size !== ref.bytes) throw new RangeError(`the data file ${ref.path} has ${size} bytes, the coordinator wrote ${ref.bytes}`)
      text = await readFile(ref.path, 'utf8')
    }
    const data = decodeData(text, 'the job data')
    this.entries.set(key, data)
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value)
    return data
  }
}

/** Fits one trial job; a trial that fails is a result (`error`), not a failed job, so it is not retried. */
async function fitJob(job, cache, signal, onProgress) {
  const d = job.data
  const started = performance.now()
  const seconds = () => (performance.now() - started) / 1000
  try {
    if (d.v !== JOB_VERSION) throw new NeuroDivergentError(`the job is of format ${describe(d.v)}, this worker reads ${JOB_VERSION}: run the same neuro-divergent version on the coordinator and the workers`)
    const data = await cache.get(d.data)
    const model = models.reviveModel(d.model)
    const { valCheckSteps } = model.config
    let sent = 0
    const progress = (e) => {
      const now = performance.now()
      // Validation checks always reach the coordinator, other steps a few times a second.
      if (e.step % valCheckSteps === 0 || e.step === e.maxSteps || now - sent >= PROGRESS_INTERVAL_MS) {
        sent = now
        job.updateProgress(e).catch(() => {})
      }
      if (onProgress) onProgress({ ...e, searchId: d.searchId, trial: d.trial })
    }
    const validLoss = await fitTrial(NeuralForecast, model, data, { freq: d.freq, threads: d.threads, valSize: d.valSize, verbose: d.verbose, onProgress: progress, signal })
    return { validLoss: Number.isFinite(validLoss) ? validLoss : null, fitSeconds: seconds() }
  } catch (e) {
    if (e instanceof AbortError) throw e // the worker is closing: the job is not this trial's failure
    return { validLoss: null, fitSeconds: seconds(), error: (e && e.message) || String(e) }
  }
}

/**
 * Runs trials from the queue on this machine until `signal` aborts; then finishes the running
 * ones and resolves. `concurrency` trials at once (default 1; each uses the Auto's `cpus`
 * threads). A killed worker's trials go back to the queue after `lockDuration` ms (BullMQ's,
 * default 30000) and run on another worker.
 */
async function runTrialWorker(options) {
  const opts = checkKeys(options, WORKER_OPTIONS, 'runTrialWorker')
  const { connection, queue } = target(opts, 'runTrialWorker')
  const concurrency = positive(opts.concurrency, 'concurrency', 'runTrialWorker', 1)
  const lockDuration = positive(opts.lockDuration, 'lockDuration', 'runTrialWorker', undefined)
  const stalledInterval = positive(opts.stalledInterval, 'stalledInterval', 'runTrialWorker', undefined)
  if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new TypeError(`runTrialWorker option 'onProgress' must be a function, got ${describe(opts.onProgress)}`)
  const { signal } = opts
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function')) {
    throw new TypeError(`runTrialWorker option 'signal' must be an AbortSignal, got ${describe(signal)}`)
  }
  const { Worker } = loadBullMQ()
  if (signal?.aborted) return
  const cache = new DataCache()
  const timing = Object.fromEntries(Object.entries({ lockDuration, stalledInterval }).filter(([, v]) => v !== undefined))
  const worker = new Worker(queue, (job, _token, jobSignal) => fitJob(job, cache, jobSignal, opts.onProgress), { connection, concurrency, ...timing })
  worker.on('error', warner('runTrialWorker'))
  await new Promise((resolve) => {
    if (!signal) return // runs as long as the process
    signal.addEventListener('abort', resolve, { once: true })
  })
  await worker.close()
}

module.exports = { BullMQBackend, runTrialWorker }

'use strict'
// neuro-divergent: NeuralForecast's API for Node.js over a Rust engine. Training and prediction
// run on the engine's own threads and return Promises; the event loop and libuv's threads stay free.

const { native } = require('./lib/native.js')
const { worldOption } = require('./lib/world.js')
const { toNative, withIdRuns, toEngine, fromEngine, toRows, describe, parseDs } = require('./lib/frames.js')
const { didYouMean, checkKeys, wholeNumber } = require('./lib/checks.js')
const { NeuroDivergentError, ModelFileError, AbortError, wrap } = require('./lib/errors.js')
const models = require('./lib/models.js')
const explain = require('./lib/explain.js')
const auto = require('./lib/auto.js')
const { toArrow, toPolars } = require('./lib/external.js')

const CONSTRUCTOR_OPTIONS = ['models', 'freq', 'holidays', 'localScalerType', 'threads']
const LOAD_OPTIONS = ['threads']
const MAX_THREADS = 1024
const LOCAL_SCALER_TYPES = ['standard', 'robust', 'robust-iqr', 'minmax', 'boxcox']
const FIT_OPTIONS = ['valSize', 'staticDf', 'predictionIntervals', 'useInitModels', 'maxSteps', 'checkpointEvery', 'checkpointPath', 'resume', 'onProgress', 'signal', 'verbose', 'world', 'sharded']
const INTERVAL_OPTIONS = ['nWindows', 'stepSize', 'method']
const INTERVAL_METHODS = ['conformal_distribution', 'conformal_error']
const PREDICT_OPTIONS = ['df', 'futrDf', 'staticDf', 'h', 'level', 'signal']
const INSAMPLE_OPTIONS = ['stepSize', 'signal']
const SAVE_OPTIONS = ['weights']
const WEIGHT_TYPES = ['f32', 'bf16', 'f16']
const CV_OPTIONS = ['nWindows', 'testSize', 'stepSize', 'valSize', 'refit', 'useInitModels', 'predictionIntervals', 'level', 'staticDf', 'onProgress', 'signal', 'verbose']

/** A whole-number option the engine stores in 32 bits; `undefined` when not given. */
function count(v, name, where, min = 0) {
  return v === undefined ? undefined : wholeNumber(v, name, where, min, 0xffffffff)
}

/** `threads`: the engine threads each call of the object uses (undefined or null: the core count). */
function threadCount(v, where) {
  if (v === undefined || v === null) return null
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${where} option 'threads' must be a whole number, got ${describe(v)}`)
  if (v < 1 || v > MAX_THREADS) throw new RangeError(`${where} option 'threads' must be from 1 to ${MAX_THREADS}, got ${v}`)
  return v
}

function flag(v, name, where) {
  if (v === undefined) return false
  if (typeof v !== 'boolean') throw new TypeError(`${where} option '${name}' must be true or false, got ${describe(v)}`)
  return v
}

/** fit's `checkpointEvery`, `checkpointPath` and `resume` for the engine; undefined when none is set. */
function checkpointOptions(opts) {
  const every = count(opts.checkpointEvery, 'checkpointEvery', 'fit', 1)
  const resume = flag(opts.resume, 'resume', 'fit')
  const path = opts.checkpointPath
  if (path === undefined && every === undefined && !resume) return undefined
  if (typeof path !== 'string' || path === '') {
    const needs = every !== undefined ? "with 'checkpointEvery'" : resume ? "with 'resume'" : ''
    throw new TypeError(`fit option 'checkpointPath' must be a file path (a non-empty string)${needs && ` ${needs}`}, got ${describe(path)}`)
  }
  return { path, every: every ?? 0, resume }
}

/** `predictionIntervals` (NeuralForecast's `PredictionIntervals`) with its defaults. */
function predictionIntervals(v, where) {
  if (v === undefined || v === null) return undefined
  const opts = checkKeys(v, INTERVAL_OPTIONS, `${where} option 'predictionIntervals'`)
  const nWindows = count(opts.nWindows, 'predictionIntervals.nWindows', where, 2) ?? 2
  const stepSize = count(opts.stepSize, 'predictionIntervals.stepSize', where, 1) ?? 1
  const method = opts.method ?? 'conformal_distribution'
  if (typeof method !== 'string') throw new TypeError(`${where} option 'predictionIntervals.method' must be a string, got ${describe(method)}`)
  if (!INTERVAL_METHODS.includes(method)) {
    throw new RangeError(`${where} option 'predictionIntervals.method' must be one of ${INTERVAL_METHODS.join(', ')}, got ${describe(method)}${didYouMean(method, INTERVAL_METHODS)}`)
  }
  return { nWindows, stepSize, method }
}

/** `level`: numbers (their range is the engine's check). */
function levelList(v, where) {
  if (v === undefined || v === null) return undefined
  if (!isList(v) || Array.from(v).some((l) => typeof l !== 'number')) throw new TypeError(`${where} option 'level' must be an array of numbers such as [80, 90], got ${describe(v)}`)
  return Array.from(v)
}

function progressCallback(fn, where) {
  if (fn === undefined) return undefined
  if (typeof fn !== 'function') throw new TypeError(`${where} option 'onProgress' must be a function, got ${describe(fn)}`)
  // A throwing callback must not take the process down: report it once, keep training.
  let warned = false
  return (e) => {
    try {
      fn(e)
    } catch (err) {
      if (!warned) {
        warned = true
        process.emitWarning(`onProgress threw (further errors are ignored): ${err && err.message}`, 'NeuroDivergentWarning')
      }
    }
  }
}

/**
 * Checks an optional AbortSignal; an already-aborted one rejects before any work is queued.
 * The native side gets a private signal that follows the caller's: napi-rs takes over the
 * `onabort` property of the signal it is given, and the caller's own handler must survive.
 */
function abortSignal(signal, where) {
  if (signal === undefined) return { native: undefined, release() {} }
  if (signal === null || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') {
    throw new TypeError(`${where} option 'signal' must be an AbortSignal, got ${describe(signal)}`)
  }
  if (signal.aborted) throw new AbortError()
  const inner = new AbortController()
  const forward = () => inner.abort(signal.reason)
  signal.addEventListener('abort', forward, { once: true })
  return { native: inner.signal, release: () => signal.removeEventListener('abort', forward) }
}

/**
 * Awaits native work that reports progress. Progress reaches JS through a threadsafe function
 * whose queue may still hold the last event when the work's promise settles; one macrotask turn
 * delivers it, so every event arrives before the caller's `await` returns.
 */
async function withProgress(onProgress, signal, start) {
  try {
    return await wrap(start)
  } finally {
    signal.release()
    if (onProgress) await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Market holidays for a business-day freq: Dates, ISO date strings or epoch ms. */
function holidayList(v) {
  if (v === undefined || v === null) return []
  if (!isList(v)) throw new TypeError(`NeuralForecast option 'holidays' must be an array of dates (Date, 'YYYY-MM-DD' or epoch ms), got ${describe(v)}`)
  return Array.from(v, (d, i) => parseDs(d, "NeuralForecast option 'holidays'", i)[0])
}

function isList(v) {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))
}

/** The model the engine runs for `m`: an Auto* model's best (or, before its search, one draw of its space). */
function declared(m) {
  return m instanceof auto.Auto ? m._declared() : m
}

function nativeConfig(list, freq, holidays, threads) {
  return JSON.stringify({ models: list.map(declared).map((m) => ({ class: m.className, options: m.options })), freq, holidays, threads })
}

/**
 * Warns when a series is too short for one training window with a full horizon. NeuralForecast
 * trains on such windows without a word (the steps past the series' end are masked out of the
 * loss), and so do we; the forecast's later steps then learn from few or no examples.
 */
function warnShortSeries(frame, list, where) {
  const lengths = new Map()
  for (const id of frame.uniqueId) lengths.set(id, (lengths.get(id) ?? 0) + 1)
  for (const m of list) {
    const { inputSize, startPaddingEnabled } = m.config
    // A recurrent model (DeepAR always) trains on inputSize + 1 points before hTrain targets.
    const recurrent = m.className === 'DeepAR' || m.config.recurrent === true
    const h = recurrent ? m.config.hTrain : m.config.h
    const inputs = startPaddingEnabled ? 1 : recurrent ? inputSize + 1 : inputSize
    // Series with no window at all are the engine's error (or, beside longer ones, unused).
    let shortest
    for (const [id, n] of lengths) if (n > inputs && n < inputs + h && (shortest === undefined || n < shortest[1])) shortest = [id, n]
    if (shortest !== undefined) {
      const [id, n] = shortest
      process.emitWarning(
        `${where}: series '${id}' has ${n} points, fewer than the ${inputs + h} that ${m.alias} needs for one training window with a full horizon (${startPaddingEnabled ? 'with start padding, 1 input' : recurrent ? `inputSize ${inputSize} + 1` : `inputSize ${inputSize}`} + ${recurrent ? 'hTrain' : 'h'} ${h}), so the last forecast steps are learned from few or no examples (NeuralForecast trains on such windows the same way, masking the missing targets); use a smaller h or longer series`,
        'NeuroDivergentWarning',
      )
      return
    }
  }
}

/**
 * Fits, predicts, cross-validates, saves and loads a set of models on long-format data.
 *
 * @example
 * const nf = new NeuralForecast({ models: [new NHITS({ h: 12, inputSize: 24 })], freq: 'MS' })
 * await nf.fit(df)
 * const forecast = await nf.predict()
 */
class NeuralForecast {
  constructor(options) {
    const opts = checkKeys(options, CONSTRUCTOR_OPTIONS, 'NeuralForecast')
    if (!Array.isArray(opts.models) || opts.models.length === 0) {
      throw new TypeError(`NeuralForecast option 'models' must be a non-empty array of models, got ${describe(opts.models)}`)
    }
    opts.models.forEach((m, i) => {
      if (!(m instanceof models.Model) && !(m instanceof auto.Auto)) throw new TypeError(`NeuralForecast option 'models' entry ${i} must be a model such as new NHITS({...}), got ${describe(m)}`)
    })
    if (typeof opts.freq !== 'string' && typeof opts.freq !== 'number') {
      throw new TypeError(`NeuralForecast option 'freq' must be a string such as 'MS' or a number (the step of an integer ds), got ${describe(opts.freq)}`)
    }
    if (typeof opts.freq === 'number' && !(Number.isFinite(opts.freq) && opts.freq > 0)) {
      throw new RangeError(`NeuralForecast option 'freq' must be a positive finite number when numeric (the step of an integer ds), got ${opts.freq}`)
    }
    if (opts.localScalerType != null) {
      // NeuralForecast's per-series scaling of the whole frame before training; the engine has no
      // such step yet, so refuse it rather than silently train unscaled.
      if (typeof opts.localScalerType !== 'string') {
        throw new TypeError(`NeuralForecast option 'localScalerType' must be a string or null, got ${describe(opts.localScalerType)}`)
      }
      if (!LOCAL_SCALER_TYPES.includes(opts.localScalerType)) {
        throw new RangeError(`NeuralForecast option 'localScalerType' must be one of ${LOCAL_SCALER_TYPES.join(', ')} or null, got ${describe(opts.localScalerType)}`)
      }
      throw new RangeError(`NeuralForecast option 'localScalerType' ('${opts.localScalerType}') is not supported yet: use each model's 'scalerType' (per-window scaling) instead`)
    }
    const holidays = holidayList(opts.holidays)
    const threads = threadCount(opts.threads, 'NeuralForecast')
    this.models = opts.models
    this.freq = opts.freq
    this._holidays = holidays
    this._threads = threads
    this._native = wrap(() => new native.Forecaster(nativeConfig(opts.models, opts.freq, holidays, threads)))
    // The models `_native` was built from (an Auto* model's best differs from its draw before the search).
    this._engineModels = opts.models.map(declared)
    this._kinds = null
    this._searching = false
  }

  /** Dates need a calendar freq: with a numeric freq they would silently become millisecond steps. */
  _checkDsKind(kinds, where) {
    if (typeof this.freq === 'number' && kinds.ds !== 'number') {
      throw new TypeError(`${where}: ds holds dates but freq is the number ${this.freq} (the step of an integer ds); use a calendar freq such as 'D' or 'MS', or integer ds`)
    }
  }

  /** Trains every model on `df` (rows or columns). Resolves when done; rejects with AbortError if `signal` aborts. */
  async fit(df, options) {
    const opts = checkKeys(options, FIT_OPTIONS, 'fit')
    const valSize = count(opts.valSize, 'valSize', 'fit') ?? 0
    const verbose = flag(opts.verbose, 'verbose', 'fit')
    const intervals = predictionIntervals(opts.predictionIntervals, 'fit')
    const useInitModels = flag(opts.useInitModels, 'useInitModels', 'fit')
    const maxSteps = count(opts.maxSteps, 'maxSteps', 'fit', 1)
    const checkpoint = checkpointOptions(opts)
    if (checkpoint && this.models.some((m) => m instanceof auto.Auto)) {
      throw new TypeError("fit options 'checkpointEvery', 'checkpointPath' and 'resume' checkpoint one fit's training: an Auto* model's search is many fits; checkpoint the refit of its best config with a NeuralForecast of that model instead")
    }
    const onProgress = progressCallback(opts.onProgress, 'fit')
    const worldSharded = worldOption(opts.world, opts.sharded, 'fit')
    if (worldSharded !== undefined && this.models.some((m) => m instanceof auto.Auto)) {
      throw new TypeError("fit option 'world': Auto* models search on one process; fit the best config found with the world")
    }
    const used = models.usedColumns(this.models)
    const { frame, kinds } = toNative(df, 'df', { keep: used.df })
    this._checkDsKind(kinds, 'df')
    const staticDf = opts.staticDf === undefined ? undefined : toNative(opts.staticDf, 'staticDf', { requireY: false, requireDs: false, keep: used.staticDf }).frame
    return this._fitFrames(frame, staticDf, kinds, { valSize, verbose, onProgress, signal: opts.signal, intervals, useInitModels, maxSteps, checkpoint, worldSharded })
  }

  /** `fit` on frames converted already (an Auto* search converts its data once for all its trials). */
  async _fitFrames(frame, staticDf, kinds, opts) {
    // Each Auto* trial warns about its own inputSize.
    warnShortSeries(frame, this.models.filter((m) => !(m instanceof auto.Auto)), 'fit')
    if (this.models.some((m) => m instanceof auto.Auto)) return this._fitWithSearch(frame, staticDf, kinds, opts)
    const signal = abortSignal(opts.signal, 'fit') // last: it adds a listener that the call releases
    await withProgress(opts.onProgress, signal, () =>
      this._native.fit(toEngine(frame), toEngine(staticDf), opts.valSize, undefined, opts.verbose, opts.intervals, opts.useInitModels ?? false, opts.maxSteps, opts.checkpoint, opts.onProgress, signal.native, opts.worldSharded),
    )
    this._kinds = kinds
  }

  /**
   * `fit` with Auto* models (NeuralForecast's core calls each model's fit; an Auto's searches):
   * every Auto's search in turn, then one fit of every model, each Auto as its best config with
   * the validation size NF refits it with, the others with `valSize`.
   */
  async _fitWithSearch(frame, staticDf, kinds, opts) {
    abortSignal(opts.signal, 'fit').release() // checks it (and refuses an aborted one) before any trial
    if (this._searching) throw new NeuroDivergentError('fit: this NeuralForecast is already running a fit or crossValidation; await it (or abort it with its signal) before starting another')
    this._searching = true
    try {
      const valSizes = []
      for (const m of this.models) {
        valSizes.push(m instanceof auto.Auto ? await m._search(NeuralForecast, { frame, staticDf, kinds }, { ...opts, freq: this.freq }) : opts.valSize)
      }
      const engineModels = this.models.map(declared)
      const next = wrap(() => new native.Forecaster(nativeConfig(engineModels, this.freq, this._holidays, this._threads)))
      const signal = abortSignal(opts.signal, 'fit')
      // A new engine object: nothing to continue from, so useInitModels changes nothing here.
      await withProgress(opts.onProgress, signal, () =>
        next.fit(toEngine(frame), toEngine(staticDf), opts.valSize, valSizes, opts.verbose, opts.intervals, false, opts.maxSteps, undefined, opts.onProgress, signal.native),
      )
      this._native = next
      this._engineModels = engineModels
      this._kinds = kinds
    } finally {
      this._searching = false
    }
  }

  /**
   * Forecasts `h` steps after the end of every series: of `df` when given, else of the data seen in `fit`.
   * `futrDf` holds future values of the models' `futrExogList` columns. `h` beyond the trained horizon
   * (NeuralForecast's `predict(h=...)`): recurrent models step further, the others forecast recursively.
   * `signal` (an AbortSignal) stops the work between inference batches and rejects with `AbortError`.
   */
  async predict(options) {
    const opts = checkKeys(options, PREDICT_OPTIONS, 'predict')
    let kinds = this._kinds ?? { id: 'string', ds: 'number' }
    let df
    const used = models.usedColumns(this._engineModels)
    if (opts.df !== undefined) {
      const n = toNative(opts.df, 'df', { keep: used.df })
      df = withIdRuns(n.frame)
      kinds = n.kinds
      this._checkDsKind(kinds, 'df')
    }
    const futrDf = opts.futrDf === undefined ? undefined : toNative(opts.futrDf, 'futrDf', { requireY: false, keep: used.futrDf }).frame
    const staticDf = opts.staticDf === undefined ? undefined : toNative(opts.staticDf, 'staticDf', { requireY: false, requireDs: false, keep: used.staticDf }).frame
    const h = opts.h === undefined || opts.h === null ? undefined : count(opts.h, 'h', 'predict', 1)
    const level = levelList(opts.level, 'predict')
    const signal = abortSignal(opts.signal, 'predict') // last: it adds a listener that the call releases
    try {
      const out = fromEngine(await wrap(() => this._native.predict(toEngine(df), toEngine(futrDf), toEngine(staticDf), h, level, signal.native)), kinds)
      this.models.forEach((m, i) => m instanceof models.TFT && explain.link(m, () => this._native.explanation(i)))
      return out
    } finally {
      signal.release()
    }
  }

  /**
   * NeuralForecast's `predict_insample`: forecasts of `h` steps from cutoffs `stepSize` (default 1)
   * apart across the data seen in `fit`, the first before the first point, the last `h` steps
   * before each series' end; columns `unique_id`, `ds`, `cutoff`, the models', `y`. Not for
   * multivariate models (nor in NeuralForecast).
   */
  async predictInsample(options) {
    const opts = checkKeys(options, INSAMPLE_OPTIONS, 'predictInsample')
    const stepSize = count(opts.stepSize, 'stepSize', 'predictInsample', 1) ?? 1
    const signal = abortSignal(opts.signal, 'predictInsample')
    try {
      return fromEngine(await wrap(() => this._native.predictInsample(stepSize, signal.native)), this._kinds ?? { id: 'string', ds: 'number' })
    } finally {
      signal.release()
    }
  }

  /**
   * NeuralForecast's `make_future_dataframe`: `unique_id` and `ds` of the `h` steps (default: the
   * models' horizon) after the end of every series of `df`, or of the data seen in `fit`. Add the
   * `futrExogList` columns to it and pass it as `predict`'s `futrDf`.
   */
  makeFutureDataframe(df, h) {
    const { frame, kinds } = this._historyFrame(df, 'makeFutureDataframe')
    return fromEngine(wrap(() => this._native.makeFutureDataframe(toEngine(frame), count(h ?? undefined, 'h', 'makeFutureDataframe', 1))), kinds)
  }

  /** NeuralForecast's `get_missing_future`: the rows of `makeFutureDataframe(df, h)` that `futrDf` lacks. */
  getMissingFuture(futrDf, df, h) {
    const { frame, kinds } = this._historyFrame(df, 'getMissingFuture')
    const futr = toNative(futrDf, 'futrDf', { requireY: false, keep: new Set() }).frame
    return fromEngine(wrap(() => this._native.getMissingFuture(toEngine(futr), toEngine(frame), count(h ?? undefined, 'h', 'getMissingFuture', 1))), kinds)
  }

  /** `df` converted (only its ids, ds and y are needed), or the fitted data's kinds when absent. */
  _historyFrame(df, where) {
    if (df === undefined || df === null) return { frame: undefined, kinds: this._kinds ?? { id: 'string', ds: 'number' } }
    const n = toNative(df, 'df', { keep: new Set() })
    this._checkDsKind(n.kinds, where)
    return n
  }

  /**
   * Rolling-origin evaluation: `nWindows` forecasts `stepSize` apart at the end of each series,
   * with columns `cutoff` and `y` added. Retrains per window when `refit` is true. `testSize`
   * (NeuralForecast's alternative to `nWindows`) is the length of the evaluated tail:
   * `nWindows = (testSize - h) / stepSize + 1`.
   */
  async crossValidation(df, options) {
    const opts = checkKeys(options, CV_OPTIONS, 'crossValidation')
    const searched = this.models.find((m) => m instanceof auto.Auto)
    if (searched) {
      throw new TypeError(`crossValidation does not search: ${searched.alias} is an Auto* model; fit it, then cross-validate its best config (${searched.alias}.model) in a NeuralForecast of its own`)
    }
    const stepSize = count(opts.stepSize, 'stepSize', 'crossValidation', 1) ?? 1
    const testSize = count(opts.testSize, 'testSize', 'crossValidation', 1)
    let nWindows = count(opts.nWindows, 'nWindows', 'crossValidation', 1)
    if (testSize !== undefined) {
      // NeuralForecast's rules: one of the two, and a test size made of whole steps after h.
      if (nWindows !== undefined) throw new TypeError("crossValidation: give 'nWindows' or 'testSize', not both")
      const h = this.models[0].h
      if (testSize < h) throw new RangeError(`crossValidation option 'testSize' must be >= h (${h}), got ${testSize}`)
      if ((testSize - h) % stepSize !== 0) {
        throw new RangeError(`crossValidation option 'testSize' minus h must be divisible by 'stepSize': ${testSize} - ${h} is not a multiple of ${stepSize}`)
      }
      nWindows = (testSize - h) / stepSize + 1
    }
    nWindows ??= 1
    const valSize = count(opts.valSize, 'valSize', 'crossValidation') ?? 0
    const refit = flag(opts.refit, 'refit', 'crossValidation')
    const useInitModels = flag(opts.useInitModels, 'useInitModels', 'crossValidation')
    const intervals = predictionIntervals(opts.predictionIntervals, 'crossValidation')
    const level = levelList(opts.level, 'crossValidation')
    const verbose = flag(opts.verbose, 'verbose', 'crossValidation')
    const onProgress = progressCallback(opts.onProgress, 'crossValidation')
    const used = models.usedColumns(this.models)
    const { frame, kinds } = toNative(df, 'df', { keep: used.df })
    this._checkDsKind(kinds, 'df')
    const staticDf = opts.staticDf === undefined ? undefined : toNative(opts.staticDf, 'staticDf', { requireY: false, requireDs: false, keep: used.staticDf }).frame
    const signal = abortSignal(opts.signal, 'crossValidation') // last: it adds a listener that the call releases
    const out = await withProgress(onProgress, signal, () =>
      this._native.crossValidation(toEngine(frame), toEngine(staticDf), nWindows, stepSize, valSize, refit, useInitModels, intervals, level, verbose, onProgress, signal.native),
    )
    this._kinds = kinds
    return fromEngine(out, kinds)
  }

  /**
   * Saves models, weights and fitted data to one file at `path` (written atomically). `weights`:
   * 'f32' (default), or 'bf16' / 'f16' to store the weights in 16 bits (PyTorch's bfloat16 and
   * float16): half the bytes, and a loaded model's one-series forecasts read them.
   */
  async save(path, options) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError(`save needs a file path, got ${describe(path)}`)
    const opts = checkKeys(options, SAVE_OPTIONS, 'save')
    const weights = opts.weights ?? 'f32'
    if (!WEIGHT_TYPES.includes(weights)) throw new RangeError(`save option 'weights' must be one of ${WEIGHT_TYPES.map((w) => `'${w}'`).join(', ')}, got ${describe(weights)}`)
    // An Auto* model is saved as its best model under the Auto's name, as NeuralForecast does.
    const saved = this._engineModels.map((m) => ({ class: m.className, options: m.options }))
    await wrap(() => this._native.save(path, JSON.stringify({ kinds: this._kinds, freq: this.freq, models: saved }), weights))
  }

  /** Loads a NeuralForecast saved by `save`; `threads` as the constructor's (not saved: it is the machine's). */
  static async load(path, options) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError(`load needs a file path, got ${describe(path)}`)
    const threads = threadCount(checkKeys(options, LOAD_OPTIONS, 'load').threads, 'load')
    const inner = await wrap(() => native.loadForecaster(path, threads ?? undefined))
    const nf = Object.create(NeuralForecast.prototype)
    const extra = JSON.parse(inner.extra()) ?? {}
    nf._native = inner
    nf._kinds = extra.kinds ?? null
    nf.freq = extra.freq
    // The model objects as they were declared (files written before they were saved have none).
    nf.models = Array.isArray(extra.models) ? extra.models.map(models.reviveModel) : []
    nf._engineModels = nf.models
    return nf
  }
}

module.exports = {
  NeuralForecast,
  toRows,
  toArrow,
  toPolars,
  ...models.modelClasses,
  ...models.lossClasses,
  ...auto.autoClasses,
  Auto: auto.Auto,
  choice: auto.choice,
  uniform: auto.uniform,
  loguniform: auto.loguniform,
  quniform: auto.quniform,
  randint: auto.randint,
  Model: models.Model,
  Loss: models.Loss,
  NeuroDivergentError,
  ModelFileError,
  AbortError,
}

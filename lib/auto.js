'use strict'
// Auto* models: NeuralForecast's hyperparameter search (BaseAuto) over our models. A search samples
// `numSamples` configs from a space (random, as Ray Tune's default, or TPE, as Optuna's), fits
// each with the validation split on its own engine pool of `cpus` threads, several side by side,
// and refits the config with the lowest final validation loss; the Auto model then forecasts,
// saves and loads as that model under the Auto's name.

const os = require('node:os')
const models = require('./models.js')
const { describe } = require('./frames.js')
const { didYouMean, wholeNumber } = require('./checks.js')
const { NeuroDivergentError, AbortError } = require('./errors.js')
const { Rng, Domain, choice, uniform, loguniform, quniform, randint } = require('./space.js')
const tpe = require('./tpe.js')

const OPTIONS = ['h', 'nSeries', 'loss', 'validLoss', 'config', 'numSamples', 'searchAlg', 'scheduler', 'cpus', 'refitWithVal', 'alias', 'randomSeed', 'backend']
const SEARCH_ALGS = ['random', 'tpe']
const SCHEDULERS = ['fifo', 'asha']
/** Set by the Auto class itself, never by the space (NeuralForecast's BaseAuto refuses them too). */
const RESERVED = { h: 'h', loss: 'loss', validLoss: 'validLoss' }

// NeuralForecast 3.3.0's `default_config` of each Auto class, in our option names. The
// `inputSizeMultiplier` entries become `inputSize` choices of h multiples, as NF's
// `get_default_config`; `kind` says which extra entries that adds ('recurrent': an
// `inferenceInputSize`; otherwise a `stepSize` choice of 1 or h). NF's `scaler_type: None` is
// our 'identity' (NF's TemporalNorm without a scaler); `h` and `loss` (None there) are set by the
// Auto class.
const scalers = choice(['identity', 'robust', 'standard'])
const RECURRENT = {
  // NF multiplies h by -1, and a model given an inputSize below 1 takes 3h: our -1 says 3h.
  inputSizeMultiplier: [-1, 4, 16, 64],
  inferenceInputSizeMultiplier: [-1],
  encoderHiddenSize: choice([16, 32, 64, 128]),
  encoderNLayers: randint(1, 4),
  contextSize: choice([5, 10, 50]), // deprecated in NF's RNN/LSTM/GRU (ignored), kept as NF's space
  decoderHiddenSize: choice([16, 32, 64, 128]),
  learningRate: loguniform(1e-4, 1e-1),
  maxSteps: choice([500, 1000]),
  batchSize: choice([16, 32]),
  randomSeed: randint(1, 20),
}
const WINDOWS = {
  inputSizeMultiplier: [1, 2, 3, 4, 5],
  learningRate: loguniform(1e-4, 1e-1),
  scalerType: scalers,
  maxSteps: choice([500, 1000]),
  batchSize: choice([32, 64, 128, 256]),
  windowsBatchSize: choice([128, 256, 512, 1024]),
  randomSeed: randint(1, 20),
}
const TRANSFORMER = { ...WINDOWS, hiddenSize: choice([64, 128, 256]), nHead: choice([4, 8]), maxSteps: choice([500, 1000, 2000]) }
const LINEAR = { ...WINDOWS, maxSteps: quniform(500, 1500, 100) }
const MIXER = {
  inputSizeMultiplier: [1, 2, 3, 4],
  nBlock: choice([1, 2, 4, 6, 8]),
  learningRate: loguniform(1e-4, 1e-2),
  ffDim: choice([32, 64, 128]),
  scalerType: scalers,
  maxSteps: choice([500, 1000, 2000]),
  batchSize: choice([32, 64, 128, 256]),
  dropout: uniform(0.0, 0.99),
  randomSeed: randint(1, 20),
}
const without = (space, ...keys) => Object.fromEntries(Object.entries(space).filter(([k]) => !keys.includes(k)))

const DEFAULT_CONFIGS = {
  RNN: { kind: 'recurrent', space: RECURRENT },
  LSTM: { kind: 'recurrent', space: RECURRENT },
  GRU: { kind: 'recurrent', space: RECURRENT },
  // NF's TCN space also sets inferenceInputSize to -h, which NF reads as inputSize: what our TCN,
  // which has no such option, always does.
  TCN: { kind: 'recurrent', space: { ...without(RECURRENT, 'encoderNLayers', 'inferenceInputSizeMultiplier'), decoderHiddenSize: choice([32, 64]) } },
  DeepAR: {
    space: {
      ...without(WINDOWS, 'scalerType'),
      lstmHiddenSize: choice([32, 64, 128, 256]),
      lstmNLayers: randint(1, 4),
      lstmDropout: uniform(0.0, 0.5),
      scalerType: choice(['robust', 'minmax1']),
      maxSteps: choice([500, 1000, 2000]),
    },
    // NF's AutoDeepAR validates on MQLoss(level=[80, 90]); its loss is DeepAR's own default.
    validLoss: () => new models.MQLoss({ level: [80, 90] }),
  },
  BiTCN: { space: { ...WINDOWS, hiddenSize: choice([16, 32]), dropout: uniform(0.0, 0.99), maxSteps: choice([500, 1000, 2000]) } },
  MLP: { space: { ...WINDOWS, hiddenSize: choice([256, 512, 1024]), numLayers: randint(2, 6) } },
  NBEATS: { space: WINDOWS },
  NBEATSx: { space: WINDOWS },
  NHITS: {
    space: {
      ...LINEAR,
      nPoolKernelSize: choice([[2, 2, 1], [1, 1, 1], [2, 2, 2], [4, 4, 4], [8, 4, 1], [16, 8, 1]]),
      nFreqDownsample: choice([[168, 24, 1], [24, 12, 1], [180, 60, 1], [60, 8, 1], [40, 20, 1], [1, 1, 1]]),
    },
  },
  DLinear: { space: { ...LINEAR, movingAvgWindow: choice([11, 25, 51]) } },
  NLinear: { space: LINEAR },
  TiDE: {
    space: {
      ...LINEAR,
      hiddenSize: choice([256, 512, 1024]),
      decoderOutputDim: choice([8, 16, 32]),
      temporalDecoderDim: choice([32, 64, 128]),
      numEncoderLayers: choice([1, 2, 3]),
      numDecoderLayers: choice([1, 2, 3]),
      temporalWidth: choice([4, 8, 16]),
      dropout: choice([0.0, 0.1, 0.2, 0.3, 0.5]),
      layernorm: choice([true, false]),
      learningRate: loguniform(1e-5, 1e-2),
    },
  },
  DeepNPTS: { space: { ...LINEAR, hiddenSize: choice([16, 32, 64]), dropout: uniform(0.0, 0.99), nLayers: choice([1, 2, 4]) } },
  TFT: { space: TRANSFORMER },
  VanillaTransformer: { space: TRANSFORMER },
  Informer: { space: TRANSFORMER },
  Autoformer: { space: TRANSFORMER },
  FEDformer: { space: without(TRANSFORMER, 'nHead') },
  PatchTST: {
    space: {
      ...WINDOWS,
      inputSizeMultiplier: [1, 2, 3],
      hiddenSize: choice([16, 128, 256]),
      nHeads: choice([4, 16]),
      patchLen: choice([16, 24]),
      revin: choice([false, true]),
      maxSteps: choice([500, 1000, 5000]),
    },
  },
  TimesNet: {
    space: {
      ...WINDOWS,
      hiddenSize: choice([32, 64, 128]),
      convHiddenSize: choice([32, 64, 128]),
      scalerType: choice(['robust', 'standard']),
      maxSteps: choice([500, 1000, 2000]),
      batchSize: choice([32, 64, 128]),
      windowsBatchSize: choice([32, 64, 128, 256]),
    },
  },
  // Multivariate: `nSeries` is the Auto's own option (NF's AutoiTransformer(h, n_series)).
  iTransformer: { multivariate: true, space: { ...without(WINDOWS, 'windowsBatchSize'), hiddenSize: choice([64, 128, 256]), nHeads: choice([4, 8]), maxSteps: choice([500, 1000, 2000]) } },
  StemGNN: {
    multivariate: true,
    space: { ...without(WINDOWS, 'windowsBatchSize'), inputSizeMultiplier: [1, 2, 3, 4], nStacks: choice([2]), multiLayer: choice([3, 5, 7]), maxSteps: choice([500, 1000, 2000]) },
  },
  TSMixer: { multivariate: true, space: MIXER },
  TSMixerx: { multivariate: true, space: MIXER },
  MLPMultivariate: { multivariate: true, space: { ...without(WINDOWS, 'windowsBatchSize'), hiddenSize: choice([256, 512, 1024]), numLayers: randint(2, 6) } },
}

/**
 * NF's `_translate_input_size_multipliers`: `inputSizeMultiplier` (and the inference one) become
 * `inputSize` (a choice of h multiples when a list), unless the size itself is given.
 */
function translateMultipliers(config, h) {
  const out = { ...config }
  for (const [multiplier, size] of [['inputSizeMultiplier', 'inputSize'], ['inferenceInputSizeMultiplier', 'inferenceInputSize']]) {
    if (!(multiplier in out)) continue
    const m = out[multiplier]
    delete out[multiplier]
    if (size in out) continue
    // A negative multiple is NF's way to ask for the model's default (-1 here, see RECURRENT).
    const times = (x) => (x < 0 ? -1 : h * x)
    out[size] = Array.isArray(m) ? choice([...new Set(m.map(times))]) : times(m)
  }
  return out
}

/** NF's `get_default_config(h, n_series)`: the class's default space resolved against h. */
function defaultSpace(className, h, nSeries) {
  const d = DEFAULT_CONFIGS[className]
  const space = translateMultipliers(d.space, h)
  if (d.kind !== 'recurrent') space.stepSize = choice(h === 1 ? [1] : [1, h])
  if (d.multivariate) space.nSeries = nSeries
  return space
}

/** An Optuna-style trial handed to a `config` function; each suggestion goes to the search's sampler. */
function trialApi(number, suggest) {
  return {
    number,
    suggestCategorical: (name, choices) => suggest(name, choice(choices)),
    /** Optuna's suggest_int: a whole number in [low, high], both included. */
    suggestInt: (name, low, high) => suggest(name, randint(low, high + 1)),
    /** Optuna's suggest_float: uniform, `{ log: true }` loguniform, `{ step }` quantized. */
    suggestFloat: (name, low, high, opts = {}) => {
      for (const k of Object.keys(opts)) if (k !== 'log' && k !== 'step') throw new TypeError(`suggestFloat: unknown option '${k}' (allowed: log, step)`)
      if (opts.log && opts.step !== undefined) throw new TypeError("suggestFloat: give 'log' or 'step', not both")
      return suggest(name, opts.log ? loguniform(low, high) : opts.step !== undefined ? quniform(low, high, opts.step) : uniform(low, high))
    },
  }
}

/** Draws one config: the space's (or the function's) entries, each Domain through `suggest`. */
function sampleConfig(config, h, number, suggest) {
  const raw = typeof config === 'function' ? config(trialApi(number, suggest)) : config
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TypeError(`the 'config' function must return an object of options, got ${describe(raw)}`)
  }
  const space = translateMultipliers(raw, h)
  return Object.fromEntries(Object.entries(space).map(([k, v]) => [k, v instanceof Domain ? suggest(k, v) : v]))
}

/** Trials with a finite loss first, by loss, ties and failures by trial number. */
function byLoss(a, b) {
  const fa = Number.isFinite(a.validLoss)
  const fb = Number.isFinite(b.validLoss)
  if (fa !== fb) return fa ? -1 : 1
  return (fa ? a.validLoss - b.validLoss : 0) || a.trial - b.trial
}

/**
 * Runs `task(i)` for i in [first, end), at most `limit` at once, starting them in order (each
 * `task` call begins synchronously, so what it draws at its start follows i, not timing); stops
 * starting new ones once `stop()`.
 */
async function runPool(first, end, limit, stop, task) {
  let next = first
  const worker = async () => {
    while (next < end && !stop()) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(limit, end - first) }, worker))
}

/** The base of every Auto* class: a search over one model class. */
class Auto {
  constructor(className, autoName, options) {
    const opts = models.optionsObject(options, autoName)
    for (const k of Object.keys(opts)) {
      if (!OPTIONS.includes(k)) throw new TypeError(`${autoName}: unknown option '${k}'${didYouMean(k, OPTIONS)} (allowed: ${OPTIONS.join(', ')})`)
    }
    const d = DEFAULT_CONFIGS[className]
    const h = wholeNumber(opts.h, 'h', autoName, 1)
    let nSeries
    if (d.multivariate) nSeries = wholeNumber(opts.nSeries, 'nSeries', autoName, 1)
    else if (opts.nSeries !== undefined) throw new TypeError(`${autoName}: option 'nSeries' is for multivariate models; ${className} forecasts each series on its own`)
    for (const [name, v] of [['loss', opts.loss], ['validLoss', opts.validLoss]]) {
      if (v !== undefined && !(v instanceof models.Loss)) throw new TypeError(`${autoName} option '${name}' must be a loss such as new MAE(), got ${describe(v)}`)
    }
    const config = opts.config ?? defaultSpace(className, h, nSeries)
    if (typeof config !== 'function' && (config === null || typeof config !== 'object' || Array.isArray(config))) {
      throw new TypeError(`${autoName} option 'config' must be an object of options and search spaces, or a function of a trial, got ${describe(config)}`)
    }
    if (typeof config === 'object') {
      for (const k of Object.keys(RESERVED)) {
        if (k in config) throw new TypeError(`${autoName} option 'config': set '${k}' as the ${autoName} option '${k}', not in config (as NeuralForecast's BaseAuto)`)
      }
      // NF's AutoiTransformer & co. always use the n_series they were given.
      if (d.multivariate && config.nSeries !== undefined && config.nSeries !== nSeries) {
        throw new TypeError(`${autoName} option 'config': nSeries must be the ${autoName} option 'nSeries' (${nSeries}), got ${describe(config.nSeries)}`)
      }
    }
    const searchAlg = opts.searchAlg ?? 'random'
    if (!SEARCH_ALGS.includes(searchAlg)) throw new RangeError(`${autoName} option 'searchAlg' must be one of ${SEARCH_ALGS.join(', ')}, got ${describe(searchAlg)}`)
    const scheduler = opts.scheduler ?? 'fifo'
    if (!SCHEDULERS.includes(scheduler)) throw new RangeError(`${autoName} option 'scheduler' must be one of ${SCHEDULERS.join(', ')}, got ${describe(scheduler)}`)
    if (opts.refitWithVal !== undefined && typeof opts.refitWithVal !== 'boolean') throw new TypeError(`${autoName} option 'refitWithVal' must be true or false, got ${describe(opts.refitWithVal)}`)
    if (opts.alias !== undefined && typeof opts.alias !== 'string') throw new TypeError(`${autoName} option 'alias' must be a string, got ${describe(opts.alias)}`)
    const backend = opts.backend ?? localBackend
    if (backend === null || typeof backend !== 'object' || typeof backend._open !== 'function') {
      throw new TypeError(`${autoName} option 'backend' must be a search backend such as new BullMQBackend({ connection, queue }) from 'neuro-divergent/queue', got ${describe(backend)}`)
    }
    // ASHA decides as each validation check comes in, which only the local backend can act on.
    if (scheduler === 'asha' && backend !== localBackend) throw new TypeError(`${autoName}: scheduler 'asha' needs the local backend (a queue's trials run to their end); drop 'backend' or use scheduler 'fifo'`)
    const defaults = { loss: opts.loss, validLoss: opts.validLoss ?? d.validLoss?.() }
    Object.defineProperties(this, {
      className: { value: autoName, enumerable: true },
      baseClassName: { value: className, enumerable: true },
      options: { value: Object.freeze({ ...opts }), enumerable: true },
    })
    this._h = h
    this._space = typeof config === 'object' ? { ...config } : config
    this._fixed = Object.fromEntries(Object.entries({ h, ...defaults, nSeries }).filter(([, v]) => v !== undefined))
    this._numSamples = wholeNumber(opts.numSamples ?? 10, 'numSamples', autoName, 1)
    this._searchAlg = searchAlg
    this._scheduler = scheduler
    this._backend = backend
    this._cpus = wholeNumber(opts.cpus ?? 1, 'cpus', autoName, 1)
    this._seed = wholeNumber(opts.randomSeed ?? 1, 'randomSeed', autoName, 0)
    // NF refits with the validation part when asked, or when the space sets early stopping
    // (which needs a validation loss).
    this._refitWithVal = opts.refitWithVal === true || (typeof config === 'object' && 'earlyStopPatienceSteps' in config)
    /** Every trial of the last search, best first: `{ trial, config, validLoss, fitSeconds }`. */
    this.results = []
    /** The refit model of the best config once fitted (a plain model named as the Auto). */
    this.model = null
    this._probe = this._firstValidDraw()
  }

  /**
   * Checks the space as NF's constructor does (unknown option names, missing required ones such
   * as inputSize): a few draws until one builds. Single draws may still be refused (NF's default
   * spaces hold combinations our memory check or the model refuses, e.g. PatchTST's patchLen 24
   * over inputSize h); those trials fail and are recorded, as NF's Ray backend records them.
   */
  _firstValidDraw() {
    const rng = new Rng(this._seed ^ 0x5a5a5a5a)
    let first
    for (let i = 0; i < 32; i++) {
      try {
        return this._build(sampleConfig(this._space, this._h, 0, (_, dom) => dom.sample(rng)), `${this.className} option 'config'`)
      } catch (e) {
        first ??= e
        if (!(e instanceof RangeError)) break // a wrong name or type fails every draw
      }
    }
    throw first
  }

  /** The output column name: `alias`, or the class name (`AutoNHITS`), as NF's repr. */
  get alias() {
    return this.options.alias ?? this.className
  }
  get h() {
    return this._h
  }
  /** The best model's options once fitted, else one draw of the space (for the exogenous columns). */
  get config() {
    const base = (this.model ?? this._probe).config
    if (this.model || typeof this._space !== 'object') return base
    // Exogenous lists searched over: every listed column may be read (as NF's _get_needed_exog).
    const union = (key) => {
      const v = this._space[key]
      return v instanceof Domain && v.kind === 'choice' ? [...new Set(v.categories.flat())] : base[key]
    }
    return { ...base, futrExogList: union('futrExogList'), histExogList: union('histExogList'), statExogList: union('statExogList') }
  }

  /** The model the engine runs: the best once searched, else one draw of the space (under the Auto's name). */
  _declared() {
    return this.model ?? (this._probeNamed ??= this._build(this._probe.options, this.className, this.alias))
  }

  /** The base model of `config` with the Auto's own options; errors name `where`. */
  _build(config, where, alias) {
    const Base = models.modelClasses[this.baseClassName]
    try {
      return new Base({ ...config, ...this._fixed, ...(alias ? { alias } : {}) })
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) throw new e.constructor(`${where}: ${e.message}`)
      throw e
    }
  }

  /**
   * The search (NF's BaseAuto.fit): `numSamples` trials, each a fit with the last `valSize`
   * points (h when 0, as NF) held out, then the best config built as `this.model`. Returns the
   * validation size its refit trains with. `NeuralForecast` is passed in to avoid a require cycle.
   * The configs are drawn here; the backend only fits them (here, or on a queue's workers).
   */
  async _search(NeuralForecast, data, { freq, valSize, onProgress, signal, verbose }) {
    const vs = valSize > 0 ? valSize : this._h
    const rng = new Rng(this._seed)
    const history = [] // finished trials, in trial order: what TPE learns from
    const results = []
    const session = await this._backend._open({ NeuralForecast, data, freq, valSize: vs, verbose, signal, auto: this })
    const parallel = session.concurrency
    // TPE draws a round of `parallel` configs from the trials finished before the round, so the
    // order trials finish in never changes the search; random search is one round (each trial
    // draws as it starts, in trial order).
    const round = this._searchAlg === 'tpe' ? parallel : this._numSamples
    let aborted = false
    let fatal = null // an error of the data itself, the same for every trial: it ends the search
    const stop = () => aborted || fatal !== null || (signal !== undefined && signal.aborted)
    try {
      for (let first = 0; first < this._numSamples && !stop(); first += round) {
        const known = history.slice()
        const draw = (trial) => {
          const domains = {}
          const config = sampleConfig(this._space, this._h, trial, (name, dom) => {
            domains[name] = dom
            return this._searchAlg === 'tpe' ? tpe.suggest(name, dom, known, rng) : dom.sample(rng)
          })
          return { trial, config, domains }
        }
        const run = async (i) => {
          let t
          try {
            t = draw(i)
          } catch (e) {
            fatal ??= e // the config function threw: stop before more trials start
            return
          }
          const started = performance.now()
          const entry = { trial: t.trial, config: t.config, validLoss: NaN, fitSeconds: 0 }
          // `onProgress` is fit's, which catches what the caller's callback throws.
          const progress = onProgress && ((e) => onProgress({ ...e, model: this.alias, trial: t.trial }))
          try {
            const model = this._build(t.config, `${this.className} trial ${t.trial}`)
            Object.assign(entry, await session.run(t.trial, model, progress))
          } catch (e) {
            entry.fitSeconds = (performance.now() - started) / 1000
            if (signal && signal.aborted) {
              aborted = true
              return
            } else if (/^(df|staticDf): /.test(e && e.message)) {
              fatal ??= e
              return
            }
            // NF's Ray backend records a failed trial (a config that does not fit the data, a
            // diverged training) and goes on; so do we, with its error.
            entry.error = e && e.message
          }
          results.push(entry)
          if (Number.isFinite(entry.validLoss)) history.push({ trial: t.trial, params: pick(t.config, t.domains), domains: t.domains, loss: entry.validLoss })
        }
        await runPool(first, Math.min(first + round, this._numSamples), parallel, stop, run)
        history.sort((a, b) => a.trial - b.trial)
      }
    } finally {
      await session.close()
    }
    this.results = results.sort(byLoss)
    if (fatal) throw fatal
    if (stop()) throw new AbortError()
    const best = this.results[0]
    if (!Number.isFinite(best.validLoss)) {
      throw new NeuroDivergentError(`${this.alias}: all ${this.results.length} trials failed; the first: ${this.results.find((r) => r.error)?.error ?? 'no validation loss'}`)
    }
    this.model = this._build(best.config, `${this.className} best config`, this.alias)
    return this._refitWithVal ? vs : 0
  }
}

/**
 * Fits one trial's model with the last `valSize` points held out, off the JS thread; resolves
 * to its final validation loss (NaN without one). The local backend and the queue's workers
 * both fit through here.
 */
async function fitTrial(NeuralForecast, model, { frame, staticDf, kinds }, { freq, threads, valSize, verbose, onProgress, signal }) {
  let validLoss = NaN
  const nf = new NeuralForecast({ models: [model], freq, threads })
  const progress = (e) => {
    if (e.valLoss !== null && e.valLoss !== undefined) validLoss = e.valLoss
    if (onProgress) onProgress(e)
  }
  await nf._fitFrames(frame, staticDf, kinds, { valSize, verbose, onProgress: progress, signal })
  return validLoss
}

/**
 * The default backend: trials on this machine, as many side by side as `cpus`-thread pools fit
 * on its cores, each on its own engine pool; runs ASHA when the Auto asks for it.
 */
const localBackend = {
  _open({ NeuralForecast, data, freq, valSize, verbose, signal, auto }) {
    const asha = auto._scheduler === 'asha' ? new Asha() : null
    return {
      concurrency: Math.max(1, Math.min(auto._numSamples, Math.floor(os.availableParallelism() / auto._cpus))),
      async run(trial, model, onProgress) {
        const started = performance.now()
        let validLoss = NaN
        let stoppedAtStep
        // The trial's own signal: the caller's abort, or ASHA stopping this trial.
        const own = new AbortController()
        const follow = () => own.abort()
        signal?.addEventListener('abort', follow, { once: true })
        const { valCheckSteps, maxSteps } = model.config
        const progress = (e) => {
          if (e.valLoss !== null && e.valLoss !== undefined) validLoss = e.valLoss
          if (onProgress) onProgress(e)
          // A validation check lands on a multiple of valCheckSteps (those events are never thinned out).
          if (asha && e.valLoss != null && e.step % valCheckSteps === 0 && e.step < maxSteps && stoppedAtStep === undefined) {
            if (!asha.keep(trial, e.step / valCheckSteps, e.valLoss, Math.ceil(maxSteps / valCheckSteps))) {
              stoppedAtStep = e.step
              own.abort()
            }
          }
        }
        try {
          validLoss = await fitTrial(NeuralForecast, model, data, { freq, threads: auto._cpus, valSize, verbose, onProgress: progress, signal: own.signal })
        } catch (e) {
          // ASHA's stop: the trial counts with its last validation loss, as in Ray.
          if (stoppedAtStep === undefined || !(e instanceof AbortError) || signal?.aborted) throw e
        } finally {
          signal?.removeEventListener('abort', follow)
        }
        const out = { validLoss, fitSeconds: (performance.now() - started) / 1000 }
        return stoppedAtStep === undefined ? out : { ...out, stoppedAtStep }
      },
      async close() {},
    }
  },
}

/**
 * Asynchronous successive halving (ASHA, Li et al., 2020) with Ray Tune's AsyncHyperBandScheduler
 * defaults (grace period 1, reduction factor 4), in units of a trial's validation checks: at 1, 4,
 * 16, ... checks (below the trial's last), a trial goes on only if its validation loss is within
 * the best quarter of the losses other trials had at that rung (numpy's linear percentile); the
 * first trial at a rung always goes on. Decisions depend on the order trials reach a rung, so with
 * trials side by side a seed no longer fixes the search.
 */
class Asha {
  constructor(reductionFactor = 4) {
    this.rf = reductionFactor
    this.rungs = new Map() // milestone -> Map(trial -> loss)
  }
  /** Whether `trial`, at its `check`-th validation check with `loss`, goes on. */
  keep(trial, check, loss, maxChecks) {
    const milestones = []
    for (let m = 1; m < maxChecks; m *= this.rf) milestones.push(m)
    for (const m of milestones.reverse()) {
      if (check < m) continue
      const recorded = this.rungs.get(m) ?? new Map()
      this.rungs.set(m, recorded)
      if (recorded.has(trial)) return true // Ray's: the highest rung reached and not yet recorded
      const cutoff = recorded.size ? percentile([...recorded.values()], 100 / this.rf) : Infinity
      recorded.set(trial, loss)
      return !(loss > cutoff)
    }
    return true
  }
}

/** numpy's percentile with linear interpolation. */
function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  const r = (p / 100) * (s.length - 1)
  const lo = Math.floor(r)
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (r - lo)
}

/** The searched values of a config (the ones with a domain). */
function pick(config, domains) {
  return Object.fromEntries(Object.keys(domains).map((k) => [k, config[k]]))
}

/** One class per model with a NeuralForecast Auto class: `AutoNHITS` searches NHITS. */
function autoClass(className) {
  const name = `Auto${className}`
  const Class = {
    [name]: class extends Auto {
      constructor(options) {
        super(className, name, options)
      }
      /** NF's `get_default_config(h, n_series)`: this class's default space for horizon h. */
      static getDefaultConfig({ h, nSeries } = {}) {
        return defaultSpace(className, wholeNumber(h, 'h', `${name}.getDefaultConfig`, 1), nSeries)
      }
    },
  }[name]
  /** NF's `default_config`, with `inputSizeMultiplier` entries (resolved against h at construction). */
  Class.defaultConfig = Object.freeze({ ...DEFAULT_CONFIGS[className].space })
  return Class
}

const autoClasses = Object.fromEntries(Object.keys(DEFAULT_CONFIGS).map((c) => [`Auto${c}`, autoClass(c)]))

module.exports = { Auto, autoClasses, fitTrial, byLoss, choice, uniform, loguniform, quniform, randint, Domain }

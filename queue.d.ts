// neuro-divergent/queue: Auto* trials fitted by workers on any machine through BullMQ on Redis.
// Needs the optional peer dependencies: npm install bullmq ioredis
import type { CrossValidationOptions, FitOptions, Frame, NeuralForecast, OutputFrame, ProgressEvent, Row, SearchBackend } from './index.js'

/** ioredis connection options (`{ host, port, password, ... }`) or an ioredis instance. */
export type RedisConnection = Record<string, unknown>

export interface BullMQBackendOptions {
  /** Where Redis is: ioredis options such as `{ host: '127.0.0.1', port: 6379 }`, or an ioredis instance. */
  connection: RedisConnection
  /** The queue's name; the workers' `runTrialWorker` names the same. */
  queue: string
  /**
   * Trials in flight at once (default: every trial with `searchAlg: 'random'`, 4 with 'tpe').
   * TPE draws each round of `concurrency` configs from the trials finished before it, so a
   * queued TPE search with `concurrency` n draws what a local search running n trials at once
   * draws; set it to the trials your workers run at once.
   */
  concurrency?: number
  /** Data up to this many bytes (as JSON, default 524288) travels inside each job, and fitted models (`fit`) inside its result; larger needs `dataDir`. */
  maxInlineBytes?: number
  /**
   * A directory the coordinator and every worker reach at the same path (a shared volume): data
   * over `maxInlineBytes` is written there once per batch (atomically) and jobs carry its path,
   * and so are `fit`'s larger fitted models; the files are removed once read.
   */
  dataDir?: string
}

/**
 * An Auto* search backend whose trials are BullMQ jobs, one per trial, fitted by
 * `runTrialWorker` processes on any machine. The coordinator draws the configs, ranks the results
 * and refits the best config itself, as the local backend. `scheduler: 'asha'` is local only.
 * An AbortSignal removes the search's waiting jobs (running ones finish on their workers unread).
 * @example
 * const backend = new BullMQBackend({ connection: { host: '127.0.0.1', port: 6379 }, queue: 'nd' })
 * const auto = new AutoNHITS({ h: 12, numSamples: 64, backend })
 * await new NeuralForecast({ models: [auto], freq: 'MS' }).fit(df, { valSize: 12 })
 * await backend.close()
 */
export declare class BullMQBackend implements SearchBackend {
  constructor(options: BullMQBackendOptions)
  readonly queueName: string
  /** @internal */
  _open(search: unknown): Promise<unknown>
  /**
   * `nf.crossValidation(df, { ...options, refit: true })` with one job per window, the windows
   * fitted side by side on the workers: the same rows and columns. Each window is a fresh fit of
   * `nf`'s models (from their `randomSeed`) on the data before its cutoff, which is what
   * `nf.crossValidation` of that data with `nWindows: 1` gives; the local refit instead continues
   * each window from the previous window's weights (as NeuralForecast), so forecasts differ.
   * `nf` is left as it was (not fitted). Progress events carry `window`.
   * @example
   * const cv = await backend.crossValidation(nf, df, { nWindows: 4, stepSize: 12 })
   */
  crossValidation<R extends Row>(nf: NeuralForecast, df: Frame<R>, options?: QueueCrossValidationOptions): Promise<OutputFrame>
  /**
   * `nf.fit(df, options)` on a worker: the models train there and their weights come back into
   * `nf`, which then predicts and saves as if it had fitted here. Independent fits (a model per
   * market, per shard) run side by side on the workers when awaited together. The fitted models
   * come back inside the job's result under `maxInlineBytes`, else through a file under `dataDir`.
   * @example
   * await Promise.all(markets.map(({ nf, df }) => backend.fit(nf, df, { valSize: 12 })))
   */
  fit<R extends Row>(nf: NeuralForecast, df: Frame<R>, options?: QueueFitOptions): Promise<void>
  /** Closes its Redis connections (a process with an open backend does not exit). */
  close(): Promise<void>
}

/** `fit`'s options that a queue runs on a worker (`useInitModels` is local only: the worker starts afresh). */
export type QueueFitOptions = Pick<FitOptions, 'valSize' | 'staticDf' | 'predictionIntervals' | 'maxSteps' | 'onProgress' | 'signal' | 'verbose'>

/** `crossValidation`'s options that a queue fans out (refit is implied; `testSize` and `useInitModels` are local only). */
export interface QueueCrossValidationOptions extends Pick<CrossValidationOptions, 'nWindows' | 'stepSize' | 'valSize' | 'staticDf' | 'level' | 'predictionIntervals' | 'signal' | 'verbose'> {
  onProgress?: (event: ProgressEvent & { window: number }) => void
}

/** A worker's progress report: the fit's event with its batch (search or cross-validation) and its trial or window. */
export interface TrialProgressEvent extends ProgressEvent {
  searchId: string
  trial?: number
  window?: number
}

export interface TrialWorkerOptions {
  connection: RedisConnection
  queue: string
  /** Jobs (trials, cross-validation windows) this worker fits at once (default 1); a trial uses its Auto's `cpus` threads. */
  concurrency?: number
  /** BullMQ's job lock in ms (default 30000): a killed worker's trial runs again elsewhere after it expires. */
  lockDuration?: number
  /** How often (ms, BullMQ's default 30000) this worker looks for trials whose worker died. */
  stalledInterval?: number
  /** Every training step of the trials this worker fits (for its own logs). */
  onProgress?: (event: TrialProgressEvent) => void
  /** Stops taking trials; the promise resolves once the running ones have finished. */
  signal?: AbortSignal
}

/**
 * Fits the queue's trials and cross-validation windows on this machine, off the JS thread, until
 * `signal` aborts (without one, for the life of the process). A fit that fails (a config the data
 * does not fit) is reported as its result, not retried.
 * @example
 * await runTrialWorker({ connection: { host: 'redis.internal', port: 6379 }, queue: 'nd' })
 */
export declare function runTrialWorker(options: TrialWorkerOptions): Promise<void>

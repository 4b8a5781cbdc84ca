// Property-based fuzzing of the public API (issue 14): generated options, frames and call
// sequences, hostile ones included, across every model class and NeuralForecast's methods. Each
// call must work or throw one of the documented error classes with a message of ours, never
// hang, and leave the library working. `fuzz.test.ts` runs a short seeded slice;
// `scripts/fuzz.mjs --budget <seconds>` runs it long.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import * as nd from '../index.js'
import { NeuralForecast, NeuroDivergentError, AbortError } from '../index.js'

/** What a caller's own getter or toString throws: it reaches the caller unchanged. */
export class CallerError extends Error {}

/**
 * Messages that mean the error is not ours: V8's own TypeErrors from code that met a value it did
 * not expect, napi-rs conversion failures, and contained engine panics (each is a bug).
 */
const NOT_OURS = /internal error in|this is a bug|Cannot read propert|Cannot set propert|is not a function|is not iterable|is not a constructor|Cannot convert|Maximum call stack|Failed to convert|Cannot create property|Invalid array length|out of memory|unreachable/

/** Asserts that `e` is a documented error with a message of ours (or the caller's own error). */
export function checkError(e: unknown, what: string): void {
  if (e instanceof CallerError) return
  const ok = e instanceof TypeError || e instanceof RangeError || e instanceof NeuroDivergentError || e instanceof AbortError
  const message = (e as any)?.message
  assert.ok(ok, `${what}: undocumented error ${(e as any)?.name}: ${String(message).slice(0, 500)}`)
  assert.ok(typeof message === 'string' && message.length > 0, `${what}: empty message`)
  assert.ok(!NOT_OURS.test(message), `${what}: ${(e as any).name}: ${message.slice(0, 500)}`)
}

/** Runs `f` (sync or async): a result or a documented error. */
export async function call(what: string, f: () => unknown): Promise<unknown> {
  const key = what.replace(/^\[.*?\]/, '')
  try {
    const r = await f()
    tally(key, 'ok')
    return r
  } catch (e) {
    checkError(e, what)
    tally(key, (e as any)?.name ?? 'thrown')
    return e
  }
}

/** Outcomes by call and result ('ok' or the error's name): a fuzzer that only meets errors tests little. */
export const outcomes: Record<string, Record<string, number>> = {}
function tally(what: string, outcome: string) {
  const o = (outcomes[what] ??= {})
  o[outcome] = (o[outcome] ?? 0) + 1
}

// ---------------------------------------------------------------- hostile values

const numbers = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1, -1, 2, 3, 0.5, 1e9, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e15, 1e308, -1e308, 5e-324, Number.MAX_VALUE, Number.EPSILON),
  fc.integer({ min: -5, max: 64 }),
  fc.double(),
)
const strings = fc.oneof(
  fc.constantFrom('', 'MS', 'ME', 'D', 'h', 'W', 'B', 'QS', '2D', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'NaN', '1e309', '\u0000', '😀', 'x'.repeat(100_000)),
  fc.string({ maxLength: 12 }),
)
const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const

/** A typed array of any kind holding `values` (bigints for the BigInt kinds). */
function typed(kind: number, values: unknown[]): ArrayBufferView {
  const T = TYPED[kind % TYPED.length] as any
  const big = T === BigInt64Array || T === BigUint64Array
  return T.from(values, (v: unknown) => (typeof v !== 'number' ? (big ? 0n : NaN) : big ? BigInt(Math.trunc(Number.isFinite(v) ? v : 0)) : v))
}

/** Objects that misbehave when read: throwing getters, toString, valueOf, proxies. */
const EXOTIC: (() => unknown)[] = [
  () => Object.create(null),
  () => ({ toString() { throw new CallerError('toString') } }),
  () => ({ valueOf() { throw new CallerError('valueOf') }, [Symbol.toPrimitive]() { throw new CallerError('toPrimitive') } }),
  () => Object.defineProperty({}, 'length', { enumerable: true, get() { throw new CallerError('length getter') } }),
  () => new Proxy({}, { get() { throw new CallerError('proxy get') }, ownKeys() { throw new CallerError('proxy ownKeys') }, has() { throw new CallerError('proxy has') } }),
  () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy },
  () => new Proxy([1, 2, 3], { get(t, k) { if (k === 'length') throw new CallerError('proxy length'); return (t as any)[k] } }),
  () => Symbol('s'),
  () => 10n,
  () => () => 1,
  () => new Date(NaN),
  () => new Date(0),
  () => new Map([[1, 2]]),
  () => new ArrayBuffer(8),
  () => new DataView(new ArrayBuffer(8)),
  () => new Array(5),
  () => Object.freeze([1, 2]),
  () => ({ length: 2 ** 32, 0: 1 }),
  () => JSON.parse('{"__proto__": {"h": 1}, "constructor": 2}'),
  () => new (class Weird { h = 3 })(),
  () => new Error('not data'),
  () => /re/,
  () => new Number(3),
  () => new String('MS'),
]

// The arbitraries generate descriptions ({ $exotic }, { $typed }, { $object }), turned into values
// by `materialize` inside each case: fast-check itself inspects and prints what it generates, and
// a revoked proxy or a throwing getter would break it instead of the library.
type Spec = unknown

/** The value a description stands for (plain arrays and objects copied, other objects as they are; fast-check's records have no prototype). */
export function materialize(v: Spec): unknown {
  if (Array.isArray(v)) return v.map(materialize)
  if (v === null || typeof v !== 'object' || ![Object.prototype, null].includes(Object.getPrototypeOf(v))) return v
  const o = v as any
  if ('$exotic' in o) return EXOTIC[o.$exotic]()
  if ('$typed' in o) return typed(o.$typed, o.values)
  if ('$object' in o) {
    const out: Record<string, unknown> = {}
    for (const [k, val, throws] of o.$object as [string, Spec, boolean][]) {
      Object.defineProperty(out, k, throws ? { enumerable: true, configurable: true, get() { throw new CallerError(`getter ${k}`) } } : { value: materialize(val), enumerable: true, configurable: true, writable: true })
    }
    return out
  }
  return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, materialize(val)]))
}

/** An object description with these own properties ('__proto__' included), some as throwing getters. */
function objectOf(entries: [string, Spec, boolean][]): Spec {
  return { $object: entries }
}

/** Any value, hostile ones weighted in. */
export const anything: fc.Arbitrary<Spec> = fc.letrec<{ v: Spec }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    numbers,
    strings,
    fc.constantFrom(null, undefined, true, false),
    fc.nat(EXOTIC.length - 1).map((i) => ({ $exotic: i })),
    fc.record({ $typed: fc.nat(TYPED.length - 1), values: fc.array(numbers, { maxLength: 6 }) }),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.array(fc.tuple(strings, tie('v'), fc.constant(false)), { maxLength: 3 }).map(objectOf),
  ),
})).v

// ---------------------------------------------------------------- models

const MODEL_KEYS = [
  'h', 'inputSize', 'maxSteps', 'hiddenSize', 'numLayers', 'windowsBatchSize', 'batchSize', 'learningRate', 'scalerType', 'loss', 'validLoss', 'randomSeed',
  'alias', 'futrExogList', 'histExogList', 'statExogList', 'nSeries', 'mlpUnits', 'encoderHiddenSize', 'decoderHiddenSize', 'nHead', 'nHeads', 'dropout',
  'valCheckSteps', 'earlyStopPatienceSteps', 'startPaddingEnabled', 'stepSize', 'inferenceWindowsBatchSize', 'numLrDecays', 'activation', 'kernelSize',
  'dilations', 'patchLen', 'stride', 'topK', 'hTrain', 'trajectorySamples', 'movingAvgWindow', 'modes', 'factor', 'recurrent', '__proto__', 'constructor', 'toString',
]
export const MODEL_NAMES = Object.keys((nd as any).modelClasses ?? {}).length ? Object.keys((nd as any).modelClasses) : Object.keys(nd).filter((k) => (nd as any)[k]?.prototype instanceof nd.Model)
const LOSSES = ['MAE', 'MSE', 'RMSE', 'MAPE', 'SMAPE', 'HuberLoss', 'QuantileLoss', 'MQLoss', 'MASE', 'DistributionLoss']

const lossValue = fc.oneof(
  fc.tuple(fc.constantFrom(...LOSSES), fc.array(fc.tuple(fc.constantFrom('level', 'quantiles', 'distribution', 'delta', 'q', 'seasonality', 'numSamples', 'horizonWeight', 'x'), anything, fc.constant(false)), { maxLength: 2 }).map(objectOf)).map(([name, opts]) => {
    try {
      return new (nd as any)[name](materialize(opts))
    } catch {
      return new (nd as any)[name]()
    }
  }),
  anything,
)

const modelOptions = fc
  .record({
    base: fc.boolean(),
    h: fc.oneof(fc.integer({ min: 1, max: 6 }), numbers),
    inputSize: fc.oneof(fc.integer({ min: 1, max: 12 }), numbers),
    extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...MODEL_KEYS), strings), fc.oneof(anything, lossValue), fc.double({ min: 0, max: 1 }).map((p) => p < 0.05)), { maxLength: 5 }),
  })
  .map(({ base, h, inputSize, extra }) => objectOf([...(base ? ([['h', h, false], ['inputSize', inputSize, false]] as [string, Spec, boolean][]) : []), ...extra]))

/** Constructing a model of any class from generated options. */
export const modelProperty = fc.property(fc.constantFrom(...MODEL_NAMES), fc.oneof(modelOptions, anything), (name, options) => {
  try {
    new (nd as any)[name](materialize(options))
  } catch (e) {
    checkError(e, `new ${name}(...)`)
  }
})

/** Losses from generated options. */
export const lossProperty = fc.property(fc.constantFrom(...LOSSES), fc.oneof(fc.array(fc.tuple(fc.oneof(strings, fc.constantFrom('level', 'quantiles', 'distribution', 'delta')), anything, fc.constant(false)), { maxLength: 3 }).map(objectOf), anything), (name, options) => {
  try {
    new (nd as any)[name](materialize(options))
  } catch (e) {
    checkError(e, `new ${name}(...)`)
  }
})

/** Small options each class accepts: shared size options, less the ones a class refuses. */
function tinyOptions(name: string, seed: number): Record<string, unknown> {
  const opts: Record<string, unknown> = {
    h: 2, inputSize: 4, maxSteps: 1 + (seed % 2), windowsBatchSize: 4, inferenceWindowsBatchSize: 8, randomSeed: seed, hiddenSize: 8, numLayers: 1,
    encoderHiddenSize: 4, decoderHiddenSize: 4, nHead: 2, nHeads: 2, convHiddenSize: 4, linearHiddenSize: 4, ffDim: 4, dFf: 4, lstmHiddenSize: 4,
    mlpUnits: [[4, 4], [4, 4], [4, 4]], temporalDecoderDim: 4, decoderOutputDim: 2, nSeries: 2, patchLen: 2, stride: 1, topK: 1, numKernels: 1,
    encoderLayers: 1, decoderLayers: 1, eLayers: 1, modes: 2, trajectorySamples: 2,
    // TimeLLM needs a backbone file: the tests' tiny random one.
    ...(name === 'TimeLLM' ? { llm: join(__dirname, '..', 'src', 'llm', 'tiny_llama.gguf'), dLlm: 32 } : {}),
  }
  for (let i = 0; i < 40; i++) {
    try {
      new (nd as any)[name](opts)
      return opts
    } catch (e: any) {
      const unknown = /unknown option '(\w+)'/.exec(e.message)
      if (!unknown) break
      delete opts[unknown[1]]
    }
  }
  return { h: 2, inputSize: 4, maxSteps: 1, windowsBatchSize: 4, randomSeed: seed, ...(/nSeries/.test(String(name)) ? { nSeries: 2 } : {}) }
}

const TINY = new Map<string, Record<string, unknown>>()
function tiny(name: string, seed = 1) {
  const key = `${name}/${seed % 2}`
  if (!TINY.has(key)) TINY.set(key, tinyOptions(name, seed))
  return new (nd as any)[name]({ ...TINY.get(key), randomSeed: seed })
}

// ---------------------------------------------------------------- frames

/** `arb` once in `n` cases, else null. */
function sometimes<T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb })
}

const idValue = fc.oneof({ weight: 6, arbitrary: fc.constant('ok') }, { weight: 1, arbitrary: anything })
const dsKinds = ['int', 'iso', 'date', 'epoch'] as const

/** A long-format frame (rows or columns) of 1-3 series, with hostile values spliced in; its ds mostly fit `freq`. */
export const frameArb = (freq: number | string) => fc
  .record({
    series: fc.integer({ min: 1, max: 3 }),
    len: fc.oneof(fc.integer({ min: 10, max: 24 }), fc.integer({ min: 0, max: 9 })),
    form: fc.constantFrom('rows', 'columns'),
    ds: freq === 1 ? fc.oneof({ weight: 9, arbitrary: fc.constant('int' as const) }, { weight: 1, arbitrary: fc.constantFrom(...dsKinds) }) : fc.constantFrom(...dsKinds),
    step: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: numbers }),
    start: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: numbers }),
    numericIds: fc.boolean(),
    exog: fc.boolean(),
    typedKind: sometimes(fc.nat(TYPED.length - 1), 4),
    shuffle: fc.boolean(),
    edits: fc.array(fc.tuple(fc.nat(), fc.constantFrom('unique_id', 'ds', 'y', 'x', 'extra'), fc.oneof(idValue, numbers, anything)), { maxLength: 2 }),
    lengths: sometimes(fc.tuple(fc.constantFrom('ds', 'y', 'x'), fc.integer({ min: -3, max: 3 })), 8),
    whole: sometimes(anything, 12),
  })
  .map((p) => {
    if (p.whole !== null) return { frame: p.whole }
    const n = p.series * p.len
    const ids: unknown[] = []
    const ds: unknown[] = []
    const y: number[] = []
    const x: number[] = []
    for (let s = 0; s < p.series; s++) {
      for (let t = 0; t < p.len; t++) {
        ids.push(p.numericIds ? s : `s${s}`)
        const k = p.start + t * p.step
        const day = Date.UTC(2000, 0, 1) + k * 86_400_000
        ds.push(p.ds === 'int' ? k : p.ds === 'epoch' ? day : p.ds === 'date' ? new Date(day) : Number.isFinite(day) && Math.abs(day) < 8e15 ? new Date(day).toISOString().slice(0, 10) : String(day))
        y.push(10 + s + Math.sin(t) + t * 0.1)
        x.push(Math.cos(t + s))
      }
    }
    const cols: Record<string, unknown[]> = { unique_id: ids, ds, y, x }
    for (const [i, col, v] of p.edits) {
      if (n === 0) break
      if (col === 'extra') cols[typeof v === 'string' ? v : 'extra'] = new Array(n).fill(1)
      else cols[col][i % n] = v
    }
    if (p.lengths) {
      const [c, d] = p.lengths
      cols[c] = d < 0 ? cols[c].slice(0, Math.max(0, n + d)) : [...cols[c], ...new Array(d).fill(1)]
    }
    if (!p.exog) delete cols.x
    if (p.form === 'columns') {
      const frame: Record<string, unknown> = { ...cols }
      if (p.typedKind !== null) frame.y = { $typed: p.typedKind, values: cols.y }
      return { frame }
    }
    const order = [...Array(n).keys()]
    if (p.shuffle) order.reverse()
    const rows = order.map((i) => {
      const r: Record<string, unknown> = {}
      for (const [c, v] of Object.entries(cols)) if (i < v.length) r[c] = v[i]
      return r
    })
    return { frame: rows }
  })

// ---------------------------------------------------------------- NeuralForecast

const nfOptions = fc
  .record({
    models: fc.oneof(
      { weight: 4, arbitrary: fc.array(fc.constantFrom(...MODEL_NAMES), { minLength: 1, maxLength: 2 }).map((names) => names.map((n, i) => tiny(n, i + 1))) },
      { weight: 1, arbitrary: fc.array(fc.oneof(anything, fc.constantFrom(...MODEL_NAMES).map((n) => tiny(n))), { maxLength: 3 }) },
      { weight: 1, arbitrary: anything },
    ),
    freq: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(1, 'D', 'ME', 'MS', 'h', 'W', 'B', 'QS', 'YE', '15min', 2) }, { weight: 1, arbitrary: anything }),
    extra: fc.array(fc.tuple(fc.constantFrom('holidays', 'localScalerType', 'threads', 'freqs', '__proto__'), anything, fc.constant(false)), { maxLength: 2 }),
    threads: sometimes(fc.oneof(fc.integer({ min: 1, max: 4 }), numbers), 3),
  })
  .map(({ models, freq, extra, threads }) => objectOf([['models', models, false], ['freq', freq, false], ...(threads === null ? [] : ([['threads', threads, false]] as [string, Spec, boolean][])), ...extra]))

/** Constructing NeuralForecast from generated options. */
export const constructorProperty = fc.property(fc.oneof({ weight: 5, arbitrary: nfOptions }, { weight: 1, arbitrary: anything }), (options) => {
  try {
    new NeuralForecast(materialize(options) as any)
  } catch (e) {
    checkError(e, 'new NeuralForecast(...)')
  }
})

const fitOptions = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('valSize', 'verbose', 'onProgress', 'signal', 'staticDf', 'valsize'), anything, fc.constant(false)), { maxLength: 2 }).map(objectOf) },
  { weight: 1, arbitrary: fc.record({ onProgress: fc.constant(() => { throw new Error('a progress callback that throws') }) }) },
  { weight: 1, arbitrary: anything },
)
const predictOptions = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('df', 'futrDf', 'staticDf', 'h', 'signal', 'futr'), anything, fc.constant(false)), { maxLength: 2 }).map(objectOf) },
  { weight: 1, arbitrary: fc.record({ h: fc.oneof(fc.integer({ min: 1, max: 8 }), numbers) }) },
  { weight: 1, arbitrary: fc.constant({ signal: AbortSignal.abort() }) },
  { weight: 1, arbitrary: anything },
)
const cvOptions = fc.oneof(
  { weight: 2, arbitrary: fc.record({ nWindows: fc.integer({ min: 1, max: 3 }), refit: fc.boolean(), stepSize: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.array(fc.tuple(fc.constantFrom('nWindows', 'testSize', 'stepSize', 'valSize', 'refit', 'signal', 'onProgress'), anything, fc.constant(false)), { maxLength: 3 }).map(objectOf) },
  { weight: 1, arbitrary: anything },
)
const fileName = fc.oneof(fc.constantFrom('m.nd', 'sub/dir/m.nd', '', '.', '..', 'a'.repeat(300), '\u0000x', 'm.nd/'), strings)

/** One call on a NeuralForecast; `dir` holds its files. */
const action = (freq: number | string) => fc.oneof(
  fc.record({ kind: fc.constant('fit'), frame: frameArb(freq), opts: fitOptions }),
  fc.record({ kind: fc.constant('predict'), opts: predictOptions }),
  fc.record({ kind: fc.constant('predictDf'), frame: frameArb(freq), h: fc.option(fc.integer({ min: 1, max: 6 })) }),
  fc.record({ kind: fc.constant('insample'), opts: fc.oneof(fc.constant(undefined), fc.record({ stepSize: fc.oneof(fc.integer({ min: 1, max: 4 }), numbers) }), anything) }),
  fc.record({ kind: fc.constant('cv'), frame: frameArb(freq), opts: cvOptions }),
  fc.record({ kind: fc.constant('future'), frame: fc.option(frameArb(freq)), h: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 5 }), numbers, anything) }),
  fc.record({ kind: fc.constant('missing'), frame: frameArb(freq), h: fc.option(fc.integer({ min: 1, max: 5 })) }),
  fc.record({ kind: fc.constant('save'), name: fc.oneof({ weight: 4, arbitrary: fc.constant('m.nd') }, { weight: 1, arbitrary: fileName }) }),
  fc.record({ kind: fc.constant('load'), name: fc.oneof({ weight: 4, arbitrary: fc.constant('m.nd') }, { weight: 1, arbitrary: fileName }), threads: fc.option(fc.oneof(fc.integer({ min: 1, max: 3 }), anything)) }),
)

async function run(nf: any, spec: any, dir: string, shown: string): Promise<unknown> {
  const a = materialize(spec) as any
  switch (a.kind) {
    case 'fit':
      return call(`${shown}.fit`, () => nf.fit(a.frame.frame, a.opts))
    case 'predict':
      return call(`${shown}.predict`, () => nf.predict(a.opts))
    case 'predictDf':
      return call(`${shown}.predict({ df })`, () => nf.predict({ df: a.frame.frame, ...(a.h === null ? {} : { h: a.h }) }))
    case 'insample':
      return call(`${shown}.predictInsample`, () => nf.predictInsample(a.opts))
    case 'cv':
      return call(`${shown}.crossValidation`, () => nf.crossValidation(a.frame.frame, a.opts))
    case 'future':
      return call(`${shown}.makeFutureDataframe`, () => nf.makeFutureDataframe(a.frame?.frame, a.h))
    case 'missing':
      return call(`${shown}.getMissingFuture`, () => nf.getMissingFuture(a.frame.frame, undefined, a.h ?? undefined))
    case 'save':
      return call(`${shown}.save`, () => nf.save(join(dir, a.name)))
    case 'load':
      return call('NeuralForecast.load', async () => {
        const loaded = await NeuralForecast.load(join(dir, a.name), a.threads === null ? undefined : ({ threads: a.threads } as any))
        await call('loaded.predict', () => loaded.predict())
      })
  }
}

/** A clean frame of two series of 24 steps for `freq` (1: integer ds, else daily dates). */
function cleanFrame(freq: number | string) {
  return Array.from({ length: 48 }, (_, i) => {
    const [s, t] = [i % 2, Math.floor(i / 2)]
    return { unique_id: `s${s}`, ds: freq === 1 ? t : new Date(Date.UTC(2000, 0, 1 + t)), y: 10 + s + Math.sin(t) + 0.1 * t, x: Math.cos(t) }
  })
}

/** A sequence of calls on one NeuralForecast (mostly fitted first; some calls left running while the next starts). */
export function sequenceProperty(dir: string) {
  return fc.asyncProperty(
    fc.constantFrom<number | string>(1, 'D').chain((freq) =>
      fc.tuple(fc.constant(freq), fc.array(fc.constantFrom(...MODEL_NAMES), { minLength: 1, maxLength: 2 }), fc.boolean(), fc.array(fc.tuple(action(freq), fc.boolean()), { minLength: 1, maxLength: 5 })),
    ),
    async ([freq, names, prefit, actions]) => {
      const nf = await call('new NeuralForecast', () => new NeuralForecast({ models: names.map((n, i) => tiny(n, i + 1)), freq: freq as any }))
      if (!(nf instanceof NeuralForecast)) return
      if (prefit) await call(`[${names.join(', ')}].fit(clean)`, () => nf.fit(cleanFrame(freq)))
      const running: Promise<unknown>[] = []
      for (const [a, overlap] of actions) {
        const p = run(nf, a, dir, `[${names.join(', ')}]`)
        if (overlap) running.push(p)
        else await p
      }
      await Promise.all(running)
    },
  )
}

/** Loading model files made from a real one: truncated, bit-flipped, spliced, or random bytes. */
export function fileProperty(dir: string, original: Uint8Array) {
  return fc.asyncProperty(
    fc.oneof(
      fc.nat(original.length).map((n) => original.slice(0, n)),
      fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => {
        const b = Uint8Array.from(original)
        for (const [i, x] of flips) b[i] ^= x
        return b
      }),
      fc.tuple(fc.nat(original.length), fc.uint8Array({ maxLength: 64 })).map(([at, bytes]) => Uint8Array.from([...original.slice(0, at), ...bytes, ...original.slice(at)])),
      fc.uint8Array({ maxLength: 256 }),
      // A header length that claims a huge header.
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => {
        const b = Uint8Array.from(original)
        new DataView(b.buffer).setBigUint64(0, n, true)
        return b
      }),
    ),
    async (bytes) => {
      const path = join(dir, 'fuzzed.nd')
      writeFileSync(path, bytes)
      await call('load(fuzzed file)', async () => {
        const nf = await NeuralForecast.load(path)
        await call('predict after loading a fuzzed file', () => nf.predict())
      })
    },
  )
}

// ---------------------------------------------------------------- the canary

const canaryRows = Array.from({ length: 40 }, (_, t) => ({ unique_id: 'c', ds: t, y: 10 + Math.sin(t) + 0.1 * t }))

/** A tiny fit and predict whose forecast must not change whatever ran before it. */
export async function canary(): Promise<number[]> {
  const nf = new NeuralForecast({ models: [new nd.MLP({ h: 3, inputSize: 6, hiddenSize: 8, maxSteps: 3, randomSeed: 3 })], freq: 1 })
  await nf.fit(canaryRows)
  return Array.from((await nf.predict()).MLP as Float64Array)
}

// ---------------------------------------------------------------- the runner

export interface FuzzPlan {
  seed: number
  /** Runs per property per round, by property name. */
  runs: Record<string, number>
  /** Stop starting rounds after this many ms (one round at least). */
  budgetMs: number
  /** Called after each property of each round. */
  onProgress?: (done: Record<string, number>, round: number) => void
}

export interface FuzzReport {
  cases: Record<string, number>
  total: number
  rounds: number
  ms: number
}

/** Runs every property for `plan.runs` cases per round, rounds of new seeds until the budget is spent. */
export async function fuzz(plan: FuzzPlan): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'nd-fuzz-'))
  const t0 = performance.now()
  try {
    const expected = await canary()
    const saved = new NeuralForecast({ models: [new nd.MLP({ h: 2, inputSize: 4, hiddenSize: 8, maxSteps: 1 })], freq: 1 })
    await saved.fit(canaryRows)
    await saved.save(join(dir, 'original.nd'))
    const original = readFileSync(join(dir, 'original.nd'))
    const props: Record<string, fc.IProperty<any> | fc.IAsyncProperty<any>> = {
      model: modelProperty,
      loss: lossProperty,
      constructor: constructorProperty,
      sequence: sequenceProperty(dir),
      file: fileProperty(dir, original),
    }
    const cases: Record<string, number> = Object.fromEntries(Object.keys(props).map((k) => [k, 0]))
    let round = 0
    do {
      for (const [name, prop] of Object.entries(props)) {
        const numRuns = plan.runs[name] ?? 0
        if (numRuns === 0) continue
        const seed = plan.seed + 1000 * round + Object.keys(props).indexOf(name)
        // Each async case is bounded: a hang fails the run with its seed and path.
        const r = await fc.check(prop as any, { seed, numRuns, timeout: 30_000, endOnFailure: true })
        if (r.failed) throw new Error(`fuzz property '${name}' failed (seed ${seed}, path ${r.counterexamplePath}): ${(r.errorInstance as any)?.message}\n${fc.defaultReportMessage(r)}`)
        cases[name] += r.numRuns
        plan.onProgress?.(cases, round)
      }
      assert.deepEqual(await canary(), expected, `round ${round}: the library still forecasts the same bits`)
      round++
    } while (performance.now() - t0 < plan.budgetMs)
    return { cases, total: Object.values(cases).reduce((a, b) => a + b, 0), rounds: round, ms: performance.now() - t0 }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

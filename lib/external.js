'use strict'
// Frames from Apache Arrow (`apache-arrow`'s Table) and nodejs-polars (DataFrame), both optional
// peer dependencies: an input is recognised by its shape, never by importing the package, and its
// columns become a columns object (numeric columns as typed arrays, without a row-by-row pass).
// `toArrow` / `toPolars` turn outputs back, loading the package only when called.

const { NeuroDivergentError } = require('./errors.js')

function isArrowTable(df) {
  return df != null && typeof df === 'object' && typeof df.getChild === 'function' && df.schema != null && Array.isArray(df.schema.fields)
}

function isPolarsFrame(df) {
  return df != null && typeof df === 'object' && typeof df.getColumn === 'function' && Array.isArray(df.columns) && typeof df.height === 'number'
}

/** A BigInt64Array (64-bit integer columns) as doubles; other typed arrays as they are. */
function numbers(values) {
  return values instanceof BigInt64Array || values instanceof BigUint64Array ? Float64Array.from(values, Number) : values
}

// Arrow's type ids (apache-arrow's `Type` enum) of the columns read as dates.
const ARROW_DATE = 8
const ARROW_TIMESTAMP = 10
const ARROW_NUMERIC = new Set([2, 3]) // Int, Float

/** One Arrow column: numbers as a typed array (nulls as NaN), dates as Dates, others as values. */
function arrowColumn(vector, type) {
  if (type.typeId === ARROW_DATE || type.typeId === ARROW_TIMESTAMP) {
    // `get` gives epoch milliseconds, whatever the unit.
    return Array.from(vector, (t) => (t == null ? null : new Date(Number(t))))
  }
  if (ARROW_NUMERIC.has(type.typeId)) {
    if (vector.nullCount === 0) return numbers(vector.toArray())
    return Float64Array.from(vector, (v) => (v == null ? NaN : Number(v)))
  }
  return Array.from(vector)
}

// nodejs-polars dtype variants read as typed arrays, and as dates.
const POLARS_NUMERIC = new Set(['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float32', 'Float64'])
const POLARS_DATE = new Set(['Date', 'Datetime'])

function polarsColumn(series) {
  const variant = series.dtype && series.dtype.variant
  if (POLARS_NUMERIC.has(variant)) {
    if (series.nullCount() === 0) return numbers(series.toTypedArray())
    return Float64Array.from(series.toArray(), (v) => (v == null ? NaN : Number(v)))
  }
  if (POLARS_DATE.has(variant)) return series.toArray().map((d) => (d == null ? null : new Date(d)))
  return series.toArray()
}

/** `df` as a columns object when it is an Arrow Table or a polars DataFrame, else `df` itself. */
function fromExternal(df) {
  if (isArrowTable(df)) return Object.fromEntries(df.schema.fields.map((f) => [f.name, arrowColumn(df.getChild(f.name), f.type)]))
  if (isPolarsFrame(df)) return Object.fromEntries(df.columns.map((c) => [c, polarsColumn(df.getColumn(c))]))
  return df
}

function optional(name, caller) {
  try {
    return require(name)
  } catch (e) {
    throw new NeuroDivergentError(`${caller} needs the optional package '${name}': npm install ${name}`, { cause: e })
  }
}

function checkFrame(frame, caller) {
  if (frame == null || typeof frame !== 'object' || frame.unique_id == null) throw new TypeError(`${caller} needs a columns object such as predict() returns`)
}

/**
 * An output frame (as `predict` returns) as an Apache Arrow Table: numeric columns without a
 * copy, ids as strings, Date `ds` (and `cutoff`) as Date64 columns.
 * @example const table = toArrow(await nf.predict())
 */
function toArrow(frame) {
  checkFrame(frame, 'toArrow')
  const arrow = optional('apache-arrow', 'toArrow')
  const vector = (v) => {
    if (ArrayBuffer.isView(v)) return arrow.makeVector(v)
    if (v.length > 0 && v[0] instanceof Date) return arrow.vectorFromArray(v, new arrow.DateMillisecond())
    return arrow.vectorFromArray(v)
  }
  return new arrow.Table(Object.fromEntries(Object.entries(frame).map(([k, v]) => [k, vector(v)])))
}

/**
 * An output frame as a nodejs-polars DataFrame (`pl.DataFrame(frame)`).
 * @example const df = toPolars(await nf.predict())
 */
function toPolars(frame) {
  checkFrame(frame, 'toPolars')
  return optional('nodejs-polars', 'toPolars').DataFrame(frame)
}

module.exports = { fromExternal, toArrow, toPolars }

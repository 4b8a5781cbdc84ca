'use strict'
// Long-format frames in both forms of the API (rows or columns), normalised for the engine:
// ids as strings, ds as numbers (epoch ms or integer steps), values as Float64Arrays. The kinds
// of id and ds are remembered so outputs come back in the form the caller used.

const { fromExternal } = require('./external.js')

const RESERVED = new Set(['unique_id', 'ds', 'y'])

/** A value as error messages name it. Never throws: it describes what the caller got wrong. */
function describe(v) {
  try {
    if (v === null || v === undefined) return String(v)
    if (Array.isArray(v)) return 'an array'
    if (v instanceof Date) return 'a Date'
    if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
    if (ArrayBuffer.isView(v)) {
      const name = Object.prototype.toString.call(v).slice(8, -1)
      return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`
    }
    // String() of an object runs the caller's toString (which may throw or not be a function).
    if (typeof v === 'object') return 'an object'
    if (typeof v === 'function') return 'a function'
    if (typeof v === 'bigint') return `the bigint ${v}n`
    return `${typeof v} ${String(v)}`
  } catch {
    // A revoked proxy throws on Array.isArray and instanceof.
    return `an ${typeof v} that cannot be inspected`
  }
}

function isArrayLike(v) {
  return v != null && typeof v !== 'string' && typeof v.length === 'number' && (Array.isArray(v) || ArrayBuffer.isView(v))
}

// ISO-8601 only: a date, or a date and time (seconds and fraction optional) with an optional
// `Z` or offset. `Date.parse` also takes locale forms such as '01/02/2023' (January 2nd) while it
// refuses '13/01/2023', so nothing else is handed to it.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?([zZ]|[+-]\d{2}:?\d{2})?$/
const ISO_FORMS = "'YYYY-MM-DD', 'YYYY-MM-DDTHH:MM[:SS[.sss]]', optionally ending in Z or an offset such as +02:00"

const DAY_MS = 86400000

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468
}

/** `YYYY-MM-DD` of a day count since 1970-01-01 (civil_from_days). */
function civilFromDays(z) {
  z += 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1
  const m = mp < 10 ? mp + 3 : mp - 9
  return `${yoe + era * 400 + (m <= 2 ? 1 : 0)}-${pad(m)}-${pad(d)}`
}

const digit = (v, i) => {
  const c = v.charCodeAt(i) - 48
  return c >= 0 && c <= 9 ? c : NaN
}

/**
 * Epoch ms of a plain 'YYYY-MM-DD' (years 1000-9999), by arithmetic: the form every daily or
 * monthly tick carries, parsed in a tenth of the time of the general path below (which a
 * one-series forecast spent a quarter of its time in). Undefined for any other string.
 */
function parsePlainDate(v) {
  if (v.length !== 10 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return undefined
  const y = digit(v, 0) * 1000 + digit(v, 1) * 100 + digit(v, 2) * 10 + digit(v, 3)
  const mo = digit(v, 5) * 10 + digit(v, 6)
  const d = digit(v, 8) * 10 + digit(v, 9)
  // NaN fails every comparison. Years before 1000 take the general path (Date.UTC's own rules).
  if (!(y >= 1000 && mo >= 1 && mo <= 12 && d >= 1)) return undefined
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  if (d > (mo === 2 ? (leap ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31)) return undefined
  return daysFromCivil(y, mo, d) * DAY_MS
}

/** Date.UTC, but years 0-99 are those years: Date.UTC reads them as 1900-1999. */
function utc(y, mo, d, hh, mi, ss, ms) {
  if (y >= 100) return Date.UTC(y, mo, d, hh, mi, ss, ms)
  const t = new Date(Date.UTC(2000, mo, d, hh, mi, ss, ms))
  t.setUTCFullYear(y)
  return t.getTime()
}

/** Epoch ms of an ISO-8601 string and its kind, or undefined when it is not one (or no real date). */
function parseIso(v) {
  const plain = parsePlainDate(v)
  if (plain !== undefined) return [plain, 'date-string']
  const m = ISO.exec(v)
  if (!m) return undefined
  const [y, mo, d, hh = 0, mi = 0, ss = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)))
  const ms = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  const t = utc(y, mo - 1, d, hh, mi, ss, ms)
  const back = new Date(t)
  // Date.UTC rolls 2023-02-31 over to March 3rd; a real date reads back the same.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== hh || back.getUTCMinutes() !== mi) return undefined
  const zone = m[8]
  if (zone === undefined) return [t, m[4] === undefined ? 'date-string' : 'string']
  if (zone === 'z' || zone === 'Z') return [t, 'string-z']
  const sign = zone[0] === '-' ? -1 : 1
  const [oh, om] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))]
  return [t - sign * (oh * 60 + om) * 60000, 'string-z']
}

/**
 * `f` remembering its last few thousand results. A forecast per tick parses the same input
 * dates and formats the same output dates call after call, and a fit's series share theirs:
 * looking one up costs a third of parsing or formatting it. `f`'s results must be immutable.
 */
function memo(f, size = 4096) {
  const seen = new Map()
  return (k) => {
    let v = seen.get(k)
    if (v === undefined) {
      v = f(k)
      if (seen.size >= size) seen.clear()
      seen.set(k, v)
    }
    return v
  }
}

const parseIsoMemo = memo(parseIso)

/** Parses one `ds` value; returns [number, kind] (not to be modified: it may be shared). */
function parseDs(v, what, row) {
  if (v instanceof Date) {
    const t = v.getTime()
    if (Number.isNaN(t)) throw new TypeError(`${what}: ds at row ${row} is an invalid Date`)
    return [t, 'date']
  }
  if (typeof v === 'string') {
    const parsed = parseIsoMemo(v)
    if (parsed === undefined) throw new TypeError(`${what}: ds at row ${row} is not an ISO-8601 date (${ISO_FORMS}): ${describe(v)}`)
    return parsed
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`${what}: ds at row ${row} must be a finite number, got ${v}`)
    return [v, 'number']
  }
  if (typeof v === 'bigint') return [Number(v), 'number']
  throw new TypeError(`${what}: ds at row ${row} must be a Date, an ISO-8601 string or a number, got ${describe(v)}`)
}

function parseId(v, what, row) {
  if (typeof v === 'string') return [v, 'string']
  if (typeof v === 'number' && Number.isFinite(v)) return [String(v), 'number']
  throw new TypeError(`${what}: unique_id at row ${row} must be a string or a number, got ${describe(v)}`)
}

/** A numeric column value; NaN and ±Infinity pass through so the engine can name series and ds. */
function parseNumber(v, column, what, row) {
  if (typeof v === 'number') return v
  if (v === null || v === undefined) return NaN
  throw new TypeError(`${what}: column '${column}' at row ${row} must be a number, got ${describe(v)}`)
}

function mergeKind(kinds, k) {
  kinds.add(k)
}

function finalKind(kinds, fallback) {
  if (kinds.size === 0) return fallback
  if (kinds.size === 1) return [...kinds][0]
  // Mixed Date and string inputs come back as Dates; mixed ids as strings.
  if (kinds.has('number') && kinds.size > 1 && !kinds.has('date') && !kinds.has('string') && !kinds.has('date-string')) return 'number'
  return kinds.has('date') ? 'date' : kinds.has('string-z') ? 'string-z' : kinds.has('string') ? 'string' : [...kinds][0]
}

/**
 * Normalises a frame. `requireY`: fit/crossValidation frames need a numeric `y`; future and
 * static frames have none (static frames have no `ds` either: `requireDs` false). `keep`: the
 * extra columns some model reads; the others are ignored, whatever they hold, as NeuralForecast
 * ignores them (all are read when `keep` is undefined).
 */
function toNative(input, what, { requireY = true, requireDs = true, keep } = {}) {
  const wanted = (c) => !RESERVED.has(c) && (keep === undefined || keep.has(c))
  const df = fromExternal(input)
  if (df == null || typeof df !== 'object') {
    throw new TypeError(`${what} must be an array of rows or an object of columns, got ${describe(df)}`)
  }
  const idKinds = new Set()
  const dsKinds = new Set()
  let n
  let ids
  let ds
  let y
  const columns = new Map()
  if (Array.isArray(df)) {
    n = df.length
    ids = new Array(n)
    ds = new Float64Array(n)
    y = requireY ? new Float64Array(n) : undefined
    const names = n > 0 && df[0] && typeof df[0] === 'object' ? Object.keys(df[0]).filter(wanted) : []
    for (const c of names) columns.set(c, new Float64Array(n))
    for (let i = 0; i < n; i++) {
      const row = df[i]
      if (row == null || typeof row !== 'object' || Array.isArray(row)) throw new TypeError(`${what}: row ${i} must be an object, got ${describe(row)}`)
      if (!('unique_id' in row)) throw new TypeError(`${what}: row ${i} has no 'unique_id'`)
      const [id, ik] = parseId(row.unique_id, what, i)
      ids[i] = id
      mergeKind(idKinds, ik)
      if (requireDs) {
        if (!('ds' in row)) throw new TypeError(`${what}: row ${i} has no 'ds'`)
        const [t, dk] = parseDs(row.ds, what, i)
        ds[i] = t
        mergeKind(dsKinds, dk)
      }
      if (requireY) {
        if (!('y' in row)) throw new TypeError(`${what}: row ${i} has no 'y'`)
        y[i] = parseNumber(row.y, 'y', what, i)
      }
      for (const [c, arr] of columns) {
        if (!(c in row)) throw new TypeError(`${what}: row ${i} has no '${c}' (row 0 has it)`)
        arr[i] = parseNumber(row[c], c, what, i)
      }
    }
  } else {
    if (!isArrayLike(df.unique_id)) throw new TypeError(`${what}: column 'unique_id' must be an array, got ${describe(df.unique_id)}`)
    n = df.unique_id.length
    ids = new Array(n)
    for (let i = 0; i < n; i++) {
      const [id, ik] = parseId(df.unique_id[i], what, i)
      ids[i] = id
      mergeKind(idKinds, ik)
    }
    ds = new Float64Array(n)
    if (requireDs) {
      if (!isArrayLike(df.ds)) throw new TypeError(`${what}: column 'ds' must be an array, got ${describe(df.ds)}`)
      if (df.ds.length !== n) throw new TypeError(`${what}: column 'ds' has ${df.ds.length} values but unique_id has ${n}`)
      for (let i = 0; i < n; i++) {
        const [t, dk] = parseDs(df.ds[i], what, i)
        ds[i] = t
        mergeKind(dsKinds, dk)
      }
    }
    const numeric = (name, col) => {
      if (!isArrayLike(col)) throw new TypeError(`${what}: column '${name}' must be an array of numbers, got ${describe(col)}`)
      if (col.length !== n) throw new TypeError(`${what}: column '${name}' has ${col.length} values but unique_id has ${n}`)
      if (col instanceof Float64Array) return col
      const out = new Float64Array(n)
      for (let i = 0; i < n; i++) out[i] = parseNumber(col[i], name, what, i)
      return out
    }
    if (requireY) {
      if (!('y' in df)) throw new TypeError(`${what}: column 'y' is missing`)
      y = numeric('y', df.y)
    }
    for (const [c, col] of Object.entries(df)) {
      if (wanted(c) && !(c === 'ds' && !requireDs)) columns.set(c, numeric(c, col))
    }
  }
  return {
    frame: { uniqueId: ids, ds, y, columnNames: [...columns.keys()], columns: [...columns.values()] },
    kinds: { id: finalKind(idKinds, 'string'), ds: finalKind(dsKinds, 'number') },
  }
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0')
}

/** An output ds value as a string of the kind the input used. */
function formatDs(t, kind) {
  if (kind === 'date-string' && t % DAY_MS === 0 && t >= -30610224000000 && t <= 253402214400000) return civilFromDays(t / DAY_MS)
  const d = new Date(t)
  const day = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
  if (kind === 'date-string') return day
  const ms = d.getUTCMilliseconds()
  const time = `${day}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${ms ? `.${pad(ms, 3)}` : ''}`
  // Inputs with Z or an offset named an instant: the output says it is UTC.
  return kind === 'string-z' ? `${time}Z` : time
}

const formatters = Object.fromEntries(['date-string', 'string', 'string-z'].map((kind) => [kind, memo((t) => formatDs(t, kind))]))

/** An output ds value in the kind the input used. */
function dsOut(t, kind) {
  if (kind === 'date') return new Date(t)
  const format = formatters[kind]
  return format === undefined ? t : format(t)
}

/**
 * A normalised frame with its ids once per run of equal ids (`idRuns` their lengths): the engine
 * reads one string per run instead of one per row (a one-series tick: one instead of 24).
 */
function withIdRuns(frame) {
  const ids = frame.uniqueId
  const runIds = []
  const runs = []
  for (let i = 0; i < ids.length; i++) {
    if (i === 0 || ids[i] !== ids[i - 1]) {
      runIds.push(ids[i])
      runs.push(0)
    }
    runs[runs.length - 1]++
  }
  const { ds, y, columnNames, columns } = frame
  return { uniqueId: runIds, idRuns: runs, ds, y, columnNames, columns }
}

/** A normalised frame (or undefined) as the engine takes it: an array (src/node/frame.rs says why). */
function toEngine(frame) {
  return frame && [frame.uniqueId, frame.idRuns, frame.ds, frame.y, frame.columnNames, frame.columns]
}

/**
 * The engine's output, `[uniqueId, idRuns, values, columnNames]` with ds and then each column in
 * `values`, a row count each (src/node/frame.rs says why), as the public columns object: the
 * columns are views of that one buffer.
 */
function fromEngine(out, kinds) {
  const [uniqueId, idRuns, values, columnNames] = out
  const rows = values.length / (columnNames.length + 1)
  const part = (i) => values.subarray(i * rows, (i + 1) * rows)
  return fromNative({ uniqueId, idRuns, ds: part(0), columnNames, columns: columnNames.map((_, i) => part(i + 1)) }, kinds)
}

/** A normalised output frame (ids by runs, as the engine's) as the public columns object. */
function fromNative(out, kinds) {
  const frame = {}
  // One id per run of equal ids (`idRuns` their lengths), expanded to one per row.
  frame.unique_id = new Array(out.ds.length)
  for (let k = 0, r = 0; k < out.uniqueId.length; k++) {
    const id = kinds.id === 'number' ? Number(out.uniqueId[k]) : out.uniqueId[k]
    for (let end = r + out.idRuns[k]; r < end; r++) frame.unique_id[r] = id
  }
  if (kinds.ds === 'number') frame.ds = Float64Array.from(out.ds)
  else {
    frame.ds = new Array(out.ds.length)
    for (let i = 0; i < out.ds.length; i++) frame.ds[i] = dsOut(out.ds[i], kinds.ds)
  }
  out.columnNames.forEach((name, i) => {
    frame[name] = name === 'cutoff' ? (kinds.ds === 'number' ? Float64Array.from(out.columns[i]) : Array.from(out.columns[i], (t) => dsOut(t, kinds.ds))) : out.columns[i]
  })
  return frame
}

/**
 * Turns a columns object (as `predict` returns) into an array of row objects.
 * @example toRows(await nf.predict()) // [{ unique_id: 'a', ds: Date, NHITS: 431.2 }, ...]
 */
function toRows(frame) {
  if (frame == null || typeof frame !== 'object' || !isArrayLike(frame.unique_id)) {
    throw new TypeError('toRows needs a columns object with a unique_id column')
  }
  const names = Object.keys(frame)
  const rows = new Array(frame.unique_id.length)
  for (let i = 0; i < rows.length; i++) {
    const row = {}
    for (const c of names) row[c] = frame[c][i]
    rows[i] = row
  }
  return rows
}

module.exports = { toNative, withIdRuns, toEngine, fromEngine, fromNative, toRows, describe, parseDs }

'use strict'
// The data of queued jobs: the frames as the coordinator converted them, as JSON, and the
// windows of a cross-validation cut from them on the worker.

const { randomUUID } = require('node:crypto')
const { writeFile, rename, unlink, readFile, stat } = require('node:fs/promises')

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

/**
 * `frame` without the last `drop` points of each series (by ds): the data a cross-validation
 * window trains on and cuts its forecast from.
 */
function withoutLast(frame, drop) {
  if (drop === 0) return frame
  const rows = new Map() // series -> its row indices
  frame.uniqueId.forEach((id, i) => {
    if (!rows.has(id)) rows.set(id, [])
    rows.get(id).push(i)
  })
  const keep = new Uint8Array(frame.uniqueId.length).fill(1)
  for (const list of rows.values()) {
    list.sort((a, b) => frame.ds[a] - frame.ds[b])
    for (const i of list.slice(Math.max(0, list.length - drop))) keep[i] = 0
  }
  const kept = []
  keep.forEach((k, i) => k && kept.push(i))
  const take = (a) => Float64Array.from(kept, (i) => a[i])
  return { uniqueId: kept.map((i) => frame.uniqueId[i]), ds: take(frame.ds), y: frame.y && take(frame.y), columnNames: frame.columnNames, columns: frame.columns.map(take) }
}

module.exports = { encodeF64, decodeF64, encodeData, writeAtomic, DataCache, withoutLast }

'use strict'
// Checks shared by the option objects of index.js, lib/auto.js and lib/queue.js, so that one
// wrong value reads the same wherever it is passed.

/** Edit distance (case-insensitive). */
function distance(a, b) {
  a = a.toLowerCase()
  b = b.toLowerCase()
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]
}

/** ` (did you mean 'x'?)` for the closest of `known` within 3 edits, else ''. */
function didYouMean(name, known) {
  let best
  let bestD = Infinity
  for (const k of known) {
    const d = distance(name, k)
    if (d < bestD) [best, bestD] = [k, d]
  }
  return bestD <= 3 && 3 * bestD <= best.length ? ` (did you mean '${best}'?)` : ''
}

const { describe } = require('./frames.js')

/**
 * `opts` (an options object of `where`) with only `allowed` keys, or a TypeError naming the
 * unknown one; `undefined` is no options unless `required`.
 */
function checkKeys(opts, allowed, where, required = false) {
  if (opts === undefined && !required) return {}
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${where} options must be an object, got ${describe(opts)}`)
  for (const k of Object.keys(opts)) {
    if (!allowed.includes(k)) throw new TypeError(`${where}: unknown option '${k}'${didYouMean(k, allowed)} (allowed: ${allowed.join(', ')})`)
  }
  return opts
}

/**
 * `v` if it is a whole number from `min` to `max`, else a TypeError (not a whole number) or a
 * RangeError (out of range) naming option `name` of `where`. The default `max` is the largest
 * integer a double holds exactly; options the engine stores in 32 bits pass 0xffffffff.
 */
function wholeNumber(v, name, where, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (!Number.isSafeInteger(v)) throw new TypeError(`${where} option '${name}' must be a whole number, got ${describe(v)}`)
  if (v < min) throw new RangeError(`${where} option '${name}' must be >= ${min}, got ${v}`)
  if (v > max) throw new RangeError(`${where} option '${name}' must be <= ${max}, got ${v}`)
  return v
}

module.exports = { didYouMean, checkKeys, wholeNumber }

'use strict'
// Search spaces for the Auto* models, with Ray Tune's `tune.*` semantics, and the seeded random
// numbers every search draws from (so a seed gives the same configs on every machine).

const { describe } = require('./frames.js')

/** A seeded generator (sfc32, seeded through splitmix32): fast, small, good enough for sampling. */
class Rng {
  constructor(seed) {
    let s = seed >>> 0
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }
  u32() {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }
  /** Uniform in [0, 1) with 53 random bits. */
  next() {
    return ((this.u32() >>> 5) * 67108864 + (this.u32() >>> 6)) / 9007199254740992
  }
  /** A whole number in [0, n). */
  below(n) {
    return Math.min(n - 1, Math.floor(this.next() * n))
  }
  /** Standard normal (Box-Muller). */
  normal() {
    const u = 1 - this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next())
  }
}

/** Removes the float noise of `k * q` (0.30000000000000004 -> 0.3). */
const tidy = (v) => Number.parseFloat(v.toPrecision(12))

/**
 * One search-space entry. `kind` is 'choice', 'uniform', 'loguniform', 'quniform' or 'randint';
 * numeric kinds keep `lower`, `upper` (and `q`), a choice its `categories`.
 */
class Domain {
  constructor(kind, fields) {
    this.kind = kind
    Object.assign(this, fields)
    Object.freeze(this)
  }
  /** One value drawn as Ray Tune's sampler draws it. */
  sample(rng) {
    switch (this.kind) {
      case 'choice':
        return this.categories[rng.below(this.categories.length)]
      case 'uniform':
        return this.lower + rng.next() * (this.upper - this.lower)
      case 'loguniform':
        return Math.exp(Math.log(this.lower) + rng.next() * (Math.log(this.upper) - Math.log(this.lower)))
      case 'quniform':
        return this.quantize(this.qlower + rng.next() * (this.qupper - this.qlower))
      case 'randint':
        return this.lower + rng.below(this.upper - this.lower)
    }
  }
  /** quniform: `value` rounded to a multiple of q, as Ray's `np.round(value / q) * q`. */
  quantize(value) {
    return tidy(Math.round(value / this.q) * this.q)
  }
  toJSON() {
    return { space: this.kind, ...this }
  }
}

function finite(v, name, where) {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where}: '${name}' must be a finite number, got ${describe(v)}`)
  return v
}

function ordered(lower, upper, where) {
  if (!(lower < upper)) throw new RangeError(`${where}: 'lower' must be below 'upper', got ${lower} and ${upper}`)
}

/**
 * Ray Tune's `tune.choice`: one of `categories`, each equally likely.
 * @example choice([24, 48, 96])
 */
function choice(categories) {
  if (!Array.isArray(categories) || categories.length === 0) throw new TypeError(`choice needs a non-empty array of categories, got ${describe(categories)}`)
  return new Domain('choice', { categories: Object.freeze([...categories]) })
}

/** Ray Tune's `tune.uniform`: a float uniform in [lower, upper). */
function uniform(lower, upper) {
  finite(lower, 'lower', 'uniform')
  finite(upper, 'upper', 'uniform')
  ordered(lower, upper, 'uniform')
  return new Domain('uniform', { lower, upper })
}

/** Ray Tune's `tune.loguniform`: a float whose logarithm is uniform; 0 < lower < upper. */
function loguniform(lower, upper) {
  finite(lower, 'lower', 'loguniform')
  finite(upper, 'upper', 'loguniform')
  if (!(lower > 0)) throw new RangeError(`loguniform: 'lower' must be > 0, got ${lower}`)
  ordered(lower, upper, 'loguniform')
  return new Domain('loguniform', { lower, upper })
}

/**
 * Ray Tune's `tune.quniform`: uniform in [lower, upper] rounded to a multiple of `q` (the bounds
 * first moved inward to multiples of q, as Ray does).
 * @example quniform(500, 1500, 100) // 500, 600, ..., 1500
 */
function quniform(lower, upper, q) {
  finite(lower, 'lower', 'quniform')
  finite(upper, 'upper', 'quniform')
  finite(q, 'q', 'quniform')
  if (!(q > 0)) throw new RangeError(`quniform: 'q' must be > 0, got ${q}`)
  ordered(lower, upper, 'quniform')
  const qlower = tidy(Math.ceil(lower / q) * q)
  const qupper = tidy(Math.floor(upper / q) * q)
  if (qlower > qupper) throw new RangeError(`quniform: no multiple of q = ${q} lies in [${lower}, ${upper}]`)
  return new Domain('quniform', { lower, upper, q, qlower, qupper })
}

/** Ray Tune's `tune.randint`: a whole number in [lower, upper), the upper bound excluded. */
function randint(lower, upper) {
  for (const [name, v] of [['lower', lower], ['upper', upper]]) {
    if (!Number.isSafeInteger(v)) throw new TypeError(`randint: '${name}' must be a whole number, got ${describe(v)}`)
  }
  ordered(lower, upper, 'randint')
  return new Domain('randint', { lower, upper })
}

module.exports = { Rng, Domain, choice, uniform, loguniform, quniform, randint }

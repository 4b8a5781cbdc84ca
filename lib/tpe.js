'use strict'
// The Tree-structured Parzen Estimator (Bergstra et al., 2011) with Optuna's TPESampler defaults:
// 10 random startup trials, 24 candidates, gamma(n) = min(ceil(0.1 n), 25), prior weight 1,
// univariate (each parameter on its own), uniform weights below 25 observations and Optuna's
// ramp beyond. Per parameter, the finished trials split into the best gamma(n) ("below") and the
// rest ("above"); a Parzen mixture of truncated normals is fitted to each (one kernel per value,
// plus a prior kernel spanning the range); the candidate drawn from "below" with the highest
// l(x) / g(x) wins. Whole-number and quantized parameters are drawn on the continuous range
// widened by half a step each side, then rounded; loguniform ones are modelled in log space.
// Categorical ones: P(c) proportional to the count of c plus priorWeight / categories.

const N_STARTUP_TRIALS = 10
const N_EI_CANDIDATES = 24
const PRIOR_WEIGHT = 1

const gamma = (n) => Math.min(Math.ceil(0.1 * n), 25)

/** Optuna's default_weights: flat below 25 observations, older ones ramped down beyond. */
function weights(n) {
  if (n < 25) return new Array(n).fill(1)
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + (i * (1 - 1 / n)) / (n - 26)))
  return [...ramp, ...new Array(25).fill(1)]
}

function erf(x) {
  // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): ample for ranking candidates.
  const s = Math.sign(x)
  const a = Math.abs(x)
  const t = 1 / (1 + 0.3275911 * a)
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a)
  return s * y
}
const phi = (z) => 0.5 * (1 + erf(z / Math.SQRT2))

function logSumExp(xs) {
  const m = Math.max(...xs)
  if (!Number.isFinite(m)) return m
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0))
}

/** A Parzen mixture over [low, high] from observations `obs` (oldest first). */
function parzen(obs, low, high) {
  const range = high - low
  const w = [...weights(obs.length), PRIOR_WEIGHT]
  const mus = [...obs, (low + high) / 2]
  const order = mus.map((_, i) => i).sort((i, j) => mus[i] - mus[j])
  const sorted = order.map((i) => mus[i])
  const sig = new Array(mus.length)
  order.forEach((i, k) => {
    const left = k === 0 ? sorted[k] - low : sorted[k] - sorted[k - 1]
    const right = k === sorted.length - 1 ? high - sorted[k] : sorted[k + 1] - sorted[k]
    sig[i] = Math.max(left, right)
  })
  // Optuna's consider_endpoints=False: the outermost kernels take their one neighbour's gap.
  if (sorted.length >= 2) {
    sig[order[0]] = sorted[1] - sorted[0]
    sig[order[sorted.length - 1]] = sorted[sorted.length - 1] - sorted[sorted.length - 2]
  }
  sig[mus.length - 1] = range
  const minSigma = range / Math.min(100, 1 + mus.length)
  const sigmas = sig.map((s) => Math.min(Math.max(s, minSigma), range))
  const total = w.reduce((a, b) => a + b, 0)
  const logW = w.map((x) => Math.log(x / total))
  const logZ = mus.map((m, i) => Math.log(Math.max(phi((high - m) / sigmas[i]) - phi((low - m) / sigmas[i]), 1e-300)))
  return {
    sample(rng) {
      let u = rng.next()
      let i = 0
      while (i < w.length - 1 && (u -= w[i] / total) >= 0) i++
      for (let tries = 0; tries < 64; tries++) {
        const x = mus[i] + sigmas[i] * rng.normal()
        if (x >= low && x <= high) return x
      }
      return Math.min(high, Math.max(low, mus[i]))
    },
    logPdf(x) {
      return logSumExp(mus.map((m, i) => logW[i] - logZ[i] - 0.5 * ((x - m) / sigmas[i]) ** 2 - Math.log(sigmas[i] * Math.sqrt(2 * Math.PI))))
    },
  }
}

/** The domain's continuous range, the value's place in it, and back. */
function numeric(d) {
  switch (d.kind) {
    case 'uniform':
      return { low: d.lower, high: d.upper, to: (v) => v, from: (x) => x }
    case 'loguniform':
      return { low: Math.log(d.lower), high: Math.log(d.upper), to: Math.log, from: (x) => Math.min(d.upper, Math.max(d.lower, Math.exp(x))) }
    case 'quniform':
      return { low: d.qlower - d.q / 2, high: d.qupper + d.q / 2, to: (v) => v, from: (x) => Math.min(d.qupper, Math.max(d.qlower, d.quantize(x))) }
    case 'randint':
      return { low: d.lower - 0.5, high: d.upper - 0.5, to: (v) => v, from: (x) => Math.min(d.upper - 1, Math.max(d.lower, Math.round(x))) }
  }
}

const sameDomain = (a, b) => a && b && JSON.stringify(a) === JSON.stringify(b)

/**
 * Draws parameter `name` of domain `d`. `history`: the finished trials, oldest first, each
 * `{ params, domains, loss }` (failed trials left out).
 */
function suggest(name, d, history, rng) {
  const seen = history.filter((t) => name in t.params && sameDomain(t.domains[name], d))
  if (history.length < N_STARTUP_TRIALS || seen.length === 0) return d.sample(rng)
  const byLoss = seen.map((t, i) => i).sort((i, j) => seen[i].loss - seen[j].loss || i - j)
  const isBelow = new Array(seen.length).fill(false)
  for (const i of byLoss.slice(0, gamma(seen.length))) isBelow[i] = true
  const split = (pick) => seen.filter((_, i) => pick(isBelow[i])).map((t) => t.params[name])
  const below = split((b) => b)
  const above = split((b) => !b)
  if (d.kind === 'choice') {
    const k = d.categories.length
    const key = (v) => d.categories.findIndex((c) => JSON.stringify(c) === JSON.stringify(v))
    const probs = (vals) => {
      const p = new Array(k).fill(PRIOR_WEIGHT / k)
      for (const v of vals) if (key(v) >= 0) p[key(v)] += 1
      const sum = p.reduce((a, b) => a + b, 0)
      return p.map((x) => x / sum)
    }
    const l = probs(below)
    const g = probs(above)
    let best = -1
    let bestScore = -Infinity
    for (let c = 0; c < N_EI_CANDIDATES; c++) {
      let u = rng.next()
      let i = 0
      while (i < k - 1 && (u -= l[i]) >= 0) i++
      const score = Math.log(l[i]) - Math.log(g[i])
      if (score > bestScore) [best, bestScore] = [i, score]
    }
    return d.categories[best]
  }
  const { low, high, to, from } = numeric(d)
  const l = parzen(below.map(to), low, high)
  const g = parzen(above.map(to), low, high)
  let best = NaN
  let bestScore = -Infinity
  for (let c = 0; c < N_EI_CANDIDATES; c++) {
    const x = l.sample(rng)
    const score = l.logPdf(x) - g.logPdf(x)
    if (score > bestScore || Number.isNaN(best)) [best, bestScore] = [x, score]
  }
  return from(best)
}

module.exports = { suggest, N_STARTUP_TRIALS }

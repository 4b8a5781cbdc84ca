// Timing of repeated async calls, shared by the latency scripts.

const WARMUP = 50

/**
 * `calls` timings (µs, sorted) of `await call()`, after 50 unmeasured warm-up calls; `after()`
 * runs after every call (warm-ups too), outside the timing. The result also carries the timings
 * in call order (`unsorted`) and the warm-up count (`warmup`), to pair them with what `after` saw.
 */
export async function timeCalls(call, calls, after = () => {}) {
  for (let i = 0; i < WARMUP; i++) {
    await call()
    after()
  }
  const times = []
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    await call()
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
    after()
  }
  const sorted = [...times].sort((a, b) => a - b)
  return Object.assign(sorted, { unsorted: times, warmup: WARMUP })
}

/** The `p` quantile of sorted `times`. */
export const quantile = (times, p) => times[Math.floor(p * (times.length - 1))]

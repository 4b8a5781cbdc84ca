// Timing of repeated async calls, shared by the latency scripts.

/** `calls` timings (µs, sorted) of `await call()`, after 50 unmeasured warm-up calls. */
export async function timeCalls(call, calls) {
  for (let i = 0; i < 50; i++) await call()
  const times = []
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    await call()
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  return times.sort((a, b) => a - b)
}

/** The `p` quantile of sorted `times`. */
export const quantile = (times, p) => times[Math.floor(p * (times.length - 1))]

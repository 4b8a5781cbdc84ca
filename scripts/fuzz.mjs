#!/usr/bin/env node
// Runs the JS fuzzer (__test__/fuzz.ts) for a time budget: rounds of fresh seeds over every
// property, in a child process watched for hangs (no progress for --stall seconds kills it and
// names the round's seeds). Needs a built addon (`npm run build`).
//
//   node scripts/fuzz.mjs --budget 600 [--seed 1] [--stall 120]
//
// Prints one line per round and, at the end, the cases run per property and in total.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const opt = (name, fallback) => {
  // The last occurrence: `npm run fuzz -- --budget 60` appends to the script's own --budget.
  const i = args.lastIndexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const budget = opt('budget', 60)
const seed = opt('seed', Math.floor(Math.random() * 2 ** 31))
const stall = opt('stall', 120)
/** Cases per property per round: mostly cheap constructor and validation cases, fewer engine calls. */
const RUNS = { model: 2000, loss: 300, constructor: 1000, sequence: 40, file: 100 }

if (args.includes('--child')) {
  // Run with tsx's loader (the parent adds --import tsx).
  const { fuzz } = await import('../__test__/fuzz.ts')
  try {
    const report = await fuzz({
      seed,
      runs: RUNS,
      budgetMs: budget * 1000,
      onProgress: (cases, round) => console.log(JSON.stringify({ round, seed: seed + 1000 * round, cases })),
    })
    console.log(JSON.stringify({ done: report }))
  } catch (e) {
    console.error(String(e?.stack ?? e).slice(0, 6000))
    process.exit(1)
  }
} else {
  console.log(`fuzz: budget ${budget} s, seed ${seed} (round r uses seeds ${seed} + 1000 r + property index)`)
  const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', '--no-warnings', fileURLToPath(import.meta.url), '--child', '--budget', String(budget), '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let last = ''
  let lastRound = -1
  let timer
  const watch = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      console.error(`fuzz: no progress for ${stall} s after ${last || 'the start'}: a hang; killing the run`)
      child.kill('SIGKILL')
    }, stall * 1000)
  }
  watch()
  let buffer = ''
  child.stdout.on('data', (d) => {
    buffer += d
    let nl
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      if (!line.startsWith('{')) {
        console.log(line)
        continue
      }
      watch()
      last = line
      const msg = JSON.parse(line)
      if (msg.done) {
        const { cases, total, rounds, ms } = msg.done
        console.log(`fuzz: ${total} cases in ${rounds} rounds, ${(ms / 1000).toFixed(0)} s, no failure: ${JSON.stringify(cases)}`)
      } else if (msg.round !== lastRound) {
        lastRound = msg.round
        if (msg.round % 10 === 0) console.log(`round ${msg.round}: ${Object.values(msg.cases).reduce((a, b) => a + b, 0)} cases so far`)
      }
    }
  })
  child.on('exit', (code, signal) => {
    clearTimeout(timer)
    if (code !== 0) console.error(`fuzz: FAILED (exit ${code ?? signal}); replay with --seed ${seed}`)
    process.exit(code ?? 1)
  })
}

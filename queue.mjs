// ESM entry of neuro-divergent/queue: the CommonJS module's exports, by name.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const queue = require('./lib/queue.js')

export const { BullMQBackend, runTrialWorker } = queue
export default queue

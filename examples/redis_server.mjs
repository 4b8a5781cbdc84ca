// A throwaway redis-server for the queue example and benchmark: a free local port, no persistence.
import { spawn } from 'node:child_process'
import { createServer, connect } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

/** Starts redis-server on 127.0.0.1 and resolves once it accepts connections: `{ url, stop() }`. */
export async function startRedis() {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const missing = new Promise((_, reject) => redis.once('error', () => reject(new Error('redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL'))))
  const accepts = () => new Promise((resolve) => connect(port, '127.0.0.1', function () { this.destroy(); resolve(true) }).once('error', () => resolve(false)))
  const up = (async () => {
    while (!(await accepts())) await sleep(50)
  })()
  await Promise.race([up, missing])
  return { url: `redis://127.0.0.1:${port}`, stop: () => redis.kill('SIGTERM') }
}

/** ioredis options from a redis:// URL. */
export function connectionOf(url) {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 6379), password: u.password || undefined, db: Number(u.pathname.slice(1) || 0) }
}

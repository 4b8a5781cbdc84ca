import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface AirRow {
  unique_id: string
  ds: string
  y: number
}

/** The bundled AirPassengers series (monthly, month-end dates, 1949-1960). */
export function airPassengers(): AirRow[] {
  const text = readFileSync(join(__dirname, '..', 'data', 'air_passengers.csv'), 'utf8')
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [unique_id, ds, y] = line.split(',')
      return { unique_id, ds, y: Number(y) }
    })
}

export function mae(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i])
  return s / a.length
}

/** Small, fast model options for tests that exercise the API rather than accuracy. */
export const quick = { h: 12, inputSize: 24, maxSteps: 5, windowsBatchSize: 32, scalerType: 'standard' as const }

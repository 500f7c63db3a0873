/** Latency summary of one run, in milliseconds. */
export interface Percentiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

/** Nearest-rank percentiles; sorts the samples in place. */
export function percentiles (samples: Float64Array): Percentiles {
  samples.sort()
  const n = samples.length
  const rank = (p: number): number => (n === 0 ? Number.NaN : samples[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] as number)
  return { count: n, p50: rank(0.5), p95: rank(0.95), p99: rank(0.99), max: n === 0 ? Number.NaN : samples[n - 1] as number }
}

/** a ÷ b, or NaN when either side is missing. */
export function ratio (a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN
  return a / b
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median (values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b)
  const n = sorted.length
  if (n === 0) return Number.NaN
  const mid = Math.floor(n / 2)
  return n % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

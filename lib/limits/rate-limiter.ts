import { IntercomError } from '../errors'

/** Counts control actions per identity; shared by HTTP and MQTT so neither door is a way around it. */
export interface RateLimiter {
  /** Takes one action from `key`'s allowance for the current second; false when none is left. */
  take (key: string): Promise<boolean>
  close (): Promise<void>
}

/** Throws 429 `rate_limited` when the identity is over its allowance. */
export async function enforceRateLimit (limiter: RateLimiter, key: string, perSecond: number): Promise<void> {
  if (!(await limiter.take(key))) {
    throw new IntercomError('rate_limited', `more than ${perSecond} control actions per second from ${key}; slow down and retry`)
  }
}

/** One node's limiter: a fixed one-second window per key. */
export function createMemoryRateLimiter (options: { perSecond: number, now?: () => number }): RateLimiter {
  const now = options.now ?? Date.now
  let window = Math.floor(now() / 1000)
  let counts = new Map<string, number>()
  return {
    async take (key) {
      const current = Math.floor(now() / 1000)
      if (current !== window) {
        window = current
        counts = new Map()
      }
      const used = counts.get(key) ?? 0
      if (used >= options.perSecond) return false
      counts.set(key, used + 1)
      return true
    },
    async close () {}
  }
}

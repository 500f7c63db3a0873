/** One counter of failed sign-ins and how many it allows in a window. */
export interface ThrottleRule {
  readonly key: string
  readonly limit: number
}

/**
 * Counts failed sign-ins per key (an identity name, a source address). A key
 * that has failed `limit` times is refused until its window, opened by its
 * first failure, ends.
 */
export interface SignInThrottle {
  /** Milliseconds until every key may try again; 0 when none is over its limit. */
  waitFor (rules: readonly ThrottleRule[]): Promise<number>
  /** Counts one failure against each key; answers as `waitFor` would after it. */
  fail (rules: readonly ThrottleRule[]): Promise<number>
  /** Forgets a key's failures (a successful sign-in). */
  forget (key: string): Promise<void>
  close (): Promise<void>
}

export interface MemoryThrottleOptions {
  windowMs: number
  /** Keys remembered at most; past it the oldest are forgotten first. */
  maxKeys: number
  now?: () => number
}

interface Counter { failures: number, until: number }

/** One node's throttle: a map of counters, bounded by `maxKeys`. */
export function createMemorySignInThrottle (options: MemoryThrottleOptions): SignInThrottle {
  const now = options.now ?? Date.now
  // Insertion order is opening order: the first entries are the oldest windows.
  const counters = new Map<string, Counter>()

  const live = (key: string, at: number): Counter | undefined => {
    const counter = counters.get(key)
    if (counter === undefined || counter.until > at) return counter
    counters.delete(key)
    return undefined
  }
  const waitFor = (rules: readonly ThrottleRule[], at: number): number => {
    let wait = 0
    for (const rule of rules) {
      const counter = live(rule.key, at)
      if (counter !== undefined && counter.failures >= rule.limit) wait = Math.max(wait, counter.until - at)
    }
    return wait
  }

  return {
    async waitFor (rules) {
      return waitFor(rules, now())
    },
    async fail (rules) {
      const at = now()
      for (const rule of rules) {
        const counter = live(rule.key, at)
        if (counter !== undefined) {
          counter.failures++
          continue
        }
        while (counters.size >= options.maxKeys) {
          const oldest = counters.keys().next()
          if (oldest.done === true) break
          counters.delete(oldest.value)
        }
        counters.set(rule.key, { failures: 1, until: at + options.windowMs })
      }
      return waitFor(rules, at)
    },
    async forget (key) {
      counters.delete(key)
    },
    async close () {}
  }
}

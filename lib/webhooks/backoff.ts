/** Retry timing of webhook deliveries: pure, so it is tested with plain numbers. */
export interface RetryPolicy {
  /** Wait before the first retry; doubled for each further one. */
  baseMs: number
  /** No single wait is longer than this. */
  maxDelayMs: number
  /** Retries stop this long after the event happened. */
  windowMs: number
}

/**
 * When to try again after `attempts` failed attempts of an event created at
 * `createdAt`, or null to give up: the next attempt would fall outside the window.
 */
export function nextAttemptAt (policy: RetryPolicy, createdAt: number, attempts: number, now: number): number | null {
  const exponent = Math.min(Math.max(attempts - 1, 0), 40)
  const delay = Math.min(policy.baseMs * 2 ** exponent, policy.maxDelayMs)
  const at = now + delay
  return at > createdAt + policy.windowMs ? null : at
}

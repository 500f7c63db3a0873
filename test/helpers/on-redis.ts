import t from 'tap'
import { requireRedis, startRedis } from './redis'

/** Set while a suite runs on Redis: startTestNode then joins every node to it. */
export const TEST_REDIS_ENV = 'INTERCOM_TEST_REDIS_URL'

/**
 * Runs a behaviour suite written for one node again with the Redis backends:
 * the same tests, so the Redis stores can never drift from the memory ones.
 */
export function onRedis (load: () => void): void {
  if (!requireRedis(t)) return
  t.before(async () => {
    const redis = await startRedis(t)
    process.env[TEST_REDIS_ENV] = redis.url
  })
  load()
}

import type { Redis } from 'ioredis'
import { closeRedis, openRedis, redisFailure, type RedisTarget } from '../cluster/redis-connection'
import type { RateLimiter } from './rate-limiter'

export type RedisRateLimiterOptions = RedisTarget & {
  perSecond: number
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/**
 * KEYS: the identity's counter. ARGV: window length. The count in the window so far.
 * The window opens with the first action and lasts one second by Redis's clock,
 * so nodes with skewed clocks still share one count. Checking the TTL rather
 * than the count also heals a counter that somehow lost its expiry.
 */
const TAKE_LUA = `
local used = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return used
`

const WINDOW_MS = 1_000

interface Scripts {
  intercomRateTake (key: string, windowMs: number): Promise<number>
}

/** A cluster-wide limiter: every node counts in the same Redis key per identity. */
export function createRedisRateLimiter (options: RedisRateLimiterOptions): RateLimiter {
  const { redis, owned } = openRedis(options, 'intercom-rate-limits')
  redis.defineCommand('intercomRateTake', { numberOfKeys: 1, lua: TAKE_LUA })
  const scripts = redis as Redis & Scripts
  const prefix = `${options.prefix ?? 'intercom:'}rate:`
  return {
    async take (key) {
      try {
        return await scripts.intercomRateTake(prefix + key, WINDOW_MS) <= options.perSecond
      } catch (err) {
        throw redisFailure(err, 'Rate limiter')
      }
    },
    async close () {
      if (owned) await closeRedis(redis)
    }
  }
}

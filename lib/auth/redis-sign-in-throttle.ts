import type { Redis } from 'ioredis'
import { redisFailure } from '../cluster/redis-connection'
import type { SignInThrottle, ThrottleRule } from './sign-in-throttle'

/**
 * KEYS: counters. ARGV: window, then each counter's limit. Milliseconds until every
 * counter may try again (0 when none is over). FAIL first counts one failure in each;
 * the window opens with a counter's first failure and lasts by Redis's clock, so
 * every node shares one count. The TTL check also heals a counter without expiry.
 */
const SCRIPT = (fail: boolean) => `
local wait = 0
for i, key in ipairs(KEYS) do
  local failures
  ${fail
    ? `failures = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[1]) end`
    : 'failures = tonumber(redis.call(\'GET\', key) or \'0\')'}
  if failures >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
return wait
`

interface Scripts {
  intercomSignInWait (...args: Array<string | number>): Promise<number>
  intercomSignInFail (...args: Array<string | number>): Promise<number>
}

export interface RedisThrottleOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  windowMs: number
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/** A cluster-wide throttle: every node counts failures in the same Redis keys. */
export function createRedisSignInThrottle (options: RedisThrottleOptions): SignInThrottle {
  options.redis.defineCommand('intercomSignInWait', { lua: SCRIPT(false) })
  options.redis.defineCommand('intercomSignInFail', { lua: SCRIPT(true) })
  const redis = options.redis as Redis & Scripts
  // One hash tag: a script's keys must live on one Redis Cluster slot.
  const prefix = `${options.prefix ?? 'intercom:'}{sign-in}:`
  const args = (rules: readonly ThrottleRule[]): Array<string | number> => [
    rules.length,
    ...rules.map((r) => prefix + r.key),
    options.windowMs,
    ...rules.map((r) => r.limit)
  ]
  const run = async (command: Promise<number>): Promise<number> => {
    try {
      return await command
    } catch (err) {
      throw redisFailure(err, 'Sign-in throttle')
    }
  }
  return {
    waitFor: (rules) => run(redis.intercomSignInWait(...args(rules))),
    fail: (rules) => run(redis.intercomSignInFail(...args(rules))),
    async forget (key) {
      await run(redis.del(prefix + key))
    },
    async close () {}
  }
}

import type { Redis } from 'ioredis'
import { closeRedis, openRedis, redisFailure, type RedisTarget } from '../cluster/redis-connection'
import { decideRetained, retainedSizeRefusal, type RetainedLimits, type RetainedQuota } from './retained-quota'

export type RedisRetainedQuotaOptions = RedisTarget & RetainedLimits & {
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/**
 * KEYS: topic → owner hash, owner → count hash. ARGV: identity, topic, bytes,
 * per-identity bound, total bound. The same rules as decideRetained, in one
 * step so two nodes cannot both take the last slot. Returns the verdict's
 * name: clear, keep, take, identity_full or total_full.
 */
const CLAIM_LUA = `
local owner = redis.call('HGET', KEYS[1], ARGV[2])
local function release (who)
  if redis.call('HINCRBY', KEYS[2], who, -1) <= 0 then redis.call('HDEL', KEYS[2], who) end
end
if ARGV[3] == '0' then
  if owner then
    redis.call('HDEL', KEYS[1], ARGV[2])
    release(owner)
  end
  return 'clear'
end
if owner == ARGV[1] then return 'keep' end
if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') >= tonumber(ARGV[4]) then return 'identity_full' end
if not owner and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return 'total_full' end
if owner then release(owner) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 'take'
`

interface Scripts {
  intercomRetainedClaim (owners: string, counts: string, identity: string, topic: string, bytes: number, perIdentity: number, total: number): Promise<string>
}

/**
 * The cluster's count, beside the retained messages it shares in Redis: every
 * node claims slots in the same two hashes.
 */
export function createRedisRetainedQuota (options: RedisRetainedQuotaOptions): RetainedQuota {
  const { redis, owned } = openRedis(options, 'intercom-retained-quota')
  redis.defineCommand('intercomRetainedClaim', { numberOfKeys: 2, lua: CLAIM_LUA })
  const scripts = redis as Redis & Scripts
  const prefix = `${options.prefix ?? 'intercom:'}retained:`
  const limits: RetainedLimits = { maxBytes: options.maxBytes, maxPerIdentity: options.maxPerIdentity, maxTotal: options.maxTotal }
  return {
    async claim (identity, topic, bytes) {
      if (retainedSizeRefusal(bytes, limits) !== null) return decideRetained(identity, bytes, { owner: null, held: 0, total: 0 }, limits)
      let outcome: string
      try {
        outcome = await scripts.intercomRetainedClaim(`${prefix}owners`, `${prefix}counts`, identity, topic, bytes, limits.maxPerIdentity, limits.maxTotal)
      } catch (err) {
        throw redisFailure(err, 'Retained quota')
      }
      // The script answered which rule applied; the pure decision words it the same as in memory.
      switch (outcome) {
        case 'clear': return { verdict: 'clear' }
        case 'keep': return { verdict: 'store', taken: false }
        case 'take': return { verdict: 'store', taken: true }
        case 'identity_full': return decideRetained(identity, bytes, { owner: null, held: limits.maxPerIdentity, total: 0 }, limits)
        default: return decideRetained(identity, bytes, { owner: null, held: 0, total: limits.maxTotal }, limits)
      }
    },
    async close () {
      if (owned) await closeRedis(redis)
    }
  }
}

import type { Redis } from 'ioredis'
import { INVITED_MARGIN_MS, type PushStore } from './push-store'
import { targetOf, type Subscription } from './subscriptions'

export interface RedisPushStoreOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/** Keys of one resident share its id as hash tag. */
function pushKeys (prefix: string) {
  return {
    /** Hash: subscription id → JSON, of one resident. */
    subscriptions: (residentId: string) => `${prefix}push:subs:{${residentId}}`,
    /** Hash: target → subscription id, of one resident. */
    targets: (residentId: string) => `${prefix}push:targets:{${residentId}}`,
    /** Hash: subscription id → resident id, to find a subscription by id. */
    owners: `${prefix}push:owners`,
    /** Set of the subscription ids that got a call's invite for one resident. */
    invited: (callId: string, residentId: string) => `${prefix}push:invited:{${residentId}}:${callId}`
  }
}

/**
 * KEYS: subscriptions, targets of the resident. ARGV: id, target, JSON, max.
 * The id stored ('' when full), or `=<id>` of the subscription with the same
 * target, which the caller then overwrites under that id.
 */
const ADD_LUA = `
local existing = redis.call('HGET', KEYS[2], ARGV[2])
if existing then return '=' .. existing end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return '' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return ARGV[1]
`

interface Scripts {
  intercomPushAdd (subscriptions: string, targets: string, id: string, target: string, json: string, max: number): Promise<string>
}

/** The push store of a cluster, in Redis. */
export function createRedisPushStore (options: RedisPushStoreOptions): PushStore {
  const keys = pushKeys(options.prefix ?? 'intercom:')
  options.redis.defineCommand('intercomPushAdd', { numberOfKeys: 2, lua: ADD_LUA })
  const redis = options.redis as Redis & Scripts

  async function get (id: string): Promise<Subscription | null> {
    const residentId = await redis.hget(keys.owners, id)
    if (residentId === null) return null
    const json = await redis.hget(keys.subscriptions(residentId), id)
    return json === null ? null : JSON.parse(json) as Subscription
  }

  return {
    async add (subscription, maxPerResident) {
      const r = subscription.resident_id
      const added = await redis.intercomPushAdd(keys.subscriptions(r), keys.targets(r), subscription.subscription_id, targetOf(subscription), JSON.stringify(subscription), maxPerResident)
      if (added === '') return null
      if (added.startsWith('=')) {
        const replaced = { ...subscription, subscription_id: added.slice(1) }
        await redis.hset(keys.subscriptions(r), replaced.subscription_id, JSON.stringify(replaced))
        return replaced
      }
      await redis.hset(keys.owners, added, r)
      return subscription
    },
    async list (residentId) {
      const all = await redis.hvals(keys.subscriptions(residentId))
      return all.map((json) => JSON.parse(json) as Subscription).sort((a, b) => a.created_at - b.created_at)
    },
    get,
    async remove (id) {
      const found = await get(id)
      if (found === null) return false
      const r = found.resident_id
      await redis.multi()
        .hdel(keys.subscriptions(r), id)
        .hdel(keys.targets(r), targetOf(found))
        .exec()
      await redis.hdel(keys.owners, id)
      return true
    },
    async recordInvited (callId, residentId, ids, expiresAt) {
      if (ids.length === 0) return
      const key = keys.invited(callId, residentId)
      await redis.multi().sadd(key, ...ids).pexpireat(key, expiresAt + INVITED_MARGIN_MS).exec()
    },
    async takeInvited (callId, residentId) {
      const key = keys.invited(callId, residentId)
      const result = await redis.multi().smembers(key).del(key).exec()
      const members = result?.[0]?.[1]
      return Array.isArray(members) ? members as string[] : []
    },
    async close () {}
  }
}

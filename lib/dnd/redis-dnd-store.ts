import type { Redis } from 'ioredis'
import { redisFailure } from '../cluster/redis-connection'
import { dndOff, type DndState, type DndStore } from './dnd-store'

export interface RedisDndStoreOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/** The stored value of a DND without an end. */
const NO_END = '0'

/**
 * DND shared by a cluster: `dnd:<resident>` holds the end in ms (`0` for none)
 * and expires at that end, so a lapsed DND leaves no key behind.
 */
export function createRedisDndStore (options: RedisDndStoreOptions): DndStore {
  const { redis } = options
  const key = (residentId: string): string => `${options.prefix ?? 'intercom:'}dnd:${residentId}`

  async function run<T> (what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw redisFailure(err, what)
    }
  }

  /** Another node's clock may lag: an end already past here counts as lapsed. */
  const endOf = (value: string | null, now: number): number | null => {
    if (value === null) return null
    const end = Number(value)
    if (value === NO_END) return Infinity
    return end > now ? end : null
  }

  const stateOf = (residentId: string, end: number | null): DndState =>
    end === null ? dndOff(residentId) : { resident_id: residentId, enabled: true, until: end === Infinity ? null : end }

  return {
    async set (residentId, setting, now) {
      if (!setting.enabled) {
        await run('turning DND off', () => redis.del(key(residentId)))
        return dndOff(residentId)
      }
      const { until } = setting
      if (until === null) await run('turning DND on', () => redis.set(key(residentId), NO_END))
      else await run('turning DND on', () => redis.set(key(residentId), String(until), 'PXAT', until))
      return stateOf(residentId, until === null ? Infinity : endOf(String(until), now))
    },
    async get (residentId, now) {
      return stateOf(residentId, endOf(await run('reading DND', () => redis.get(key(residentId))), now))
    },
    async among (residentIds, now) {
      if (residentIds.length === 0) return new Set()
      const values = await run('reading DND', () => redis.mget(residentIds.map(key)))
      return new Set(residentIds.filter((_, i) => endOf(values[i] ?? null, now) !== null))
    }
  }
}

import type { Redis } from 'ioredis'
import type { QueuedEvent } from './events'
import { publicWebhook, webhookOfLane, type ClaimedDelivery, type Delivery, type EnqueueResult, type StoredWebhook, type WebhookStore } from './webhook-store'

export interface RedisWebhookStoreOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** Put before every key. Default `intercom:`. */
  prefix?: string
}

/**
 * Key layout. Every key carries the `{webhooks}` hash tag, so on Redis Cluster the
 * scripts, which fan one event out to lanes they name themselves, stay in one slot.
 */
function webhookKeys (prefix: string) {
  const base = `${prefix}{webhooks}:`
  return {
    /** Hash: webhook id → stored webhook JSON (with its secret). */
    registry: `${base}registry`,
    /** Sorted set: lane → when its head is due (or its lease ends). */
    due: `${base}due`,
    /** Hash: webhook id → deliveries pending in all its lanes. */
    pending: `${base}pending`,
    /** List of a lane's deliveries, head first. */
    lanePrefix: `${base}lane:`,
    online: (deviceId: string) => `${base}online:${deviceId}`
  }
}

/** KEYS: registry. ARGV: id, JSON, max count. 1 when added. */
const ADD_LUA = `
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`

/**
 * KEYS: registry, due, pending. ARGV: event type, order key, delivery JSON, now,
 * max pending, lane key prefix. A new lane is due now; a lane that has a head
 * keeps its time. Returns {queued, {dropped webhook ids}}.
 */
const ENQUEUE_LUA = `
local hooks = redis.call('HGETALL', KEYS[1])
local queued = 0
local dropped = {}
for i = 1, #hooks, 2 do
  local id = hooks[i]
  local wanted = false
  for _, e in ipairs(cjson.decode(hooks[i + 1]).events) do
    if e == ARGV[1] or e == '*' then wanted = true break end
  end
  if wanted then
    if tonumber(redis.call('HGET', KEYS[3], id) or '0') >= tonumber(ARGV[5]) then
      table.insert(dropped, id)
    else
      local lane = id .. '|' .. ARGV[2]
      if redis.call('RPUSH', ARGV[6] .. lane, ARGV[3]) == 1 then
        redis.call('ZADD', KEYS[2], ARGV[4], lane)
      end
      redis.call('HINCRBY', KEYS[3], id, 1)
      queued = queued + 1
    end
  end
end
return {queued, dropped}
`

/** KEYS: due. ARGV: now, lease, limit, lane key prefix. Flat {lane, head JSON, ...}. */
const CLAIM_LUA = `
local lanes = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
local leased = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, lane in ipairs(lanes) do
  local head = redis.call('LINDEX', ARGV[4] .. lane, 0)
  if head then
    redis.call('ZADD', KEYS[1], leased, lane)
    table.insert(out, lane)
    table.insert(out, head)
  else
    redis.call('ZREM', KEYS[1], lane)
  end
end
return out
`

/** KEYS: lane, due, pending. ARGV: lane, delivery id, now, webhook id. Pops the head if it is that delivery. */
const COMPLETE_LUA = `
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or cjson.decode(head).id ~= ARGV[2] then return 0 end
redis.call('LPOP', KEYS[1])
if redis.call('HINCRBY', KEYS[3], ARGV[4], -1) <= 0 then redis.call('HDEL', KEYS[3], ARGV[4]) end
if redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`

/** KEYS: lane, due. ARGV: lane, delivery id, delivery JSON, when. Replaces the head if it is that delivery. */
const RESCHEDULE_LUA = `
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or cjson.decode(head).id ~= ARGV[2] then return 0 end
redis.call('LSET', KEYS[1], 0, ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
return 1
`

interface Scripts {
  intercomWebhookAdd (registry: string, id: string, json: string, maxCount: number): Promise<number>
  intercomWebhookEnqueue (registry: string, due: string, pending: string, type: string, orderKey: string, json: string, now: number, maxPending: number, lanePrefix: string): Promise<[number, string[]]>
  intercomWebhookClaim (due: string, now: number, leaseMs: number, limit: number, lanePrefix: string): Promise<string[]>
  intercomWebhookComplete (lane: string, due: string, pending: string, laneName: string, id: string, now: number, webhookId: string): Promise<number>
  intercomWebhookReschedule (lane: string, due: string, laneName: string, id: string, json: string, at: number): Promise<number>
}

/** The webhook store of a cluster: the registry and the delivery lanes in Redis, shared by every node. */
export function createRedisWebhookStore (options: RedisWebhookStoreOptions): WebhookStore {
  const keys = webhookKeys(options.prefix ?? 'intercom:')
  options.redis.defineCommand('intercomWebhookAdd', { numberOfKeys: 1, lua: ADD_LUA })
  options.redis.defineCommand('intercomWebhookEnqueue', { numberOfKeys: 3, lua: ENQUEUE_LUA })
  options.redis.defineCommand('intercomWebhookClaim', { numberOfKeys: 1, lua: CLAIM_LUA })
  options.redis.defineCommand('intercomWebhookComplete', { numberOfKeys: 3, lua: COMPLETE_LUA })
  options.redis.defineCommand('intercomWebhookReschedule', { numberOfKeys: 2, lua: RESCHEDULE_LUA })
  const redis = options.redis as Redis & Scripts

  return {
    async add (webhook, maxCount) {
      return await redis.intercomWebhookAdd(keys.registry, webhook.webhook_id, JSON.stringify(webhook), maxCount) === 1
    },
    async list () {
      const all = await redis.hvals(keys.registry)
      return all.map((json) => publicWebhook(JSON.parse(json) as StoredWebhook)).sort((a, b) => a.created_at - b.created_at)
    },
    async get (webhookId) {
      const json = await redis.hget(keys.registry, webhookId)
      return json === null ? null : JSON.parse(json) as StoredWebhook
    },
    async backlog () {
      const counts = await redis.hvals(keys.pending)
      return counts.reduce((sum, n) => sum + Number(n), 0)
    },
    async remove (webhookId) {
      const removed = await redis.hdel(keys.registry, webhookId)
      await redis.hdel(keys.pending, webhookId)
      return removed === 1
    },

    async enqueue (event: QueuedEvent, orderKey, maxPending, now): Promise<EnqueueResult> {
      const delivery: Delivery = { ...event, attempts: 0 }
      const [queued, dropped] = await redis.intercomWebhookEnqueue(keys.registry, keys.due, keys.pending, event.type, orderKey, JSON.stringify(delivery), now, maxPending, keys.lanePrefix)
      return { queued, dropped }
    },
    async claim (now, leaseMs, limit) {
      const flat = await redis.intercomWebhookClaim(keys.due, now, leaseMs, limit, keys.lanePrefix)
      const claimed: ClaimedDelivery[] = []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const lane = flat[i] as string
        claimed.push({ lane, webhookId: webhookOfLane(lane), delivery: JSON.parse(flat[i + 1] as string) as Delivery })
      }
      return claimed
    },
    async complete (lane, deliveryId, now) {
      await redis.intercomWebhookComplete(keys.lanePrefix + lane, keys.due, keys.pending, lane, deliveryId, now, webhookOfLane(lane))
    },
    async reschedule (lane, delivery, at) {
      await redis.intercomWebhookReschedule(keys.lanePrefix + lane, keys.due, lane, delivery.id, JSON.stringify(delivery), at)
    },

    async swapDeviceOnline (deviceId, online) {
      const before = await redis.set(keys.online(deviceId), online ? '1' : '0', 'GET')
      return before === null ? null : before === '1'
    },

    async close () {}
  }
}

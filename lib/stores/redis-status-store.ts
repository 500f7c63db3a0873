import type { Redis } from 'ioredis'
import { IntercomError } from '../errors'
import { redisFailure } from '../cluster/redis-connection'
import { initialStatus, mergeStatus, type DeviceStatus } from '../presence/device-status'
import type { PresenceChange, StatusStore } from './status-store'

export interface RedisStatusStoreOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** This node's id, unique in the cluster: its connections are recorded under it. */
  nodeId: string
  /** Put before every key, so deployments (or tests) can share one Redis. Default `intercom:`. */
  prefix?: string
}

const DEFAULT_PREFIX = 'intercom:'

/**
 * The key layout shared by the store and the presence sweeper. The keys of one
 * device carry its id as hash tag, so a device's status and connections share a slot.
 */
export function presenceKeys (prefix: string = DEFAULT_PREFIX) {
  return {
    prefix,
    status: (deviceId: string) => `${prefix}status:{${deviceId}}`,
    /** Hash: connection id → id of the node holding it. */
    conns: (deviceId: string) => `${prefix}conns:{${deviceId}}`,
    /** Set of `<deviceId>|<connectionId>` of the connections a node holds. */
    nodeConns: (nodeId: string) => `${prefix}node-conns:${nodeId}`,
    /** Set of the ids of the nodes that hold, or held, connections. */
    nodes: `${prefix}nodes`,
    /** A node's heartbeat; it expires when the node stops beating. */
    heartbeat: (nodeId: string) => `${prefix}node:${nodeId}`,
    /** Held by the one node sweeping a dead node's connections. */
    sweepLock: (nodeId: string) => `${prefix}sweep:${nodeId}`
  }
}

/** `<deviceId>|<connectionId>`: device ids have no `|`, so the first one splits. */
function connectionMember (deviceId: string, connectionId: string): string {
  return `${deviceId}|${connectionId}`
}

export function parseConnectionMember (member: string): { deviceId: string, connectionId: string } {
  const bar = member.indexOf('|')
  return { deviceId: member.slice(0, bar), connectionId: member.slice(bar + 1) }
}

/** KEYS: status. ARGV: the expected JSON ('' for none), the new JSON. 1 when written. */
const STATUS_CAS_LUA = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`

/** KEYS: conns, node-conns of this node. ARGV: connection id, node id, member. 1 when it is the first open one. */
const OPEN_LUA = `
local first = redis.call('HLEN', KEYS[1]) == 0
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
if first then return 1 end
return 0
`

/**
 * KEYS: conns. ARGV: connection id, member, prefix. The connections left open, or -1
 * when the connection is unknown. It leaves the set of the node holding it, which
 * is another node's when a sweeper closes the connections of a dead node.
 */
const CLOSE_LUA = `
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if not owner then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('SREM', ARGV[3] .. 'node-conns:' .. owner, ARGV[2])
return redis.call('HLEN', KEYS[1])
`

/**
 * KEYS: status, conns. ARGV: the expected JSON ('' for none), the online JSON, the
 * offline JSON. Writes the one that matches the connections open now: 1 online,
 * 0 offline, -1 when the status changed since it was read.
 */
const PRESENCE_CAS_LUA = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return -1 end
if redis.call('HLEN', KEYS[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
redis.call('SET', KEYS[1], ARGV[3])
return 0
`

interface Scripts {
  intercomStatusCas (status: string, expected: string, json: string): Promise<number>
  intercomStatusOpen (conns: string, nodeConns: string, connectionId: string, nodeId: string, member: string): Promise<number>
  intercomStatusClose (conns: string, connectionId: string, member: string, prefix: string): Promise<number>
  intercomPresenceCas (status: string, conns: string, expected: string, online: string, offline: string): Promise<number>
}

/** Defining the same scripts twice on a shared connection is harmless: same names, same code. */
function defineScripts (redis: Redis): Redis & Scripts {
  redis.defineCommand('intercomStatusCas', { numberOfKeys: 1, lua: STATUS_CAS_LUA })
  redis.defineCommand('intercomStatusOpen', { numberOfKeys: 2, lua: OPEN_LUA })
  redis.defineCommand('intercomStatusClose', { numberOfKeys: 1, lua: CLOSE_LUA })
  redis.defineCommand('intercomPresenceCas', { numberOfKeys: 2, lua: PRESENCE_CAS_LUA })
  return redis as Redis & Scripts
}

/**
 * A compare-and-set loses only to a write made in between, so some writer always
 * progresses; this bound only stops a device whose status is rewritten without pause.
 */
const MAX_ATTEMPTS = 50

/**
 * Statuses and open connections in Redis, shared by the nodes of a cluster.
 * A status is rewritten by compare-and-set on its exact previous JSON, so a
 * concurrent write is never lost. A presence write picks online or offline from
 * the connections open when it lands, so two nodes racing an open and a close
 * never leave a device offline with a connection open, or online with none.
 */
export function createRedisStatusStore (options: RedisStatusStoreOptions): StatusStore {
  const { nodeId } = options
  const redis = defineScripts(options.redis)
  const keys = presenceKeys(options.prefix)

  async function run<T> (what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command()
    } catch (err) {
      throw redisFailure(err, `Status store ${what}`)
    }
  }

  async function read (deviceId: string): Promise<{ json: string, status: DeviceStatus }> {
    const json = await run('reading a status', () => redis.get(keys.status(deviceId)))
    return json === null
      ? { json: '', status: initialStatus(deviceId) }
      : { json, status: JSON.parse(json) as DeviceStatus }
  }

  function contended (deviceId: string): IntercomError {
    return new IntercomError('service_unavailable', `The status of device ${deviceId} is changing too fast to update; retry in a moment`)
  }

  /** Writes the status merged as online or offline, whichever the connections open when the write lands say. */
  async function writePresence (deviceId: string, now: number): Promise<DeviceStatus> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { json, status } = await read(deviceId)
      const online = mergeStatus(status, { online: true }, now)
      const offline = mergeStatus(status, { online: false }, now)
      const written = await run('recording presence', () =>
        redis.intercomPresenceCas(keys.status(deviceId), keys.conns(deviceId), json, JSON.stringify(online), JSON.stringify(offline)))
      if (written === 1) return online
      if (written === 0) return offline
    }
    throw contended(deviceId)
  }

  return {
    async get (deviceId) {
      return (await read(deviceId)).status
    },

    async update (deviceId, fn) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const { json, status } = await read(deviceId)
        const next = fn(status)
        const written = await run('updating a status', () =>
          redis.intercomStatusCas(keys.status(deviceId), json, JSON.stringify(next)))
        if (written === 1) return next
      }
      throw contended(deviceId)
    },

    async connectionOpened (deviceId, connectionId, now): Promise<PresenceChange> {
      const first = await run('recording a connection', () =>
        redis.intercomStatusOpen(keys.conns(deviceId), keys.nodeConns(nodeId), connectionId, nodeId, connectionMember(deviceId, connectionId)))
      const status = await writePresence(deviceId, now)
      return { status, changed: first === 1 && status.online }
    },

    async connectionClosed (deviceId, connectionId, now): Promise<PresenceChange> {
      const left = await run('forgetting a connection', () =>
        redis.intercomStatusClose(keys.conns(deviceId), connectionId, connectionMember(deviceId, connectionId), keys.prefix))
      // Closing one of several connections leaves the device online: nothing to write.
      if (left !== 0) return { status: (await read(deviceId)).status, changed: false }
      const status = await writePresence(deviceId, now)
      return { status, changed: !status.online }
    }
  }
}

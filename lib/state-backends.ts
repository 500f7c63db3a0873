import type { Logger } from 'pino'
import { redisAddressOf, type Config } from '../config/env'
import { createMemoryDndStore } from './dnd/memory-dnd-store'
import { createRedisDndStore } from './dnd/redis-dnd-store'
import type { DndStore } from './dnd/dnd-store'
import { createMemorySignInThrottle, type SignInThrottle } from './auth/sign-in-throttle'
import { createRedisSignInThrottle } from './auth/redis-sign-in-throttle'
import { createRedisBrokerParts } from './cluster/redis-broker-parts'
import { closeRedis, createRedisConnection } from './cluster/redis-connection'
import { createMemoryRateLimiter, type RateLimiter } from './limits/rate-limiter'
import { createRedisRateLimiter } from './limits/redis-rate-limiter'
import { createRedisRetainedQuota } from './limits/redis-retained-quota'
import { createMemoryRetainedQuota, type RetainedLimits, type RetainedQuota } from './limits/retained-quota'
import type { CallStore } from './stores/call-store'
import { MemoryCallStore } from './stores/memory-call-store'
import { createMemoryStatusStore } from './stores/memory-status-store'
import { RedisCallStore } from './stores/redis-call-store'
import { createPresenceSweeper, type PresenceSweeper } from './stores/redis-presence-sweeper'
import { createRedisStatusStore } from './stores/redis-status-store'
import type { StatusStore } from './stores/status-store'

/** Where a node keeps what matters: its own memory, or the Redis a cluster shares. */
export interface StateBackends {
  readonly kind: 'memory' | 'redis'
  readonly callStore: CallStore
  readonly rateLimiter: RateLimiter
  /** Status updates per device, apart from the identities' control actions. */
  readonly statusRateLimiter: RateLimiter
  readonly signInThrottle: SignInThrottle
  /** Clients' retained topics, counted where the broker keeps them. */
  readonly retainedQuota: RetainedQuota
  readonly statusStore: StatusStore
  readonly dndStore: DndStore
  /** Whether the state can be reached right now: always in memory, while the connection is ready with Redis. */
  up (): boolean
  /**
   * Starts noticing the device connections of nodes that died (cluster only):
   * each one is handed to `onConnectionLost` as if its socket had closed.
   */
  sweepPresence (onConnectionLost: (deviceId: string, connectionId: string) => Promise<unknown>): void
  /** Spread into the broker's options: persistence, routing and heartbeat of a cluster. */
  readonly broker: { persistence?: unknown, mq?: unknown, heartbeatInterval?: number }
  /** Call after the broker has closed. */
  close (): Promise<void>
}

/** A node that has not beaten for PRESENCE_TTL_MS is dead; its devices' connections are closed for it. */
const PRESENCE_BEAT_MS = 1000
const PRESENCE_TTL_MS = 5000
/** Names and addresses a node remembers failures of; about 100 bytes each. */
const SIGN_IN_THROTTLE_MAX_KEYS = 100_000

export function createStateBackends (config: Config, nodeId: string, logger: Logger): StateBackends {
  const address = redisAddressOf(config)
  const retainedLimits: RetainedLimits = { maxBytes: config.MQTT_RETAINED_MAX_BYTES, maxPerIdentity: config.MQTT_RETAINED_MAX_PER_IDENTITY, maxTotal: config.MQTT_RETAINED_MAX_TOTAL }
  if (address === null) {
    return {
      kind: 'memory',
      callStore: new MemoryCallStore({ retentionMs: config.CALL_RETENTION_MS, maxEndedCalls: config.MEMORY_MAX_ENDED_CALLS, maxEndedBytes: config.MEMORY_MAX_ENDED_CALL_BYTES }),
      rateLimiter: createMemoryRateLimiter({ perSecond: config.RATE_LIMIT_PER_SECOND }),
      statusRateLimiter: createMemoryRateLimiter({ perSecond: config.STATUS_UPDATES_PER_SECOND }),
      signInThrottle: createMemorySignInThrottle({ windowMs: config.SIGN_IN_THROTTLE_MS, maxKeys: SIGN_IN_THROTTLE_MAX_KEYS }),
      retainedQuota: createMemoryRetainedQuota(retainedLimits),
      statusStore: createMemoryStatusStore(),
      dndStore: createMemoryDndStore(),
      up: () => true,
      sweepPresence: () => {},
      broker: {},
      close: async () => {}
    }
  }
  const redis = createRedisConnection(address, 'intercom-state', logger)
  const brokerParts = createRedisBrokerParts({ address, logger })
  let sweeper: PresenceSweeper | null = null
  return {
    kind: 'redis',
    callStore: new RedisCallStore({ redis, retentionMs: config.CALL_RETENTION_MS, longestCallMs: config.RING_TIMEOUT_MS + config.MAX_CALL_MS + config.OFFLINE_GRACE_MS }),
    rateLimiter: createRedisRateLimiter({ redis, perSecond: config.RATE_LIMIT_PER_SECOND }),
    statusRateLimiter: createRedisRateLimiter({ redis, perSecond: config.STATUS_UPDATES_PER_SECOND, prefix: 'intercom:status-' }),
    signInThrottle: createRedisSignInThrottle({ redis, windowMs: config.SIGN_IN_THROTTLE_MS }),
    retainedQuota: createRedisRetainedQuota({ redis, ...retainedLimits }),
    statusStore: createRedisStatusStore({ redis, nodeId }),
    dndStore: createRedisDndStore({ redis }),
    up: () => redis.status === 'ready',
    sweepPresence (onConnectionLost) {
      sweeper = createPresenceSweeper({
        redis,
        nodeId,
        intervalMs: PRESENCE_BEAT_MS,
        ttlMs: PRESENCE_TTL_MS,
        onConnectionLost,
        onError: (err) => logger.warn({ err }, 'presence heartbeat or sweep failed; retrying')
      })
    },
    broker: { persistence: brokerParts.persistence, mq: brokerParts.mq, heartbeatInterval: brokerParts.heartbeatInterval },
    async close () {
      await sweeper?.stop()
      await brokerParts.close()
      await closeRedis(redis)
    }
  }
}

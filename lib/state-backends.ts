import type { Logger } from 'pino'
import type { Config } from '../config/env'
import { createRedisBrokerParts } from './cluster/redis-broker-parts'
import { closeRedis, createRedisConnection } from './cluster/redis-connection'
import { createMemoryRateLimiter, type RateLimiter } from './limits/rate-limiter'
import { createRedisRateLimiter } from './limits/redis-rate-limiter'
import type { CallStore } from './stores/call-store'
import { MemoryCallStore } from './stores/memory-call-store'
import { createMemoryStatusStore } from './stores/memory-status-store'
import { RedisCallStore } from './stores/redis-call-store'
import type { StatusStore } from './stores/status-store'

/** Where a node keeps what matters: its own memory, or the Redis a cluster shares. */
export interface StateBackends {
  readonly kind: 'memory' | 'redis'
  readonly callStore: CallStore
  readonly rateLimiter: RateLimiter
  readonly statusStore: StatusStore
  /** Spread into the broker's options: persistence, routing and heartbeat of a cluster. */
  readonly broker: { persistence?: unknown, mq?: unknown, heartbeatInterval?: number }
  /** Call after the broker has closed. */
  close (): Promise<void>
}

export function createStateBackends (config: Config, logger: Logger): StateBackends {
  if (config.REDIS_URL === undefined) {
    return {
      kind: 'memory',
      callStore: new MemoryCallStore({ retentionMs: config.CALL_RETENTION_MS }),
      rateLimiter: createMemoryRateLimiter({ perSecond: config.RATE_LIMIT_PER_SECOND }),
      statusStore: createMemoryStatusStore(),
      broker: {},
      close: async () => {}
    }
  }
  const redis = createRedisConnection(config.REDIS_URL, 'intercom-state', logger)
  const brokerParts = createRedisBrokerParts({ url: config.REDIS_URL, logger })
  return {
    kind: 'redis',
    callStore: new RedisCallStore({ redis, retentionMs: config.CALL_RETENTION_MS }),
    rateLimiter: createRedisRateLimiter({ redis, perSecond: config.RATE_LIMIT_PER_SECOND }),
    statusStore: createMemoryStatusStore(),
    broker: { persistence: brokerParts.persistence, mq: brokerParts.mq, heartbeatInterval: brokerParts.heartbeatInterval },
    async close () {
      await brokerParts.close()
      await closeRedis(redis)
    }
  }
}

import type { EventEmitter } from 'node:events'
import aedesPersistenceRedis from 'aedes-persistence-redis'
import type { Redis } from 'ioredis'
import MQEmitterRedis from 'mqemitter-redis'
import type { Logger } from 'pino'
import { connectRedis, type RedisAddress } from './redis-address'
import { closeGracefully, watchRedis } from './redis-connection'

/**
 * Nodes publish a heartbeat this often and treat a node silent for three of them
 * as dead, publishing its clients' wills: seconds, where Aedes' default is minutes.
 */
export const CLUSTER_HEARTBEAT_MS = 1_000

/** What `createBroker` needs to join a cluster: spread it into the broker options. */
export interface RedisBrokerParts {
  persistence: unknown
  mq: unknown
  heartbeatInterval: number
  /** Call after the broker has closed: releases every Redis connection. */
  close (): Promise<void>
}

/**
 * Aedes persistence (sessions, subscriptions, retained messages, wills) and message
 * routing between nodes, both in the Redis at `address`. Unlike call state, broker
 * traffic queues through an outage (or a Sentinel failover) until Redis is back.
 * Both libraries take ready ioredis connections, so sentinels work for them as for
 * the stores.
 */
export function createRedisBrokerParts (options: { address: RedisAddress, logger: Logger }): RedisBrokerParts {
  const connection = (role: string): Redis => {
    const name = `intercom-${role}`
    // Aedes treats a failed persistence command as fatal (a rejected will sweep ends the
    // process), so commands wait for Redis instead of failing after ioredis' default
    // 20 reconnection attempts (about 10 s)
    return watchRedis(connectRedis(options.address, { connectionName: name, maxRetriesPerRequest: null }), name, options.logger)
  }
  const persistenceConn = connection('persistence')
  const pubConn = connection('mq-pub')
  const subConn = connection('mq-sub')
  const connections = [persistenceConn, pubConn, subConn]
  const persistence = aedesPersistenceRedis({ conn: persistenceConn })
  const mq = MQEmitterRedis({ pubConn, subConn })
  // mqemitter-redis re-emits connection errors on an untyped `state` emitter, where an
  // unheard 'error' would crash the process; the connections' watchers log them
  ;(mq as unknown as { state: EventEmitter }).state.on('error', () => {})

  // broker.close() ends with mq.close(), which QUITs and waits for Redis to answer:
  // while Redis is down that is forever, so the broker could never finish closing
  const closeMq = mq.close.bind(mq)
  const dropMq = (): void => {
    pubConn.disconnect()
    subConn.disconnect()
  }
  // Clients closed by broker.close() finish unsubscribing after it returns, and publish
  // their notices then: on closed connections those would be unhandled rejections.
  let mqClosed = false
  const emit = mq.emit.bind(mq)
  mq.emit = ((packet: unknown, done?: (err?: Error) => void) => {
    if (mqClosed) {
      done?.()
      return
    }
    emit(packet as Parameters<typeof emit>[0], done)
  }) as typeof mq.emit
  mq.close = (done: () => void) => {
    mqClosed = true
    closeGracefully(() => new Promise<void>(resolve => closeMq(() => resolve())), dropMq).then(done, done)
  }

  async function close (): Promise<void> {
    try {
      // the promise form: the callback form has been seen to hang
      await closeGracefully(() => persistence.destroy(), () => persistenceConn.disconnect())
    } finally {
      await new Promise<void>(resolve => mq.close(() => resolve()))
      // destroy() skips its disconnect when the broker never finished setting up
      for (const conn of connections) conn.disconnect()
    }
  }
  let closing: Promise<void> | null = null
  return {
    persistence,
    mq,
    heartbeatInterval: CLUSTER_HEARTBEAT_MS,
    close: () => (closing ??= close())
  }
}

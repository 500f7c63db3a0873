import type { Aedes, Client } from 'aedes'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ClientContext, ClientContexts } from '../broker/client-context'
import { presenceKeys } from '../stores/redis-status-store'

/** Which residents hold an open MQTT connection somewhere in the cluster. */
export interface ResidentConnections {
  opened (residentId: string, connectionId: string): Promise<void>
  closed (residentId: string, connectionId: string): Promise<void>
  isOnline (residentId: string): Promise<boolean>
}

export function createMemoryResidentConnections (): ResidentConnections {
  const open = new Map<string, Set<string>>()
  return {
    async opened (residentId, connectionId) {
      const set = open.get(residentId) ?? new Set<string>()
      set.add(connectionId)
      open.set(residentId, set)
    },
    async closed (residentId, connectionId) {
      const set = open.get(residentId)
      set?.delete(connectionId)
      if (set?.size === 0) open.delete(residentId)
    },
    async isOnline (residentId) {
      return (open.get(residentId)?.size ?? 0) > 0
    }
  }
}

export interface RedisResidentConnectionsOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** This node's id: the one its presence heartbeat beats under. */
  nodeId: string
  prefix?: string
}

/**
 * A set per resident of `<node id>|<connection id>`. An entry of a node whose
 * presence heartbeat is gone (the node died) does not count, and is removed
 * when found: the cluster's presence sweeper already judges nodes by that beat.
 */
export function createRedisResidentConnections (options: RedisResidentConnectionsOptions): ResidentConnections {
  const { redis, nodeId } = options
  const prefix = options.prefix ?? 'intercom:'
  const heartbeat = presenceKeys(prefix).heartbeat
  const key = (residentId: string) => `${prefix}push:resident-conns:{${residentId}}`
  const member = (connectionId: string) => `${nodeId}|${connectionId}`
  return {
    async opened (residentId, connectionId) {
      await redis.sadd(key(residentId), member(connectionId))
    },
    async closed (residentId, connectionId) {
      await redis.srem(key(residentId), member(connectionId))
    },
    async isOnline (residentId) {
      const members = await redis.smembers(key(residentId))
      const nodes = [...new Set(members.map((m) => m.slice(0, m.indexOf('|'))))]
      if (nodes.length === 0) return false
      const alive = new Set<string>()
      for (const node of nodes) if (node === nodeId || await redis.exists(heartbeat(node)) === 1) alive.add(node)
      const dead = members.filter((m) => !alive.has(m.slice(0, m.indexOf('|'))))
      if (dead.length > 0) await redis.srem(key(residentId), ...dead)
      return alive.size > 0
    }
  }
}

/** Feeds a registry from the broker's resident connections, like device presence does for devices. */
export function trackResidentConnections (options: { broker: Aedes, contexts: ClientContexts, registry: ResidentConnections, logger: Logger }): () => void {
  const { broker, contexts, registry, logger } = options
  const open = new Map<string, string>()
  const fail = (err: unknown) => logger.warn({ err }, 'could not record a resident connection')

  function closed (context: ClientContext | undefined): void {
    if (context === undefined) return
    const residentId = open.get(context.connectionId)
    if (residentId === undefined) return
    open.delete(context.connectionId)
    registry.closed(residentId, context.connectionId).catch(fail)
  }

  const stop = contexts.onAuthenticated((client, context) => {
    if (context.identity.kind !== 'resident' || client.closed || client.conn.destroyed) return
    open.set(context.connectionId, context.identity.id)
    client.conn.once('close', () => closed(context))
    registry.opened(context.identity.id, context.connectionId).catch(fail)
  })
  const onGone = (client: Client): void => closed(contexts.get(client))
  broker.on('clientDisconnect', onGone)
  broker.on('keepaliveTimeout', onGone)
  return () => {
    stop()
    broker.off('clientDisconnect', onGone)
    broker.off('keepaliveTimeout', onGone)
  }
}

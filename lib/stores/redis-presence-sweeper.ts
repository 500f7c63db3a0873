import type { Redis } from 'ioredis'
import { IntercomError } from '../errors'
import { parseConnectionMember, presenceKeys } from './redis-status-store'

export interface PresenceSweeperOptions {
  /** A connection the caller owns and closes. */
  redis: Redis
  /** This node's id: the one its status store records connections under. */
  nodeId: string
  /** The status store's key prefix. Default `intercom:`. */
  prefix?: string
  /** How often this node beats and looks for dead nodes. */
  intervalMs: number
  /** A node that has not beaten for this long is dead. Several intervals, so one slow beat does not kill a node. */
  ttlMs: number
  /**
   * A connection of a dead node. Close it as if its socket had closed (the
   * status feed's connectionClosed); the connection counts as handled when this resolves.
   */
  onConnectionLost (deviceId: string, connectionId: string): unknown
  /** A beat or a sweep failed; the next tick tries again. */
  onError (err: unknown): void
}

export interface PresenceSweeper {
  /**
   * Stops beating and sweeping, and drops this node's heartbeat, so the other
   * nodes close the connections it still holds at their next tick.
   */
  stop (): Promise<void>
}

/**
 * KEYS: heartbeat, node-conns, sweep lock of the dead node; nodes. ARGV: sweeper id,
 * lease, dead node id. The next connection to close, or nil when the node is alive,
 * swept by someone else, or done (then it leaves the node list). Each call renews
 * the sweeper's lease, so a sweeper that dies mid-way is taken over after the lease.
 */
const TAKE_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return false end
local member = redis.call('SRANDMEMBER', KEYS[2])
if not member then
  redis.call('SREM', KEYS[4], ARGV[3])
  redis.call('DEL', KEYS[3])
  return false
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return member
`

interface Scripts {
  intercomPresenceTake (heartbeat: string, nodeConns: string, lock: string, nodes: string, sweeperId: string, leaseMs: number, deadId: string): Promise<string | null>
}

/**
 * Cluster presence: every node beats a heartbeat key with a TTL, and closes the
 * connections recorded by nodes whose heartbeat is gone. A connection leaves the
 * dead node's set only once handled, so a sweeper that dies mid-way loses none.
 * A node must start its sweeper (its first beat) before it records connections.
 */
export function createPresenceSweeper (options: PresenceSweeperOptions): PresenceSweeper {
  const { nodeId, intervalMs, ttlMs, onConnectionLost, onError } = options
  if (!(ttlMs > intervalMs)) {
    throw new IntercomError('internal', `The presence heartbeat TTL (${ttlMs} ms) must exceed its interval (${intervalMs} ms); make it several intervals`)
  }
  options.redis.defineCommand('intercomPresenceTake', { numberOfKeys: 4, lua: TAKE_LUA })
  const redis = options.redis as Redis & Scripts
  const keys = presenceKeys(options.prefix)

  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let sweeping: Promise<void> | null = null
  /** Since when this node's beats have succeeded without a break. */
  let beatingSince: number | null = null

  async function beat (): Promise<void> {
    // The heartbeat first: listed without one, this node would look dead.
    await redis.set(keys.heartbeat(nodeId), nodeId, 'PX', ttlMs)
    await redis.sadd(keys.nodes, nodeId)
  }

  async function sweepNode (deadId: string): Promise<void> {
    const nodeConns = keys.nodeConns(deadId)
    const take = () => redis.intercomPresenceTake(keys.heartbeat(deadId), nodeConns, keys.sweepLock(deadId), keys.nodes, nodeId, ttlMs, deadId)
    for (let member = await take(); member !== null; member = await take()) {
      if (stopped) return
      const { deviceId, connectionId } = parseConnectionMember(member)
      await onConnectionLost(deviceId, connectionId)
      await redis.srem(nodeConns, member)
    }
  }

  async function sweep (): Promise<void> {
    const nodes = await redis.smembers(keys.nodes)
    for (const other of nodes) {
      if (other === nodeId || stopped) continue
      try {
        await sweepNode(other)
      } catch (err) {
        onError(err)
      }
    }
  }

  async function tick (): Promise<void> {
    try {
      await beat()
      beatingSince ??= Date.now()
      // Back from a Redis outage, every node's heartbeat may have lapsed: judge the
      // others only once they, like this node, have had a whole TTL to beat again.
      if (Date.now() - beatingSince >= ttlMs) sweeping ??= sweep().catch(onError).finally(() => { sweeping = null })
    } catch (err) {
      beatingSince = null
      onError(err)
    }
    if (!stopped) timer = setTimeout(() => { running = tick() }, intervalMs)
  }

  let running = tick()

  return {
    async stop () {
      stopped = true
      clearTimeout(timer)
      await running
      await sweeping
      try {
        await redis.del(keys.heartbeat(nodeId))
      } catch (err) {
        onError(err)
      }
    }
  }
}

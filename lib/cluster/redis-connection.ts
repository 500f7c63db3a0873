import { ReplyError, type Redis } from 'ioredis'
import type { Logger } from 'pino'
import { IntercomError } from '../errors'
import { connectRedis, type RedisAddress } from './redis-address'

/**
 * Either a connection someone else owns (and closes, and watches), or an address
 * (a URL, or sentinels) to open one from, with a logger that hears when Redis goes
 * away and comes back.
 */
export type RedisTarget = { redis: Redis, url?: never } | { url: RedisAddress, logger: Logger, redis?: never }

/** A request waits this long on Redis at most, so an outage answers 503 instead of hanging. */
const COMMAND_TIMEOUT_MS = 5_000

/**
 * A connection for request-path state (calls, rate limits): during an outage a
 * command fails after one reconnection attempt instead of queueing for long.
 */
export function createRedisConnection (address: RedisAddress, name: string, logger: Logger): Redis {
  return watchRedis(connectRedis(address, { connectionName: name, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS }), name, logger)
}

/**
 * Logs a lost connection once, not at every reconnection attempt, and its return.
 * The listener also keeps ioredis from printing each error as unhandled.
 */
export function watchRedis (redis: Redis, name: string, logger: Logger): Redis {
  let down = false
  redis.on('error', (err: Error) => {
    if (down) return
    down = true
    logger.warn({ err, redis: name }, 'Redis connection lost; reconnecting')
  })
  redis.on('ready', () => {
    if (!down) return
    down = false
    logger.info({ redis: name }, 'Redis connection back')
  })
  return redis
}

/** The connection to use, and whether closing it is ours to do. */
export function openRedis (target: RedisTarget, name: string): { redis: Redis, owned: boolean } {
  return target.redis !== undefined
    ? { redis: target.redis, owned: false }
    : { redis: createRedisConnection(target.url, name, target.logger), owned: true }
}

/** How long closing waits for Redis to take the last commands. */
const CLOSE_GRACE_MS = 2_000

/**
 * Runs a graceful `close`; when Redis has not let it finish within the grace
 * period, `drop`s the connections and stops waiting. Waiting for their end is no
 * option: ioredis never reports the end of a connection dropped between two
 * reconnection attempts, nor answers the commands queued on it.
 */
export async function closeGracefully (close: () => Promise<unknown>, drop: () => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const grace = new Promise<void>(resolve => {
    timer = setTimeout(() => { drop(); resolve() }, CLOSE_GRACE_MS)
  })
  try {
    await Promise.race([close().catch(drop), grace])
  } finally {
    clearTimeout(timer)
  }
}

/** Closes a connection we opened, also when Redis is gone. */
export function closeRedis (redis: Redis): Promise<void> {
  return closeGracefully(() => redis.quit(), () => redis.disconnect())
}

/** Replies that mean "not now" (loading, failover, overload) rather than a fault in our scripts. */
const TRANSIENT_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM)\b/

/**
 * What a failed Redis command means to a client: 503 when Redis is unreachable or busy, else 500.
 * The message is for the client and names no library internals; the Redis error rides along as `cause`
 * for the server's log.
 */
export function redisFailure (err: unknown, what: string): IntercomError {
  if (err instanceof IntercomError) return err
  const message = err instanceof Error ? err.message : String(err)
  const failure = err instanceof ReplyError && !TRANSIENT_REPLY.test(message)
    ? new IntercomError('internal', `${what} failed; report this to the operator`)
    : new IntercomError('service_unavailable', `${what}: the state store is unavailable; retry in a few seconds`)
  return Object.assign(failure, { cause: err })
}

import { connectRedis, type RedisAddress } from '../cluster/redis-address'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { closeRedis, createRedisConnection, redisFailure, watchRedis } from '../cluster/redis-connection'
import { readDirectoryFile, validateDirectory } from './load'
import type { DirectoryFile } from './schema'
import type { DirectoryStore, StoredDirectory } from './store'

/** KEYS: the directory hash. ARGV: the directory file's JSON. Seeds once; returns version and data. */
const SEED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'version', 1, 'data', ARGV[1])
end
return redis.call('HMGET', KEYS[1], 'version', 'data')
`

/** KEYS: the directory hash. ARGV: expected version, new data, notice channel. */
const SAVE_LUA = `
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if version ~= tonumber(ARGV[1]) then return -1 end
version = version + 1
redis.call('HSET', KEYS[1], 'version', version, 'data', ARGV[2])
redis.call('PUBLISH', ARGV[3], tostring(version))
return version
`

interface Scripts {
  intercomDirectorySeed (key: string, seed: string): Promise<[string | null, string | null]>
  intercomDirectorySave (key: string, expected: number, data: string, channel: string): Promise<number>
}

export interface RedisDirectoryStoreOptions {
  /** The cluster's Redis: a URL, or a primary behind sentinels. */
  address: RedisAddress
  logger: Logger
  /** The directory file that seeds an empty Redis. */
  seedFile: string
  /** How often the stored version is compared with ours, in case a notice was missed. */
  checkMs: number
  prefix?: string
}

/**
 * A cluster keeps its directory in Redis: one hash with the version and the
 * data. A write publishes the new version; nodes also poll it, so one that
 * missed a notice (Redis restart, lost subscription) still catches up.
 */
export function createRedisDirectoryStore (options: RedisDirectoryStoreOptions): DirectoryStore {
  const { logger } = options
  const key = `${options.prefix ?? 'intercom:'}directory`
  const channel = `${key}:changed`
  const redis = createRedisConnection(options.address, 'intercom-directory', logger) as Redis & Scripts
  redis.defineCommand('intercomDirectorySeed', { numberOfKeys: 1, lua: SEED_LUA })
  redis.defineCommand('intercomDirectorySave', { numberOfKeys: 1, lua: SAVE_LUA })
  let subscriber: Redis | null = null
  let poll: NodeJS.Timeout | null = null

  return {
    description: `Redis (key ${key})`,
    async load (): Promise<StoredDirectory> {
      // Read the file only for an empty Redis; its errors then stop the start like a bad file does alone.
      const seeded = await redis.exists(key).catch((err: unknown) => { throw redisFailure(err, 'read the directory') })
      const seed = seeded === 1 ? '' : JSON.stringify(readDirectoryFile(options.seedFile))
      const [version, data] = await redis.intercomDirectorySeed(key, seed).catch((err: unknown) => { throw redisFailure(err, 'read the directory') })
      if (version === null || data === null || data === '') throw new Error(`the directory in Redis (${key}) is missing; it was deleted while being read, retry`)
      return { file: validateDirectory(`in Redis (${key})`, JSON.parse(data)), version: Number(version) }
    },
    async save (file: DirectoryFile, expected: number) {
      try {
        const version = await redis.intercomDirectorySave(key, expected, JSON.stringify(file), channel)
        return version < 0 ? null : version
      } catch (err) {
        throw redisFailure(err, 'save the directory')
      }
    },
    watch (onNewer) {
      subscriber = watchRedis(connectRedis(options.address, { connectionName: 'intercom-directory-notices' }), 'intercom-directory-notices', logger)
      subscriber.on('message', (_channel: string, message: string) => onNewer(Number(message)))
      subscriber.subscribe(channel).catch((err: unknown) => logger.warn({ err }, 'could not subscribe to directory changes; polling only'))
      poll = setInterval(() => {
        redis.hget(key, 'version').then((version) => {
          if (version !== null) onNewer(Number(version))
        }, (err: unknown) => logger.debug({ err }, 'directory version check failed; retrying'))
      }, options.checkMs)
      poll.unref()
    },
    async close () {
      if (poll !== null) clearInterval(poll)
      if (subscriber !== null) await closeRedis(subscriber)
      await closeRedis(redis)
    }
  }
}

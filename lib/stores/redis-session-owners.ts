import type { Redis } from 'ioredis'
import { redisFailure } from '../cluster/redis-connection'
import type { SessionOwners } from './session-owners'

/** KEYS: the owner key. ARGV: identity name, '1' when the connect is persistent. */
const CLAIM_LUA = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`

interface Scripts {
  intercomClaimSession (key: string, identityName: string, persistent: string): Promise<number>
}

/** The owners of persistent sessions, shared by every node of a cluster: one script per claim. */
export function createRedisSessionOwners (options: { redis: Redis, prefix?: string }): SessionOwners {
  options.redis.defineCommand('intercomClaimSession', { numberOfKeys: 1, lua: CLAIM_LUA })
  const redis = options.redis as Redis & Scripts
  const prefix = `${options.prefix ?? 'intercom:'}session-owner:`
  return {
    async claim (clientId, identityName, persistent) {
      try {
        return (await redis.intercomClaimSession(`${prefix}${clientId}`, identityName, persistent ? '1' : '0')) === 1
      } catch (err) {
        throw redisFailure(err, 'claim an MQTT session')
      }
    }
  }
}

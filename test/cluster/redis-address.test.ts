import t from 'tap'
import { loadConfig, redisAddressOf } from '../../config/env'
import { describeRedis, parseSentinels } from '../../lib/cluster/redis-address'

t.test('REDIS_SENTINELS and REDIS_SENTINEL_NAME make the address; REDIS_URL then only lends its password', async (t) => {
  t.equal(redisAddressOf(loadConfig({})), null, 'no Redis: a node alone')
  t.equal(redisAddressOf(loadConfig({ REDIS_URL: 'redis://h:6379' })), 'redis://h:6379')
  const config = loadConfig({ REDIS_SENTINELS: 's1:26379,10.0.0.2:26380', REDIS_SENTINEL_NAME: 'main', REDIS_SENTINEL_PASSWORD: 'sp', REDIS_URL: 'redis://:pw@ignored:1/2' })
  t.same(redisAddressOf(config), {
    sentinels: [{ host: 's1', port: 26379 }, { host: '10.0.0.2', port: 26380 }],
    name: 'main',
    sentinelPassword: 'sp',
    url: 'redis://:pw@ignored:1/2'
  })
  t.equal(describeRedis(redisAddressOf(config) ?? ''), 'sentinel main at s1:26379,10.0.0.2:26380')
  t.equal(describeRedis('redis://user:secret@h:6379'), 'redis://h:6379', 'no password in logs')
})

t.test('a bad sentinel set-up stops start-up with a message naming the variables', async (t) => {
  t.throws(() => loadConfig({ REDIS_SENTINELS: 's1:26379' }), /REDIS_SENTINELS and REDIS_SENTINEL_NAME must be set together/)
  t.throws(() => loadConfig({ REDIS_SENTINEL_NAME: 'main' }), /REDIS_SENTINELS and REDIS_SENTINEL_NAME must be set together/)
  t.throws(() => loadConfig({ REDIS_SENTINELS: 's1', REDIS_SENTINEL_NAME: 'main' }), /REDIS_SENTINELS/)
  t.throws(() => parseSentinels('s1:0'), /not host:port/)
})

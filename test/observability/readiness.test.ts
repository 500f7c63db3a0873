import t from 'tap'
import { readinessOf } from '../../lib/observability/readiness'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { requireRedis, startRedis } from '../helpers/redis'
import { eventually, samples } from './helpers'

t.test('readiness is the conjunction of its checks and names what is down', async (t) => {
  t.same(readinessOf({ redis: true, listeners: true }), { ready: true, checks: { redis: 'up', listeners: 'up' }, down: [] })
  t.same(readinessOf({ redis: false, listeners: true }), { ready: false, checks: { redis: 'down', listeners: 'up' }, down: ['redis'] })
  t.same(readinessOf({ listeners: false }).down, ['listeners'])
})

t.test('a node without Redis is live and ready', async (t) => {
  const node = await startTestNode(t)
  t.match(await request(node.httpUrl, 'GET', '/health/live'), { status: 200, body: { data: { status: 'ok' } } })
  t.match(await request(node.httpUrl, 'GET', '/health/ready'), { status: 200, body: { data: { status: 'ok', store: 'memory', checks: { listeners: 'up' } } } })
  t.match(await request(node.httpUrl, 'GET', '/health'), { status: 200, body: { data: { status: 'ok', checks: { listeners: 'up' } } } })
})

if (requireRedis(t)) {
  t.test('readiness is 503 while Redis is stopped and 200 when it returns; clients get a plain 503', async (t) => {
    const redis = await startRedis(t)
    const node = await startTestNode(t, { REDIS_URL: redis.url })
    const status = async (path: string): Promise<number> => (await request(node.httpUrl, 'GET', path)).status
    const redisUp = async (): Promise<number | undefined> => samples((await request(node.httpUrl, 'GET', '/metrics')).body.message).get('intercom_redis_up')
    t.match(await request(node.httpUrl, 'GET', '/health/ready'), { status: 200, body: { data: { store: 'redis', checks: { redis: 'up', listeners: 'up' } } } })
    t.equal(await redisUp(), 1)

    await redis.stop()
    await eventually(async () => (await status('/health/ready')) === 503 ? true : null)
    const ready = await request(node.httpUrl, 'GET', '/health/ready')
    t.match(ready.body, { code: 503, error: 'service_unavailable', message: /redis down/, data: null }, 'the contract\'s error shape, naming what is down')
    t.equal(await status('/health'), 503, '/health answers as ready')
    t.equal(await status('/health/live'), 200, 'the process still answers')
    t.equal(await redisUp(), 0)

    const refused = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1' } })
    t.match(refused.body, { code: 503, error: 'service_unavailable', data: null })
    t.notMatch(refused.body.message, /ECONNREFUSED|Connection is closed|ioredis|maxRetriesPerRequest|Stream|timeout/i, 'no client library internals')
    t.match(refused.body.message, /retry/)

    await redis.restart()
    await eventually(async () => (await status('/health/ready')) === 200 ? true : null, 20_000)
    t.pass('ready again once Redis is back')
    t.equal(await redisUp(), 1)
  })
}

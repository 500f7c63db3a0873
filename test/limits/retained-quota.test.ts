import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { createMemoryRetainedQuota, decideRetained, type RetainedLimits, type RetainedQuota } from '../../lib/limits/retained-quota'
import { createRedisRetainedQuota } from '../../lib/limits/redis-retained-quota'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'

const LIMITS: RetainedLimits = { maxBytes: 100, maxPerIdentity: 2, maxTotal: 3 }

t.test('decide: size, own topics, per identity and total', async (t) => {
  const empty = { owner: null, held: 0, total: 0 }
  t.same(decideRetained('client/a', 0, { owner: 'client/b', held: 2, total: 3 }, LIMITS), { verdict: 'clear' }, 'an empty payload always clears')
  t.match(decideRetained('client/a', 101, empty, LIMITS), { verdict: 'refuse', reason: /at most 100 bytes/ })
  t.same(decideRetained('client/a', 100, empty, LIMITS), { verdict: 'store', taken: true })
  t.same(decideRetained('client/a', 5, { owner: 'client/a', held: 2, total: 3 }, LIMITS), { verdict: 'store', taken: false }, 'replacing its own costs nothing')
  t.match(decideRetained('client/a', 5, { owner: null, held: 2, total: 2 }, LIMITS), { verdict: 'refuse', reason: /client\/a already holds 2/ })
  t.match(decideRetained('client/a', 5, { owner: null, held: 0, total: 3 }, LIMITS), { verdict: 'refuse', reason: /already holds 3 retained topics/ })
  t.same(decideRetained('client/a', 5, { owner: 'client/b', held: 0, total: 3 }, LIMITS), { verdict: 'store', taken: true }, 'taking over a held topic adds none to the total')
})

function quotaSuite (t: tap.Test, name: string, open: () => RetainedQuota): void {
  t.test(`${name}: counts per identity and in total, and an empty payload frees a slot`, async (t) => {
    const quota = open()
    t.teardown(() => quota.close())
    t.match(await quota.claim('client/a', 'm/1', 10), { verdict: 'store', taken: true })
    t.match(await quota.claim('client/a', 'm/1', 20), { verdict: 'store', taken: false }, 'same topic again')
    t.match(await quota.claim('client/a', 'm/2', 10), { verdict: 'store', taken: true })
    t.match(await quota.claim('client/a', 'm/3', 10), { verdict: 'refuse', reason: /client\/a already holds 2/ })
    t.match(await quota.claim('client/b', 'm/4', 10), { verdict: 'store', taken: true })
    t.match(await quota.claim('client/c', 'm/5', 10), { verdict: 'refuse', reason: /broker already holds 3/ })
    t.match(await quota.claim('client/a', 'm/3', 101), { verdict: 'refuse', reason: /at most 100 bytes/ })
    t.same(await quota.claim('client/c', 'm/1', 0), { verdict: 'clear' }, 'anyone allowed to publish there may clear it')
    t.match(await quota.claim('client/a', 'm/3', 10), { verdict: 'store', taken: true }, 'the cleared slot is client/a\'s again')
    t.match(await quota.claim('client/c', 'm/3', 10), { verdict: 'store', taken: true }, 'taking over a topic moves its slot')
    t.match(await quota.claim('client/a', 'm/4', 10), { verdict: 'store', taken: true }, 'client/a got its slot back, used on a held topic')
    t.same(await quota.claim('client/c', 'never/held', 0), { verdict: 'clear' }, 'clearing an uncounted topic changes nothing')
    t.match(await quota.claim('client/d', 'm/7', 10), { verdict: 'refuse', reason: /broker already holds 3/ })
  })
}

quotaSuite(t, 'memory', () => createMemoryRetainedQuota(LIMITS))

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })
  const prefix = (): string => `test-${randomBytes(4).toString('hex')}:`

  quotaSuite(t, 'redis', () => {
    const redis = new Redis(server.url)
    const quota = createRedisRetainedQuota({ redis, ...LIMITS, prefix: prefix() })
    return { claim: quota.claim, close: async () => { redis.disconnect() } }
  })

  t.test('redis: two nodes never both take the last slots', async (t) => {
    const p = prefix()
    const connections = [new Redis(server.url), new Redis(server.url)]
    t.teardown(() => { for (const c of connections) c.disconnect() })
    const quotas = connections.map((redis) => createRedisRetainedQuota({ redis, ...LIMITS, prefix: p }))
    const verdicts = await Promise.all(quotas.flatMap((quota, node) => [1, 2, 3].map((n) => quota.claim(`client/${n}`, `m/${node}/${n}`, 10))))
    t.equal(verdicts.filter((v) => v.verdict === 'store').length, LIMITS.maxTotal, 'six claims on two nodes, three stored')
  })

  t.test('redis: an outage refuses with 503', async (t) => {
    const quota = createRedisRetainedQuota({ url: server.url, logger: (await import('pino')).default({ level: 'silent' }), ...LIMITS, prefix: prefix() })
    t.teardown(() => quota.close())
    t.match(await quota.claim('client/a', 'm/1', 10), { verdict: 'store' })
    await server.stop()
    await t.rejects(quota.claim('client/a', 'm/2', 10), { code: 'service_unavailable' })
    await server.restart()
  })
}

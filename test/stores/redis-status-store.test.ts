import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisConnection } from '../../lib/cluster/redis-connection'
import { createPresenceSweeper, type PresenceSweeper } from '../../lib/stores/redis-presence-sweeper'
import { createRedisStatusStore } from '../../lib/stores/redis-status-store'
import type { StatusStore } from '../../lib/stores/status-store'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'
import { statusStoreSuite } from './status-store-suite'

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)
const INTERVAL_MS = 100
/** Twenty beats: a loaded machine that pauses a beat or two must not look like a dead node. */
const TTL_MS = 2000

/** Each test gets its own key prefix, so the tests share one server without seeing each other. */
const prefix = (): string => `test-${randomBytes(4).toString('hex')}:`

/** Resolves once `check` holds; fails the wait (not a timing assertion) if it never does. */
async function until (what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    if (await check()) return
    await sleep(10)
  }
  throw new Error(`gave up waiting for ${what}`)
}

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })

  function connection (t: tap.Test): Redis {
    const redis = new Redis(server.url)
    t.teardown(() => redis.disconnect())
    return redis
  }

  /** A node of a cluster: its own connection, store and (when started) sweeper. */
  interface TestNode { redis: Redis, store: StatusStore, lost: Array<[string, string]>, errors: unknown[], sweeper?: PresenceSweeper }

  function node (t: tap.Test, p: string, nodeId: string, sweep: boolean): TestNode {
    const redis = connection(t)
    const store = createRedisStatusStore({ redis, nodeId, prefix: p })
    const n: TestNode = { redis, store, lost: [], errors: [] }
    if (sweep) {
      const sweeper = createPresenceSweeper({
        redis,
        nodeId,
        prefix: p,
        intervalMs: INTERVAL_MS,
        ttlMs: TTL_MS,
        onConnectionLost: async (deviceId, connectionId) => {
          await store.connectionClosed(deviceId, connectionId, T0 + 100)
          n.lost.push([deviceId, connectionId])
        },
        onError: (err) => { n.errors.push(err) }
      })
      n.sweeper = sweeper
      t.teardown(() => sweeper.stop())
    }
    return n
  }

  statusStoreSuite(t, 'redis', async () => {
    const p = prefix()
    const connections: Redis[] = []
    return {
      store: (nodeId) => {
        const redis = new Redis(server.url)
        connections.push(redis)
        return createRedisStatusStore({ redis, nodeId, prefix: p })
      },
      close: async () => { for (const c of connections) c.disconnect() }
    }
  })

  t.test('redis: key layout', async t => {
    const p = prefix()
    const { redis, store } = node(t, p, 'node-a', false)
    await store.connectionOpened('1', 'c1', T0)
    t.same((await redis.keys(`${p}*`)).sort(), [`${p}conns:{1}`, `${p}node-conns:node-a`, `${p}status:{1}`])
    t.same(JSON.parse(await redis.get(`${p}status:{1}`) ?? 'null'), await store.get('1'))
    t.same(await redis.hgetall(`${p}conns:{1}`), { c1: 'node-a' })
    t.same(await redis.smembers(`${p}node-conns:node-a`), ['1|c1'])
    await store.connectionClosed('1', 'c1', T0 + 1)
    t.same(await redis.keys(`${p}*`), [`${p}status:{1}`], 'a closed connection leaves nothing behind')
  })

  t.test('redis: a node whose heartbeat lapses has its connections reported lost by another', async t => {
    const p = prefix()
    const x = node(t, p, 'node-x', true)
    const y = node(t, p, 'node-y', true)
    await until('both nodes to beat', async () => (await y.redis.smembers(`${p}nodes`)).length === 2)
    await x.store.connectionOpened('1', 'c1', T0)
    await x.store.connectionOpened('2', 'c2', T0)
    await y.store.connectionOpened('2', 'c3', T0)
    // Nothing marks a lapse that did not happen: outlast the heartbeat's lifetime.
    await sleep(TTL_MS * 1.5)
    t.same(y.lost, [], 'a beating node keeps its connections')

    x.redis.disconnect()
    await until('the connections of X to be lost', () => y.lost.length === 2)
    t.same(y.lost.sort(), [['1', 'c1'], ['2', 'c2']], 'exactly the connections X held')
    t.same(await y.store.get('1'), { device_id: '1', online: false, battery: null, properties: {}, last_seen: T0 + 100 }, 'its only connection lost: offline')
    t.equal((await y.store.get('2')).online, true, 'still connected through Y')
    await until('X to leave the node list', async () => !(await y.redis.sismember(`${p}nodes`, 'node-x')))
    t.equal(await y.redis.exists(`${p}node-conns:node-x`), 0)
    t.same(y.errors, [])
  })

  t.test('redis: a node that stops is swept without waiting for its heartbeat to lapse', async t => {
    const p = prefix()
    const x = node(t, p, 'node-x', true)
    const y = node(t, p, 'node-y', true)
    await x.store.connectionOpened('1', 'c1', T0)
    await x.sweeper?.stop()
    await until('the connection of X to be lost', () => y.lost.length === 1)
    t.same(y.lost, [['1', 'c1']])
    t.equal((await y.store.get('1')).online, false)
  })

  t.test('redis: two sweepers share a dead node, each connection reported once', async t => {
    const p = prefix()
    // A node that records connections and never beats: dead from the start.
    const dead = node(t, p, 'node-dead', false)
    await dead.redis.sadd(`${p}nodes`, 'node-dead')
    const connections = Array.from({ length: 20 }, (_, i): [string, string] => [`d${i % 5}`, `c${i}`])
    for (const [deviceId, connectionId] of connections) await dead.store.connectionOpened(deviceId, connectionId, T0)
    const sweepers = [node(t, p, 'node-y', true), node(t, p, 'node-z', true)]
    const lost = (): Array<[string, string]> => sweepers.flatMap(s => s.lost)
    await until('every connection to be lost', () => lost().length >= connections.length)
    await until('the dead node to leave the node list', async () => !(await dead.redis.sismember(`${p}nodes`, 'node-dead')))
    t.same(lost().sort(), [...connections].sort())
    for (const i of [0, 1, 2, 3, 4]) t.equal((await dead.store.get(`d${i}`)).online, false)
  })

  t.test('redis: a connection whose handling fails is handled again at a later tick', async t => {
    const p = prefix()
    const dead = node(t, p, 'node-dead', false)
    await dead.redis.sadd(`${p}nodes`, 'node-dead')
    await dead.store.connectionOpened('1', 'c1', T0)
    const redis = connection(t)
    const store = createRedisStatusStore({ redis, nodeId: 'node-y', prefix: p })
    const attempts: string[] = []
    const errors: unknown[] = []
    const sweeper = createPresenceSweeper({
      redis,
      nodeId: 'node-y',
      prefix: p,
      intervalMs: INTERVAL_MS,
      ttlMs: TTL_MS,
      onConnectionLost: async (deviceId, connectionId) => {
        attempts.push(connectionId)
        if (attempts.length === 1) throw new Error('publish failed')
        await store.connectionClosed(deviceId, connectionId, T0 + 1)
      },
      onError: (err) => { errors.push(err) }
    })
    t.teardown(() => sweeper.stop())
    await until('a second attempt', () => attempts.length === 2)
    await until('the dead node to leave the node list', async () => !(await redis.sismember(`${p}nodes`, 'node-dead')))
    t.same(attempts, ['c1', 'c1'])
    t.match(errors, [{ message: 'publish failed' }])
    t.equal((await store.get('1')).online, false)
  })

  t.test('redis: the heartbeat TTL must exceed the interval', async t => {
    t.throws(() => createPresenceSweeper({
      redis: connection(t),
      nodeId: 'node-a',
      intervalMs: 1_000,
      ttlMs: 1_000,
      onConnectionLost: () => {},
      onError: () => {}
    }), { code: 'internal', message: /must exceed its interval/ })
  })

  t.test('redis: an outage answers 503', async t => {
    const redis = createRedisConnection(server.url, 'outage-test', pino({ level: 'silent' }))
    t.teardown(() => redis.disconnect())
    const store = createRedisStatusStore({ redis, nodeId: 'node-a', prefix: prefix() })
    await store.connectionOpened('1', 'c1', T0)
    await server.stop()
    await t.rejects(store.get('1'), { code: 'service_unavailable', statusCode: 503 })
    await t.rejects(store.connectionClosed('1', 'c1', T0 + 1), { code: 'service_unavailable' })
    await server.restart()
    t.equal((await store.get('1')).online, true, 'kept across the restart')
    t.equal((await store.connectionClosed('1', 'c1', T0 + 2)).changed, true, 'works again once Redis is back')
  })
}

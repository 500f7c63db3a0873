import { randomBytes } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import pino from 'pino'
import { startCall, transition } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import { createRedisConnection } from '../../lib/cluster/redis-connection'
import { RedisCallStore } from '../../lib/stores/redis-call-store'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'
import { callListingSuite } from './call-listing-suite'
import { callStoreSuite } from './call-store-suite'

const OPTIONS = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 2_000 }
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)

function ring (callId: string): CallSession {
  const started = startCall({ callId, provider: 'trtc', deviceId: '1', targets: ['2', '3'], busy: [], activeCall: null, householdNumber: null }, T0, OPTIONS)
  if (!started.ok) throw started.error
  return started.session
}

function answer (s: CallSession, residentId: string): CallSession {
  const result = transition(s, { type: 'action', actor: { kind: 'resident', id: residentId }, action: 'answered' }, T0 + 1_000, OPTIONS)
  if (!result.ok) throw result.error
  return result.session
}

/** Each store gets its own key prefix, so the tests share one server without seeing each other. */
const prefix = (): string => `test-${randomBytes(4).toString('hex')}:`

const logger = pino({ level: 'silent' })

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })

  callStoreSuite(t, 'redis', async ({ retentionMs }) => {
    const store = new RedisCallStore({ url: server.url, logger, retentionMs, prefix: prefix() })
    return { store, close: () => store.close() }
  })

  callListingSuite(t, 'redis', async ({ retentionMs, scanLimit }) => {
    const store = new RedisCallStore({ url: server.url, logger, retentionMs, prefix: prefix(), ...(scanLimit === undefined ? {} : { scanLimit }) })
    return { store, close: () => store.close() }
  })

  t.test('redis: two connections compare-and-set one version: exactly one wins', async t => {
    const p = prefix()
    const connections = [new Redis(server.url), new Redis(server.url)]
    t.teardown(() => { for (const c of connections) c.disconnect() })
    const [a, b] = connections.map(redis => new RedisCallStore({ redis, retentionMs: 60_000, prefix: p }))
    if (a === undefined || b === undefined) throw new Error('two stores expected')
    const s = ring('call-20240102-000000000001')
    await a.create(s)
    const rivals = [answer(s, '2'), answer(s, '3')]
    const results = await Promise.all([a.compareAndSet(rivals[0] as CallSession, s.version), b.compareAndSet(rivals[1] as CallSession, s.version)])
    t.equal(results.filter(Boolean).length, 1)
    const winner = rivals[results.indexOf(true)]?.resident_id
    t.equal((await b.get(s.call_id))?.resident_id, winner, 'both see the winner')
    t.same(await a.connectedResidents(['2', '3']), new Set([winner]), 'only the winner is connected')
    await a.close()
    t.equal(connections[0]?.status, 'ready', 'a store leaves a connection it was given open')
  })

  t.test('redis: keys of one call share a cluster slot', async t => {
    const p = prefix()
    const redis = new Redis(server.url)
    t.teardown(() => redis.disconnect())
    const store = new RedisCallStore({ redis, retentionMs: 60_000, prefix: p })
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    await store.compareAndSet(answer(s, '2'), s.version)
    const keys = await redis.keys(`${p}*`)
    const records = ['active', 'all', 'device:1', 'resident:2', 'resident:3'].map(k => `records:${k}`)
    t.same(keys.sort(), ['call:call-20240102-000000000001', 'device:1', ...records, 'resident:2', 'timers'].map(k => `${p}{calls}:${k}`))
  })

  t.test('redis: a listing index drops entries past the horizon when it gains a call, and expires a horizon after its newest', async t => {
    const p = prefix()
    const redis = new Redis(server.url)
    t.teardown(() => redis.disconnect())
    const store = new RedisCallStore({ redis, retentionMs: 60_000, longestCallMs: 1_000, prefix: p })
    const old = ring('call-20240102-000000000001')
    const recent = { ...ring('call-20240102-000000000002'), start_time: T0 + 61_002, device_device_id: '2' }
    await store.create(old)
    t.same(await redis.zrange(`${p}{calls}:records:all`, 0, -1), [old.call_id])
    await store.create(recent)
    t.same(await redis.zrange(`${p}{calls}:records:all`, 0, -1), [recent.call_id], 'the call older than 61 s is dropped')
    const ttl = await redis.pttl(`${p}{calls}:records:all`)
    t.ok(ttl > 0 && ttl <= 61_000, `expires with the horizon (${ttl} ms left)`)
  })

  t.test('redis: an outage answers 503, and calls survive a restart', async t => {
    const p = prefix()
    const redis = createRedisConnection(server.url, 'outage-test', logger)
    t.teardown(() => redis.disconnect())
    const store = new RedisCallStore({ redis, retentionMs: 60_000, prefix: p })
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    await server.stop()
    await t.rejects(store.get(s.call_id), { code: 'service_unavailable', statusCode: 503 })
    await t.rejects(store.compareAndSet(answer(s, '2'), s.version), { code: 'service_unavailable' })
    await server.restart()
    t.same(await store.get(s.call_id), s, 'kept across the restart, and nothing half-applied')
    t.equal(await store.activeCallOfDevice('1'), s.call_id)
    t.equal(await store.compareAndSet(answer(s, '2'), s.version), true, 'works again once Redis is back')
  })
}

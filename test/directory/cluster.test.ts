import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { until } from '../helpers/wait'
import { killNode, startTwoNodes } from '../cluster/helpers'
import { admin, closed, directoryCopy } from './helpers'

/**
 * Longest wait for a change to reach the other node: generous, because a loaded
 * machine is slow, not wrong. How fast a change spreads is measured by the bench.
 */
const SPREAD_TIMEOUT_MS = 15_000

/** Waits until `check` (one of the two below) holds on a node. */
function spreads (what: string, check: () => Promise<void>): Promise<true> {
  return until(async () => { await check(); return true as const }, { what, timeoutMs: SPREAD_TIMEOUT_MS, everyMs: 25 })
}

/** Resolves once `name` with `secret` is accepted by the node (HTTP Basic, the same check as MQTT). */
function acceptedBy (base: string, name: string, secret: string): () => Promise<void> {
  return async () => {
    const { status } = await request(base, 'GET', '/api/admin/directory', { as: `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}` })
    if (status === 401) throw new Error(`${name} not accepted yet`)
  }
}

/** Resolves once the node refuses `name` with `secret`. */
function refusedBy (base: string, name: string, secret: string): () => Promise<void> {
  return async () => {
    const { status } = await request(base, 'GET', '/api/admin/directory', { as: `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}` })
    if (status !== 401) throw new Error(`${name} still accepted`)
  }
}

if (requireRedis(t)) {
  t.test('on a cluster, a change made on one node applies on the other', async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url, { INTERCOM_DIRECTORY: directoryCopy(t) })

    await t.test('a resident added over HTTP on A signs in on B', async (t) => {
      await t.rejects(connect(t, b.mqttUrl, 'resident/7', { secret: 'res-7-secret' }), /Bad username or password/, 'unknown on B before')
      t.equal((await admin(a.httpUrl, 'PUT', '/api/admin/residents/7', { secret: 'res-7-secret' })).status, 200)
      await spreads('resident/7 accepted on B', acceptedBy(b.httpUrl, 'resident/7', 'res-7-secret'))
      await t.resolves(connect(t, b.mqttUrl, 'resident/7', { secret: 'res-7-secret' }), 'resident/7 signs in on B')
    })

    await t.test('deleted on A while connected on B: B closes the connection', async (t) => {
      const seven = await connect(t, b.mqttUrl, 'resident/7', { secret: 'res-7-secret' })
      t.equal((await admin(a.httpUrl, 'DELETE', '/api/admin/residents/7')).status, 200)
      await closed(seven, 5000)
      await t.rejects(connect(t, b.mqttUrl, 'resident/7', { secret: 'res-7-secret' }), /Bad username or password/)
    })

    await t.test('a device re-keyed on B: its old secret is refused everywhere', async (t) => {
      const onA = await connect(t, a.mqttUrl, 'device/5')
      t.equal((await admin(b.httpUrl, 'PUT', '/api/admin/devices/5', { secret: 'door-5-new', households: ['201'] })).status, 200)
      await closed(onA, 5000)
      for (const node of [a, b]) {
        await spreads(`device/5's old secret refused on ${node.id}`, refusedBy(node.httpUrl, 'device/5', 'door-5-secret'))
        await t.rejects(connect(t, node.mqttUrl, 'device/5'), /Bad username or password/, `old secret refused on ${node.id}`)
        await t.resolves(connect(t, node.mqttUrl, 'device/5', { secret: 'door-5-new' }), `new secret accepted on ${node.id}`)
      }
    })

    await t.test('a bad replace on A changes nothing anywhere', async (t) => {
      const before = (await admin(b.httpUrl, 'GET', '/api/admin/directory')).body.data
      const refused = await admin(a.httpUrl, 'PUT', '/api/admin/directory', { ...before, residents: [] })
      t.match(refused, { status: 400, body: { message: /households\[0\]\.residents\[0\] names resident "2"/ } })
      t.same((await admin(a.httpUrl, 'GET', '/api/admin/directory')).body.data, before)
      t.same((await admin(b.httpUrl, 'GET', '/api/admin/directory')).body.data, before)
    })

    await t.test('a node that missed the change notice catches up by checking the version', async (t) => {
      const direct = new Redis(redis.url)
      t.teardown(() => direct.disconnect())
      const stored = JSON.parse(await direct.hget('intercom:directory', 'data') ?? '{}')
      stored.residents.push({ id: 'quiet', secret: 'quiet-secret' })
      // Written without the notice, as if it had been lost.
      await direct.hset('intercom:directory', 'data', JSON.stringify(stored))
      await direct.hincrby('intercom:directory', 'version', 1)
      await spreads('resident/quiet accepted on A', acceptedBy(a.httpUrl, 'resident/quiet', 'quiet-secret'))
      await spreads('resident/quiet accepted on B', acceptedBy(b.httpUrl, 'resident/quiet', 'quiet-secret'))
    })
  })

  t.test('on a cluster, the directory lives in Redis: the file only seeds it, and changes survive a restart of every node', async (t) => {
    const redis = await startRedis(t)
    const file = directoryCopy(t)
    const seed = readFileSync(file, 'utf8')
    const [a, b] = await startTwoNodes(t, redis.url, { INTERCOM_DIRECTORY: file })
    t.equal((await admin(a.httpUrl, 'PUT', '/api/admin/residents/7', { secret: 'res-7-secret' })).status, 200)
    await spreads('resident/7 accepted on B', acceptedBy(b.httpUrl, 'resident/7', 'res-7-secret'))
    t.equal(readFileSync(file, 'utf8'), seed, 'the file is not written')
    await Promise.all([killNode(a), killNode(b)])
    const [c, d] = await startTwoNodes(t, redis.url, { INTERCOM_DIRECTORY: file })
    for (const node of [c, d]) await t.resolves(connect(t, node.mqttUrl, 'resident/7', { secret: 'res-7-secret' }), `kept on ${node.id}`)
  })
}

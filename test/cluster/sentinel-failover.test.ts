import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from '../helpers/http'
import { connect, settle } from '../helpers/mqtt'
import { startSentinels } from '../helpers/redis-sentinel'
import { requireRedis } from '../helpers/redis'
import { spawnNode } from '../helpers/spawn-node'
import { callHttp, party, waitAction, waitEnded } from './helpers'

const RING_TIMEOUT_MS = 10_000

const readSession = (base: string, callId: string) => request(base, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'service/ops' })

if (requireRedis(t) && requireRedis(t, 'redis-sentinel')) {
  t.test('the primary dies mid-ring: Sentinel promotes the replica, the call is kept, its timeout fires once, the node recovers alone', async (t) => {
    const setup = await startSentinels(t, { sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 3000 })
    const spawned = await spawnNode(t, { ...setup.env, NODE_ID: 'sentinel', RING_TIMEOUT_MS: String(RING_TIMEOUT_MS) })
    const mqttUrl = `mqtt://127.0.0.1:${spawned.ports.mqtt}`
    const httpUrl = `http://127.0.0.1:${spawned.ports.http}`
    const health = await request(httpUrl, 'GET', '/health')
    t.equal(health.body.data?.store, 'redis', 'the node keeps its state in Redis, found through the sentinels')

    const device = await party(t, mqttUrl, 'device/1', 'devices/1/#')
    const r2 = await party(t, mqttUrl, 'resident/2', 'users/2/#')
    const service = await party(t, mqttUrl, 'service/ops', 'calls/+/events')
    const meter = await connect(t, mqttUrl, 'client/meter-gw')
    await meter.subscribe('meters/#', 0)

    const started = await callHttp(httpUrl, { household_number: '101' })
    t.equal(started.status, 200, 'a call is acknowledged')
    const callId = started.body.data.call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId, 10_000)
    const ringAt = Date.now()

    // What the failover costs: QoS 0 messages through the cluster's pub/sub, and
    // HTTP requests that need Redis, sampled every 100 ms.
    let sent = 0
    const sampling = new AbortController()
    const qos0 = (async () => {
      while (!sampling.signal.aborted) {
        meter.client.publish('meters/failover', String(sent++), { qos: 0 })
        await sleep(20)
      }
    })()
    const failures: number[] = []
    const reads = (async () => {
      while (!sampling.signal.aborted) {
        const started = Date.now()
        const read = await readSession(httpUrl, callId).catch(() => ({ status: 0 }))
        if (read.status !== 200) failures.push(started)
        await sleep(100)
      }
    })()

    await setup.primary.kill()
    const killedAt = Date.now()
    while (await setup.primaryPort() !== setup.replica.port) await sleep(100)
    const promotedAt = Date.now()
    t.pass(`the sentinels promoted the replica ${promotedAt - killedAt} ms after the primary died`)

    const timeout = await waitAction(device, 'devices/1/calls/control', 'timeout', callId, RING_TIMEOUT_MS + 30_000)
    t.ok(Date.now() - ringAt >= RING_TIMEOUT_MS - 1000, 'the ring timeout fired when due, not before')
    t.match(timeout.json, { call_id: callId, status: 'ended' })
    await waitEnded(service, callId)
    // Messages after the first timeout would be a second firing: let any arrive.
    await settle(1000)
    sampling.abort()
    await Promise.all([qos0, reads])
    const received = meter.messages.filter((m) => m.topic === 'meters/failover').length

    t.equal(device.messages.filter((m) => m.json.call_id === callId && m.json.action === 'timeout').length, 1, 'the device heard the timeout once')
    t.equal(service.messages.filter((m) => m.topic === `calls/${callId}/events` && m.json.status === 'ended').length, 1, 'one end event')
    const after = await readSession(httpUrl, callId)
    t.equal(after.status, 200, 'the call acknowledged before the failover is still there')
    t.match(after.body.data, { status: 'ended', end_reason: 'timeout' })

    t.equal((await request(httpUrl, 'GET', '/health')).status, 200, '/health answers')
    const next = await callHttp(httpUrl, { household_number: '101' })
    t.match(next, { status: 200, body: { data: { status: 'ringing' } } }, 'a new call rings on the promoted primary')
    t.ok(device.client.connected && r2.client.connected, 'MQTT clients stayed connected')
    t.equal(spawned.child.exitCode, null, 'the node outlived the failover')

    const errorSeconds = failures.length === 0 ? 0 : ((failures.at(-1) as number) - (failures[0] as number) + 100) / 1000
    t.comment(`failover: promoted after ${((promotedAt - killedAt) / 1000).toFixed(1)} s; requests needing Redis failed for ${errorSeconds.toFixed(1)} s (${failures.length} of the samples); QoS 0 lost ${sent - received} of ${sent}`)
  })
}

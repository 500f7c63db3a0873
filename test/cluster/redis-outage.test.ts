import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request, type HttpResult } from '../helpers/http'
import { settle } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { actHttp, actMqtt, callHttp, historyOf, lines, party, startTwoNodes, waitAction, waitEnded } from './helpers'

/**
 * Longer than the retry budget ioredis gives a queued command by default (20
 * reconnection attempts, about 10 s): broker commands that gave up then ended
 * every node of the cluster.
 */
const OUTAGE_MS = 12_000

/** Repeats a request until it succeeds: the nodes reconnect to Redis on their own, a moment after it returns. */
async function untilOk (send: () => Promise<HttpResult>, timeoutMs = 15_000): Promise<HttpResult> {
  const giveUp = Date.now() + timeoutMs
  for (;;) {
    const result = await send()
    if (result.status !== 503 || Date.now() > giveUp) return result
    await sleep(200)
  }
}

if (requireRedis(t)) {
  t.test('Redis stops mid-call: requests are refused, nothing is half-applied, the call goes on after', async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url)
    const device = await party(t, a.mqttUrl, 'device/1', 'devices/1/#')
    const r2 = await party(t, b.mqttUrl, 'resident/2', 'users/2/#')
    const r3 = await party(t, a.mqttUrl, 'resident/3', 'users/3/#')
    const service = await party(t, b.mqttUrl, 'service/ops', 'calls/+/events')
    const read = (base: string): Promise<HttpResult> => request(base, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'service/ops' })

    const started = await callHttp(a.httpUrl, { household_number: '101' })
    t.equal(started.status, 200)
    const callId = started.body.data.call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId, 10_000)
    t.equal((await actHttp(b.httpUrl, 'resident/3', callId, 'rejected')).status, 200, 'a rejection acknowledged before the outage')
    await waitAction(device, 'devices/1/calls/control', 'rejected', callId)

    await redis.stop()
    const refused = { status: 503, body: { code: 503, error: 'service_unavailable', data: null } }
    t.match(await actHttp(b.httpUrl, 'resident/2', callId, 'answered'), refused, 'an action over HTTP is refused with 503')
    t.match(await read(a.httpUrl), refused, 'so is reading the call')
    t.match(await request(a.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_device_id: '5' } }), refused, 'and starting another call')
    // Every MQTT delivery goes through Redis pub/sub, even to a client of the same node:
    // the request's PUBACK and its refusal wait for Redis.
    const mqttAnswer = actMqtt(r2, 'resident/2', callId, 'answered')
    await settle(OUTAGE_MS)
    t.equal(a.process.child.exitCode, null, 'node A outlives the outage')
    t.equal(b.process.child.exitCode, null, 'node B too')
    t.ok(r2.client.connected && device.client.connected, 'MQTT clients stay connected')

    await redis.restart()
    await mqttAnswer
    t.pass('the MQTT request is acknowledged once Redis is back')
    const after = await untilOk(() => read(b.httpUrl))
    t.equal(after.status, 200, 'the call is readable again')
    const s = after.body.data
    t.match(s, { status: 'ringing', seq: 2, resident_id: null }, 'nothing refused during the outage was applied')
    t.same(historyOf(s), ['ringing device/1 #1', 'rejected resident/3 #2'], 'everything acknowledged before it is kept')
    t.same(s.legs, [{ resident_id: '2', state: 'ringing', delivery: 'online' }, { resident_id: '3', state: 'rejected', delivery: 'online' }], 'legs, seq and history agree')
    t.match(await callHttp(a.httpUrl), { status: 409, body: { error: 'device_busy' } }, 'the device index still holds the call')

    await actMqtt(r2, 'resident/2', callId, 'answered')
    t.match((await waitAction(device, 'devices/1/calls/control', 'answered', callId)).json, { resident_id: '2', seq: 3 }, 'the call goes on: answered across nodes')
    t.match(await actHttp(b.httpUrl, 'device/1', callId, 'hangup'), { status: 200, body: { data: { status: 'ended', end_reason: 'hangup', seq: 4 } } })
    await waitEnded(service, callId)
    await settle(300)

    t.same(lines(device, callId), ['control ringing #1', 'control rejected r=3 #2', 'control answered r=2 #3', 'control hangup r=2 #4'])
    t.same(lines(r3, callId), ['incoming #1', 'control rejected r=3 #2'])
    t.same(lines(r2, callId).filter((l) => !l.startsWith('error')), ['incoming #1', 'control answered r=2 #3', 'control hangup r=2 #4'])
    // The refusal is published as Redis returns, before the nodes' subscriptions are
    // back: whether it arrives is a race; when it does, it says why.
    t.ok(lines(r2, callId).filter((l) => l.startsWith('error')).every((l) => l === 'error service_unavailable'), 'no other refusal')
    t.same(lines(service, callId), ['events ringing by=device/1 #1', 'events rejected by=resident/3 #2', 'events answered by=resident/2 #3', 'events hangup by=device/1 #4'])

    const again = await callHttp(a.httpUrl, { target_resident_id: '2' })
    t.equal(again.status, 200, 'the ended call released the device')
    t.equal((await actHttp(a.httpUrl, 'device/1', again.body.data.call_id as string, 'cancelled')).status, 200)
  })
}

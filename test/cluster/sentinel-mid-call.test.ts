import t from 'tap'
import { request } from '../helpers/http'
import { flush, until } from '../helpers/wait'
import { startSentinels } from '../helpers/redis-sentinel'
import { requireRedis } from '../helpers/redis'
import { spawnNode } from '../helpers/spawn-node'
import { actHttp, actMqtt, lines, party, session, waitAction, waitEnded } from './helpers'

// Long enough for the failover to finish first, on a loaded machine too.
const MAX_CALL_MS = 20_000

if (requireRedis(t) && requireRedis(t, 'redis-sentinel')) {
  t.test('the primary dies mid-call: the answered call goes on, an action after the failover works, max_duration fires once', async (t) => {
    const setup = await startSentinels(t, { sentinels: 3, downAfterMs: 1000, failoverTimeoutMs: 3000 })
    const spawned = await spawnNode(t, { ...setup.env, NODE_ID: 'sentinel-mid-call', MAX_CALL_MS: String(MAX_CALL_MS), CALL_WARNING_MS: '0', UNLOCK_HANGUP_MS: '0' })
    // No hang-up after the unlock: the deadline under test is max_duration, armed before the failover.
    const mqttUrl = `mqtt://127.0.0.1:${spawned.ports.mqtt}`
    const httpUrl = `http://127.0.0.1:${spawned.ports.http}`

    const device = await party(t, mqttUrl, 'device/5', 'devices/5/#')
    const r6 = await party(t, mqttUrl, 'resident/6', 'users/6/#')
    const service = await party(t, mqttUrl, 'service/ops', 'calls/+/events')

    const started = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_device_id: '5', household_number: '201' } })
    t.equal(started.status, 200, 'a call is acknowledged')
    const callId = started.body.data.call_id as string
    await r6.waitFor((m) => m.topic === 'users/6/calls/incoming' && m.json.call_id === callId, 10_000)
    t.equal((await actHttp(httpUrl, 'resident/6', callId, 'answered')).status, 200, 'answered before the failover')
    const answeredAt = Date.now()
    await waitAction(device, 'devices/5/calls/control', 'answered', callId)

    await setup.primary.kill()
    await until(async () => await setup.primaryPort() === setup.replica.port, { what: 'the sentinels to promote the replica', timeoutMs: 30_000, everyMs: 100 })
    await until(async () => (await request(httpUrl, 'GET', '/health')).status === 200, { what: 'the node to be ready again on its own', timeoutMs: 30_000, everyMs: 100 })
    t.match(await session(httpUrl, callId), { status: 'connected' }, 'the answered call is still there, still going')

    await actMqtt(r6, 'resident/6', callId, 'unlock')
    await waitAction(device, 'devices/5/calls/control', 'unlock', callId)
    t.pass('an unlock after the failover reaches the door')

    const ended = await waitEnded(service, callId, MAX_CALL_MS + 30_000)
    t.ok(Date.now() - answeredAt >= MAX_CALL_MS - 1000, 'max_duration fired when due, not before')
    t.match(ended.json, { action: 'max_duration', actor: 'system', status: 'ended', seq: 4 })
    // Proves every message sent so far has arrived: a second firing would show below.
    await flush(service, service, device, r6)
    t.same(lines(device, callId), ['control ringing #1', 'control answered r=6 #2', 'control unlock r=6 #3', 'control max_duration r=6 #4'], 'the door heard each step once')
    t.equal(service.messages.filter((m) => m.topic === `calls/${callId}/events` && m.json.status === 'ended').length, 1, 'one end event')
    t.equal(spawned.child.exitCode, null, 'the node outlived the failover')
  })
}

import type { IConnackPacket } from 'mqtt'
import t from 'tap'
import { connect, settle, type TestClient } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { actHttp, actMqtt, callMqtt, historyOf, killNode, lines, party, session, startTwoNodes, waitAction, waitEnded, type ClusterNode } from './helpers'

const RING_TIMEOUT_MS = 1500
/** The door keeps its session across connections: clean: false, a fixed client id, QoS 1. */
const DOOR = { clean: false, clientId: 'door-1' }

interface Cluster { a: ClusterNode, b: ClusterNode, device: TestClient, r2: TestClient, service: TestClient }

/** Node A holds the door (persistent session), node B a resident and a service. */
async function cluster (t: tap.Test): Promise<Cluster> {
  const redis = await startRedis(t)
  const env = { RING_TIMEOUT_MS: String(RING_TIMEOUT_MS) }
  const [a, b] = await startTwoNodes(t, redis.url, env)
  const device = await party(t, a.mqttUrl, 'device/1', 'devices/1/#', DOOR)
  const r2 = await party(t, b.mqttUrl, 'resident/2', 'users/2/#')
  const service = await party(t, b.mqttUrl, 'service/ops', 'calls/+/events')
  return { a, b, device, r2, service }
}

/** The door comes back through another node, as a load balancer would send it. */
async function reconnectDoor (t: tap.Test, node: ClusterNode): Promise<TestClient> {
  const device = await connect(t, node.mqttUrl, 'device/1', DOOR)
  // mqtt.js keeps the CONNACK only in a field its types mark private
  const { connackPacket } = device.client as unknown as { connackPacket: IConnackPacket }
  t.equal(connackPacket.sessionPresent, true, 'the door finds its session on the other node')
  return device
}

if (requireRedis(t)) {
  t.test('the door\'s node dies while the call rings: another node times the call out, once', async (t) => {
    const { a, b, device, r2, service } = await cluster(t)
    const callId = await callMqtt(device, { target_resident_id: '2' })
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId, 10_000)
    // let the door's PUBACK of `ringing` reach node A before it dies
    await settle(300)
    await killNode(a)

    const ended = await waitEnded(service, callId, 20_000)
    t.match(ended.json, { action: 'timeout', actor: 'system', status: 'ended' }, 'node B fired the ring timeout')
    const door = await reconnectDoor(t, b)
    const timeout = await waitAction(door, 'devices/1/calls/control', 'timeout', callId)
    t.match(timeout.json, { status: 'ended', seq: 2 }, 'the timeout queued while the door was away is delivered')
    // a lease that lapsed would let a second node fire it again
    await settle(RING_TIMEOUT_MS + 500)

    t.same(lines(device, callId), ['control ringing #1'], 'the door heard the ringing before its node died')
    t.same(lines(door, callId), ['control timeout #2'], 'and exactly the timeout after it came back')
    t.same(lines(r2, callId), ['incoming #1', 'control timeout #2'], 'the resident is told once')
    t.same(lines(service, callId), ['events ringing by=device/1 #1', 'events timeout by=system #2'], 'one event for the end')
    const stored = await session(b.httpUrl, callId)
    t.match(stored, { status: 'ended', end_reason: 'timeout', ended_by: 'system', seq: 2 })
    t.same(historyOf(stored), ['ringing device/1 #1', 'timeout system #2'])
  })

  t.test('the door\'s node dies while the call rings: a resident on another node answers, the door comes back', async (t) => {
    const { a, b, device, r2, service } = await cluster(t)
    const callId = await callMqtt(device, { target_resident_id: '2' })
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId, 10_000)
    await settle(300)
    await killNode(a)

    const answered = await actHttp(b.httpUrl, 'resident/2', callId, 'answered')
    t.match(answered, { status: 200, body: { data: { status: 'connected', resident_id: '2', seq: 2 } } }, 'the answer is taken on node B')
    const door = await reconnectDoor(t, b)
    t.match((await waitAction(door, 'devices/1/calls/control', 'answered', callId)).json, { resident_id: '2', seq: 2 }, 'the queued answer reaches the door')
    // the ring deadline passes: the answered call must not time out
    await settle(RING_TIMEOUT_MS + 500)
    t.equal((await session(b.httpUrl, callId)).status, 'connected', 'still connected after the ring deadline')

    await actMqtt(door, 'device/1', callId, 'hangup')
    await waitEnded(service, callId)
    await settle(300)

    t.same(lines(device, callId), ['control ringing #1'])
    t.same(lines(door, callId), ['control answered r=2 #2', 'control hangup r=2 #3'], 'the door hears the answer once, then its own hangup')
    t.same(lines(r2, callId), ['incoming #1', 'control answered r=2 #2', 'control hangup r=2 #3'])
    t.same(lines(service, callId), ['events ringing by=device/1 #1', 'events answered by=resident/2 #2', 'events hangup by=device/1 #3'], 'the call ends once')
    t.match(await session(b.httpUrl, callId), { status: 'ended', end_reason: 'hangup', ended_by: 'device/1', seq: 3 })
  })
}

import t from 'tap'
import { connect } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { callMqtt, party, session, startTwoNodes } from './helpers'

/**
 * Client ids are scoped to the identity across the cluster: a connection on
 * one node with another identity's client id collides with nothing.
 */
if (requireRedis(t)) {
  t.test('client ids across two nodes', async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url)

    await t.test('a resident using a ringing device\'s client id on another node kicks nothing off', async (t) => {
      const door = await party(t, a.mqttUrl, 'device/1', 'devices/1/#', { clientId: 'door-1', clean: true })
      await door.subscribe('system/#')
      let doorClosed = false
      door.client.once('close', () => { doorClosed = true })
      const callId = await callMqtt(door)

      const intruder = await connect(t, b.mqttUrl, 'resident/3', { clientId: 'door-1', clean: true })
      // Published on B after the intruder's connect, so it reaches A after any takeover notice would have.
      const ops = await connect(t, b.mqttUrl, 'service/ops')
      await ops.publish('system/ping', { n: 1 })
      await door.waitFor((m) => m.topic === 'system/ping', 10_000)
      t.notOk(doorClosed, 'the door keeps its connection on node A')
      t.ok(intruder.client.connected, 'the resident has its own connection on node B')
      t.match(await session(a.httpUrl, callId), { status: 'ringing' }, 'the call still rings (no device_offline)')
      await door.publish('devices/1/calls/action', { call_id: callId, action: 'hangup' })
    })

    await t.test('a resident cannot lock a device out with a persistent session on its client id', async (t) => {
      const squatter = await connect(t, b.mqttUrl, 'resident/2', { clientId: 'door-5', clean: false })
      t.same(await squatter.subscribe('users/2/#'), [1])
      await squatter.end()
      const door = await connect(t, a.mqttUrl, 'device/5', { clientId: 'door-5', clean: false })
      t.same(await door.subscribe('devices/5/#'), [1], 'the device connects with its id')
    })

    await t.test('the same identity still takes its persistent session over from another node', async (t) => {
      const first = await party(t, a.mqttUrl, 'device/1', 'devices/1/#', { clientId: 'door-1-p', clean: false })
      const closed = new Promise<void>((resolve) => first.client.once('close', () => resolve()))
      const moved = await connect(t, b.mqttUrl, 'device/1', { clientId: 'door-1-p', clean: false })
      await closed
      await moved.waitFor((m) => m.topic === 'devices/1/status', 10_000)
      t.pass('the session moved to node B with its subscription')
    })
  })
}

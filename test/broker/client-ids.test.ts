import t from 'tap'
import { connect, rawConnect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

/** Resolves when the client's connection closes. */
function closedOnce (client: { once (event: 'close', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()))
}

t.test('client ids belong to the identity: another identity using the same id kicks nobody off', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const door = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1' })
  await door.subscribe('system/#')
  let doorClosed = false
  door.client.once('close', () => { doorClosed = true })
  const resident = await connect(t, mqttUrl, 'resident/2', { clientId: 'door-1' })
  // A round trip through the door's own connection: had it been taken over, it would be closed by now.
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.publish('system/ping', { n: 1 })
  await door.waitFor((m) => m.topic === 'system/ping')
  t.notOk(doorClosed, 'the door keeps its connection')
  t.ok(resident.client.connected, 'and the resident has its own')
})

t.test('a persistent session with a device\'s client id does not lock the device out', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const squatter = await connect(t, mqttUrl, 'resident/2', { clientId: 'door-1', clean: false })
  t.same(await squatter.subscribe('users/2/#'), [1])
  await squatter.end()

  const door = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  t.same(await door.subscribe('devices/1/#'), [1], 'the door connects with its id')
  await door.end()
  const back = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  // A new client instance subscribes to nothing itself: the status arrives through the restored session.
  await back.waitFor((m) => m.topic === 'devices/1/status')
  t.pass('and gets its own session back')
  t.notOk(back.messages.some((m) => m.topic.startsWith('users/')), 'not the resident\'s')
})

t.test('the same identity takes its client id over', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const first = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  await first.subscribe('devices/1/#')
  const closed = closedOnce(first.client)
  const second = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  await closed
  await second.waitFor((m) => m.topic === 'devices/1/status')
  t.pass('the older connection is closed and the session moves to the new one')
})

t.test('MQTT 3.1 client ids are limited to 23 characters before scoping', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  await t.resolves(connect(t, mqttUrl, 'device/1', { clientId: 'a'.repeat(23), protocolId: 'MQIsdp', protocolVersion: 3 }), '23 characters connect, although the scoped id is longer')
  await t.rejects(connect(t, mqttUrl, 'device/1', { clientId: 'a'.repeat(24), protocolId: 'MQIsdp', protocolVersion: 3 }), /Identifier rejected/)
})

t.test('an empty client id still needs a clean session', async (t) => {
  const { node } = await startTestNode(t)
  const credentials = { username: 'device/1', password: 'door-1-secret' }
  t.equal(await rawConnect(node.ports.mqtt, { clientId: '', clean: false, ...credentials }), 2)
  t.equal(await rawConnect(node.ports.mqtt, { clientId: '', clean: true, ...credentials }), 0)
})

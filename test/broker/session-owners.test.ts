import t from 'tap'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

t.test('a persistent session belongs to the identity that made it', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const door = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  t.same(await door.subscribe('devices/1/#'), [1])
  await door.end()

  for (const clean of [false, true]) {
    await t.rejects(connect(t, mqttUrl, 'resident/2', { clientId: 'door-1', clean }), /Identifier rejected/,
      `another identity may not ${clean ? 'wipe' : 'take over'} it`)
  }

  const back = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
  t.ok(back.client.connected, 'its owner comes back')
  // A new client instance subscribes to nothing itself: the status arrives through the restored session.
  await back.waitFor((m) => m.topic === 'devices/1/status')
  t.pass('with its session: its subscription still delivers')

  const clean = await connect(t, mqttUrl, 'resident/2', { clientId: 'phone-2', clean: true })
  await clean.end()
  const other = await connect(t, mqttUrl, 'resident/3', { clientId: 'phone-2', clean: true })
  t.ok(other.client.connected, 'a clean-session id that nobody holds is free to use')
})

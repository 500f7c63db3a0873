import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { connect, type TestClient } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { flush } from '../helpers/wait'

const GRANTED = 1
const REFUSED = 128

/** One connection per identity, opened on first use. */
async function clientOf (t: Parameters<typeof connect>[0], url: string, clients: Map<string, TestClient>, name: string): Promise<TestClient> {
  let client = clients.get(name)
  if (client === undefined) {
    client = await connect(t, url, name)
    clients.set(name, client)
  }
  return client
}

/** Every row of the rights table, subscribe side: [identity, filter, granted?]. */
const SUBSCRIBE_CASES: Array<[string, string, boolean]> = [
  ['device/1', 'devices/1/#', true],
  ['device/1', 'devices/1/calls/control', true],
  ['device/1', 'devices/1/status', true],
  ['device/1', 'system/#', true],
  ['device/1', 'system/maintenance', true],
  ['device/1', 'devices/5/#', false],
  ['device/1', 'devices/+/calls/control', false],
  ['device/1', 'users/2/#', false],
  ['device/1', 'calls/+/events', false],
  ['device/1', '#', false],
  ['device/1', '$SYS/#', false],
  ['resident/2', 'users/2/#', true],
  ['resident/2', 'users/2/calls/incoming', true],
  ['resident/2', 'system/#', true],
  ['resident/2', 'users/3/#', false],
  ['resident/2', 'users/+/calls/incoming', false],
  ['resident/2', 'devices/1/status', false],
  ['resident/2', '#', false],
  ['service/ops', '#', true],
  ['service/ops', 'calls/+/events', true],
  ['service/ops', 'users/+/calls/incoming', true],
  ['service/ops', '$SYS/#', false],
  ['client/meter-gw', 'meters/#', true],
  ['client/meter-gw', 'meters/building-a/power', true],
  ['client/meter-gw', 'system/#', true],
  ['client/meter-gw', 'meters', true],
  ['client/meter-gw', 'meter/#', false],
  ['client/meter-gw', '#', false],
  ['client/meter-gw', 'devices/1/status', false],
  ['client/meter-gw', 'calls/+/events', false]
]

t.test('subscribe rights: every row of the rights table, allowed and denied', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const clients = new Map<string, TestClient>()
  for (const [name, filter, allowed] of SUBSCRIBE_CASES) {
    const c = await clientOf(t, mqttUrl, clients, name)
    const [grant] = await c.subscribe(filter)
    t.equal(grant, allowed ? GRANTED : REFUSED, `${name} ${allowed ? 'may' : 'may not'} subscribe to ${filter}`)
  }
  for (const [name, c] of clients) t.ok(c.client.connected, `${name} is still connected after its refusals`)
})

/** Publish side: [identity, topic, reaches a `#` subscriber as is?]. Request topics are consumed by the server. */
const FORWARD_CASES: Array<[string, string, boolean]> = [
  ['service/ops', 'system/maintenance', true],
  ['client/meter-gw', 'meters/a/power', true],
  ['device/1', 'meters/a/power', false],
  ['device/1', 'devices/1/calls/control', false],
  ['device/1', 'devices/1/status', false],
  ['device/1', 'users/2/calls/incoming', false],
  ['device/1', 'system/fake', false],
  ['device/1', 'calls/x/events', false],
  ['resident/2', 'users/2/calls/control', false],
  ['resident/2', 'users/2/calls/incoming', false],
  ['resident/2', 'users/3/calls/action', false],
  ['resident/2', 'devices/1/calls/action', false],
  ['resident/2', 'system/fake', false],
  ['service/ops', 'devices/1/status', false],
  ['service/ops', 'calls/x/events', false],
  ['service/ops', 'users/2/calls/incoming', false],
  ['client/meter-gw', 'system/fake', false],
  ['client/meter-gw', 'devices/1/status', false],
  ['client/meter-gw', '$SYS/x', false]
]

t.test('publish rights: only allowed publishes reach a subscriber; server-only topics cannot be forged', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const spy = await connect(t, mqttUrl, 'service/ops')
  await spy.subscribe('#')
  await spy.subscribe('$intercom/#').then(([grant]) => t.equal(grant, REFUSED, 'nobody can listen to discarded publishes'))
  const clients = new Map<string, TestClient>()
  for (const [name, topic] of FORWARD_CASES) {
    const c = await clientOf(t, mqttUrl, clients, name)
    await c.client.publishAsync(topic, JSON.stringify({ forged: topic, by: name }), { qos: 1, retain: true })
  }
  await flush(spy, spy)
  for (const [name, topic, forwarded] of FORWARD_CASES) {
    const seen = spy.messages.some((m) => m.topic === topic && m.json.forged === topic && m.json.by === name)
    t.equal(seen, forwarded, `${name} publishing on ${topic}: ${forwarded ? 'forwarded' : 'never reaches a subscriber'}`)
  }
  for (const [name, c] of clients) t.ok(c.client.connected, `${name} is not disconnected for asking`)

  const late = await connect(t, mqttUrl, 'service/ops')
  await late.subscribe('#')
  await flush(late, late)
  t.same(late.messages.filter((m) => m.json.forged !== undefined && m.topic !== 'system/maintenance' && m.topic !== 'meters/a/power'), [], 'no refused publish was retained')
})

t.test('a refused publish at QoS 0 and QoS 1 keeps the client connected and acknowledged', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/#')
  await device.client.publishAsync('users/2/calls/incoming', '{}', { qos: 0 })
  await device.client.publishAsync('users/2/calls/incoming', '{}', { qos: 1 })
  t.ok(device.client.connected)
  const error = await device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.equal(error.json.error, 'forbidden', 'the device hears why on its error topic')
})

t.test('an integration client subscribed to # never receives server-only topics', async (t) => {
  const demo = JSON.parse(readFileSync(path.resolve(__dirname, '../../../config/demo-directory.json'), 'utf8'))
  demo.clients.push({ name: 'wide', secret: 'wide-secret', publish: ['#'], subscribe: ['#'] })
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'intercom-')), 'directory.json')
  writeFileSync(file, JSON.stringify(demo))
  const { mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  const wide = await connect(t, mqttUrl, 'client/wide', { secret: 'wide-secret' })
  t.same(await wide.subscribe('#'), [GRANTED])
  t.same(await wide.subscribe('users/+/calls/incoming'), [REFUSED], 'a filter inside server-only topics is refused')
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.subscribe('#')
  await ops.publish('system/notice', { hello: 1 })
  await wide.publish('devices/1/status', { forged: true })
  await wide.publish('calls/request/1', { forged: true })
  await wide.publish('users/2/calls/incoming', { forged: true })
  await wide.publish('anything/else', { ok: true })

  // The server publishes server-only messages while both listen: a device coming online, a real call's invite.
  const door = await connect(t, mqttUrl, 'device/1')
  await door.subscribe('devices/1/#')
  await door.publish('calls/request/1', { request_id: 'r1', target_resident_id: '2' })
  await ops.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.forged === undefined)
  await ops.waitFor((m) => m.topic === 'devices/1/status' && m.json.forged === undefined)
  await ops.waitFor((m) => m.topic === 'anything/else')
  await flush(ops, wide, ops)
  t.same(wide.messages.map((m) => m.topic).sort(), ['anything/else', 'system/notice'], 'the # client got neither the invite nor the status')
  t.same(ops.messages.filter((m) => m.json.forged !== undefined), [], 'a service never got the forged server-only messages')
})

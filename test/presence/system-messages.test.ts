import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { startTestNode } from '../helpers/node'

t.test('a broadcast reaches every subscriber of system/#', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t)
  const listeners = await Promise.all(['device/1', 'resident/2', 'client/meter-gw', 'service/ops'].map(async (name) => {
    const c = await connect(t, mqttUrl, name)
    await c.subscribe('system/#')
    return c
  }))
  const sent = await request(httpUrl, 'POST', '/api/mqtt/system/message', {
    as: 'Bearer ops-token',
    body: { type: 'maintenance', level: 'warning', message: 'lifts off 2-4 am', data: { until: 4 } }
  })
  t.equal(sent.status, 200)
  t.match(sent.body.data, { topic: 'system/maintenance', topics: ['system/maintenance'] })
  t.match(sent.body.data.message_id, /^[0-9a-f-]{36}$/)
  t.type(sent.body.data.delivered_at, 'number')
  for (const listener of listeners) {
    const got = await listener.waitFor((m) => m.topic === 'system/maintenance')
    t.match(got.json, { message_id: sent.body.data.message_id, type: 'maintenance', level: 'warning', message: 'lifts off 2-4 am', data: { until: 4 } })
    t.type(got.json.timestamp, 'number')
  }
})

t.test('a targeted message reaches only its targets, on their own system topic', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t)
  const device1 = await connect(t, mqttUrl, 'device/1')
  await device1.subscribe(['devices/1/#', 'system/#'])
  const resident2 = await connect(t, mqttUrl, 'resident/2')
  await resident2.subscribe(['users/2/#', 'system/#'])
  const device5 = await connect(t, mqttUrl, 'device/5')
  await device5.subscribe(['devices/5/#', 'system/#'])
  const resident3 = await connect(t, mqttUrl, 'resident/3')
  await resident3.subscribe(['users/3/#', 'system/#'])
  const spy = await connect(t, mqttUrl, 'service/ops')
  await spy.subscribe('#')

  const sent = await request(httpUrl, 'POST', '/api/mqtt/system/message', {
    as: 'service/ops',
    body: { type: 'notice', level: 'info', message: 'parcel at the desk', timestamp: 1700000000000, target: ['device/1', 'resident/2', 'resident/2'] }
  })
  t.equal(sent.status, 200)
  t.same(sent.body.data.topic, null)
  t.same(sent.body.data.topics, ['devices/1/system', 'users/2/system'])
  t.match((await device1.waitFor((m) => m.topic === 'devices/1/system')).json, { message: 'parcel at the desk', timestamp: 1700000000000 })
  t.match((await resident2.waitFor((m) => m.topic === 'users/2/system')).json, { message_id: sent.body.data.message_id })
  await flush(spy, device1, resident2, device5, resident3, spy)
  // Devices also hear their own retained status on devices/D/#; only system messages count here.
  const system = (c: typeof device1) => c.messages.filter((m) => m.topic.startsWith('system/') || m.topic.endsWith('/system'))
  t.equal(system(device1).length, 1, 'the device got it once')
  t.equal(system(resident2).length, 1, 'the resident got it once')
  t.same(system(device5), [], 'another device got nothing')
  t.same(system(resident3), [], 'another resident got nothing')
  t.notOk(spy.messages.some((m) => m.topic.startsWith('system/')), 'nothing went to system/<type>')
})

t.test('system message refusals: 401, 403, 400', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const ok = { type: 'notice', level: 'info', message: 'hi' }
  const send = (as: string | undefined, body: unknown) => request(httpUrl, 'POST', '/api/mqtt/system/message', { ...(as === undefined ? {} : { as }), body })
  const cases: Array<[string, string | undefined, unknown, number, RegExp | null]> = [
    ['no credentials', undefined, ok, 401, null],
    ['a resident', 'resident/2', ok, 403, null],
    ['a device', 'device/1', ok, 403, null],
    ['an integration client', 'client/meter-gw', ok, 403, null],
    ['a type of two levels', 'service/ops', { ...ok, type: 'a/b' }, 400, /type/],
    ['a wildcard type', 'service/ops', { ...ok, type: '#' }, 400, /type/],
    ['an unknown level', 'service/ops', { ...ok, level: 'debug' }, 400, /level/],
    ['no message', 'service/ops', { type: 'notice', level: 'info' }, 400, /message is required/],
    ['an unknown target', 'service/ops', { ...ok, target: ['device/1', 'device/99'] }, 400, /device\/99/],
    ['a malformed target', 'service/ops', { ...ok, target: ['kitchen'] }, 400, /kitchen/],
    ['a service target', 'service/ops', { ...ok, target: ['service/ops'] }, 400, /service\/ops/],
    ['an integration client target', 'service/ops', { ...ok, target: ['client/meter-gw'] }, 400, /client\/meter-gw/],
    ['an empty target list', 'service/ops', { ...ok, target: [] }, 400, /target/],
    ['an unknown field', 'service/ops', { ...ok, colour: 'red' }, 400, /colour/]
  ]
  for (const [label, as, body, status, message] of cases) {
    const response = await send(as, body)
    t.equal(response.status, status, label)
    t.equal(response.body.code, status)
    if (message !== null) t.match(response.body.message, message, `${label}: names the problem`)
  }
})

t.test('a resident cannot publish a system message over MQTT either', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const listener = await connect(t, mqttUrl, 'device/1')
  await listener.subscribe('system/#')
  const resident = await connect(t, mqttUrl, 'resident/2')
  await resident.subscribe('users/2/calls/error')
  await resident.publish('system/alarm', { type: 'alarm', level: 'error', message: 'fake' })
  const refusal = await resident.waitFor((m) => m.topic === 'users/2/calls/error')
  t.equal(refusal.json.error, 'forbidden')
  await flush(await connect(t, mqttUrl, 'service/ops'), listener)
  t.same(listener.messages, [], 'nothing was forwarded')
  t.ok(resident.client.connected)
})

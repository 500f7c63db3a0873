import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { flush, until } from '../helpers/wait'
import { startTestNode } from '../helpers/node'

t.test('a status report and an HTTP update merge into one status, published retained', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t)
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/#')
  // Connecting sets last_seen too: only a later value shows that the report set it.
  const connected = await device.waitFor((m) => m.topic === 'devices/1/status' && m.json.online === true)
  const connectedAt = connected.json.last_seen as number
  t.type(connectedAt, 'number')
  await until(() => Date.now() > connectedAt, { what: 'the clock to pass the connect time' })
  await device.publish('devices/1/status/report', { battery: 80, properties: { fw: '1.0', door: 'closed' } })
  const reported = await device.waitFor((m) => m.topic === 'devices/1/status' && m.json.battery === 80)
  t.match(reported.json, { device_id: '1', online: true, battery: 80, properties: { fw: '1.0', door: 'closed' } })
  t.ok((reported.json.last_seen as number) > connectedAt, 'the device\'s own report moves last_seen on')

  const updated = await request(httpUrl, 'POST', '/api/mqtt/device/status', {
    as: 'service/ops',
    body: { device_id: '1', battery: 75, properties: { door: 'open', fw: null, light: 'on' } }
  })
  t.equal(updated.status, 200)
  t.same(updated.body.data, { device_id: '1', online: true, battery: 75, properties: { door: 'open', light: 'on' }, last_seen: reported.json.last_seen })
  const published = await device.waitFor((m) => m.topic === 'devices/1/status' && m.json.battery === 75)
  t.same(published.json, updated.body.data, 'the topic carries the full status')

  const bySelf = await request(httpUrl, 'POST', '/api/mqtt/device/status', { as: 'device/1', body: { device_id: '1', properties: { door: 'closed' } } })
  t.equal(bySelf.status, 200)
  t.same(bySelf.body.data.properties, { door: 'closed', light: 'on' })

  const late = await connect(t, mqttUrl, 'service/ops')
  await late.subscribe('devices/1/status')
  const retained = await late.waitFor((m) => m.topic === 'devices/1/status')
  t.equal(retained.retain, true, 'a late subscriber gets the retained status')
  t.same(retained.json, bySelf.body.data)

  const read = await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'resident/2' })
  t.equal(read.status, 200)
  t.same(read.body, { code: 0, message: 'success', data: bySelf.body.data })
})

t.test('bad status reports are refused on the error topic, and nothing is published', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/calls/error')
  const spy = await connect(t, mqttUrl, 'service/ops')
  await spy.subscribe('#')
  await flush(spy, spy)
  const before = spy.messages.length

  const cases: Array<[string, string, RegExp]> = [
    ['battery over 100', JSON.stringify({ battery: 101 }), /battery/],
    ['battery below 0', JSON.stringify({ battery: -1 }), /battery/],
    ['battery not an integer', JSON.stringify({ battery: 50.5 }), /battery/],
    ['properties an array', JSON.stringify({ properties: [1, 2] }), /properties/],
    ['properties a string', JSON.stringify({ properties: 'x' }), /properties/],
    ['online not a boolean', JSON.stringify({ online: 'yes' }), /online/],
    ['unknown field', JSON.stringify({ voltage: 3 }), /voltage is not a known field/],
    ['malformed JSON', '{"battery": ', /JSON/]
  ]
  for (const [label, payload, message] of cases) {
    device.messages.length = 0
    await device.client.publishAsync('devices/1/status/report', payload, { qos: 1 })
    const error = await device.waitFor((m) => m.topic === 'devices/1/calls/error')
    t.equal(error.json.error, 'invalid_request', label)
    t.match(error.json.message, message, `${label}: the message names the problem`)
  }
  await device.client.publishAsync('devices/1/status/report', JSON.stringify({ battery: 200, request_id: 'r-7' }), { qos: 1 })
  const echoed = await device.waitFor((m) => m.topic === 'devices/1/calls/error' && m.json.request_id === 'r-7')
  t.equal(echoed.json.error, 'invalid_request', 'the refusal echoes request_id')

  await flush(spy, spy)
  const seen = spy.messages.slice(before).filter((m) => !m.topic.endsWith('/calls/error'))
  t.same(seen.map((m) => m.topic), [], 'a # subscriber saw nothing but the error replies')
  t.ok(device.client.connected, 'the device stays connected')
})

t.test('status routes: 401, 403, 400 and 404', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const post = (as: string | undefined, body: unknown) => request(httpUrl, 'POST', '/api/mqtt/device/status', { ...(as === undefined ? {} : { as }), body })
  const get = (as: string | undefined, query: string) => request(httpUrl, 'GET', `/api/mqtt/device/status${query}`, as === undefined ? {} : { as })

  const cases: Array<[string, Promise<Awaited<ReturnType<typeof post>>>, number, string]> = [
    ['POST without credentials', post(undefined, { device_id: '1' }), 401, 'unauthorized'],
    ['POST with a wrong secret', post('Basic ' + Buffer.from('device/1:nope').toString('base64'), { device_id: '1' }), 401, 'unauthorized'],
    ['POST by another device', post('device/5', { device_id: '1', battery: 5 }), 403, 'forbidden'],
    ['POST by a resident', post('resident/2', { device_id: '1', battery: 5 }), 403, 'forbidden'],
    ['POST by an integration client', post('client/meter-gw', { device_id: '1', battery: 5 }), 403, 'forbidden'],
    ['POST for an unknown device', post('service/ops', { device_id: 'nope', battery: 5 }), 404, 'not_found'],
    ['POST with battery 101', post('service/ops', { device_id: '1', battery: 101 }), 400, 'invalid_request'],
    ['POST with properties not an object', post('service/ops', { device_id: '1', properties: 'x' }), 400, 'invalid_request'],
    ['POST with an unknown field', post('service/ops', { device_id: '1', colour: 'red' }), 400, 'invalid_request'],
    ['POST without device_id', post('service/ops', { battery: 5 }), 400, 'invalid_request'],
    ['GET without credentials', get(undefined, '?device_id=1'), 401, 'unauthorized'],
    ['GET by another device', get('device/5', '?device_id=1'), 403, 'forbidden'],
    ['GET by a resident of another household', get('resident/6', '?device_id=1'), 403, 'forbidden'],
    ['GET of an unknown device', get('service/ops', '?device_id=nope'), 404, 'not_found'],
    ['GET without device_id', get('service/ops', ''), 400, 'invalid_request']
  ]
  for (const [label, pending, status, error] of cases) {
    const response = await pending
    t.equal(response.status, status, label)
    t.match(response.body, { code: status, error, data: null }, `${label}: error envelope`)
  }
  const unknownField = await post('service/ops', { device_id: '1', colour: 'red' })
  t.match(unknownField.body.message, /colour/, 'the 400 names the field')

  for (const as of ['device/1', 'resident/2', 'resident/4', 'service/ops']) {
    const read = await get(as, '?device_id=1')
    t.equal(read.status, 200, `${as} may read device 1`)
    t.same(read.body.data, { device_id: '1', online: false, battery: null, properties: {}, last_seen: null })
  }
})

t.test('status size is bounded: one property value and the whole status', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t, { STATUS_MAX_VALUE_BYTES: '100', STATUS_MAX_BYTES: '600' })
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/#')
  await device.waitFor((m) => m.topic === 'devices/1/status' && m.json.online === true)
  const statuses = () => device.on('devices/1/status').length
  const before = statuses()

  // 98 x are 100 bytes of JSON with the quotes: the largest value allowed.
  await device.publish('devices/1/status/report', { properties: { big: 'x'.repeat(99) } })
  const tooBig = await device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.equal(tooBig.json.error, 'invalid_request')
  t.match(tooBig.json.message, /properties\.big is 101 bytes.*at most 100/)
  const bigViaHttp = await request(httpUrl, 'POST', '/api/mqtt/device/status', { as: 'service/ops', body: { device_id: '1', properties: { big: { a: 'x'.repeat(200) } } } })
  t.equal(bigViaHttp.status, 400, 'over HTTP too')

  await device.publish('devices/1/status/report', { properties: { a: 'x'.repeat(98) } })
  await device.waitFor((m) => m.topic === 'devices/1/status' && m.json.properties !== undefined && 'a' in (m.json.properties as object))
  // Five values of 100 bytes fit alone; with the rest of the status they pass 600 bytes.
  const many = Object.fromEntries(['b', 'c', 'd', 'e', 'f'].map((k) => [k, 'x'.repeat(98)]))
  const tooMany = await request(httpUrl, 'POST', '/api/mqtt/device/status', { as: 'service/ops', body: { device_id: '1', properties: many } })
  t.equal(tooMany.status, 400)
  t.match(tooMany.body.message, /over the 600-byte limit/)
  const stored = await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'service/ops' })
  t.same(Object.keys(stored.body.data.properties), ['a'], 'the refused updates changed nothing')
  t.equal(statuses(), before + 1, 'and published nothing')
})

t.test('status updates are rate-limited per device: error topic over MQTT, 429 over HTTP', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t, { STATUS_UPDATES_PER_SECOND: '2' })
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/calls/error')
  // Ten reports cannot spread over enough one-second windows for two each.
  for (let i = 0; i < 10; i++) await device.publish('devices/1/status/report', { battery: i, request_id: `r${i}` })
  const refused = await device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.equal(refused.json.error, 'rate_limited')
  t.match(refused.json.message, /status updates per second for device 1/)

  const answers: number[] = []
  for (let i = 0; i < 10; i++) {
    answers.push((await request(httpUrl, 'POST', '/api/mqtt/device/status', { as: 'service/ops', body: { device_id: '5', battery: i } })).status)
  }
  t.ok(answers.includes(429), `HTTP updates are refused with 429 past the rate (${answers.join(' ')})`)
  t.ok(device.client.connected, 'the device stays connected')
})

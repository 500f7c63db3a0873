import t from 'tap'
import { request } from '../helpers/http'
import { settle, type TestClient } from '../helpers/mqtt'
import { actHttp, lines, startScene, waitAction, waitEnded } from './helpers'

/** A call request with a `request_id` the device already used is a retry: the same call comes back. */

const call = (base: string, body: Record<string, unknown>, as = 'device/1') =>
  request(base, 'POST', '/api/mqtt/call', { as, body: { device_device_id: '1', ...body } })

t.test('over HTTP: the same request_id returns the same call (200), ringing or ended; a new id is a new request', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const first = await call(base, { household_number: '101', request_id: 'door-1-0001' })
  t.equal(first.status, 200)
  const callId = first.body.data.call_id as string
  t.match(first.body.data, { request_id: 'door-1-0001', status: 'ringing' })
  const again = await call(base, { household_number: '101', request_id: 'door-1-0001' })
  t.match(again, { status: 200, body: { data: { call_id: callId, status: 'ringing', seq: 1 } } }, 'not 409 device_busy')
  t.ok(again.body.data.tencen_rtc, 'with the device\'s credentials, as the first answer')
  t.match(await call(base, { household_number: '101', request_id: 'door-1-0002' }), { status: 409, body: { error: 'device_busy' } }, 'another id: a new call, and the device is busy')
  t.equal((await actHttp(base, 'device/1', callId, 'cancelled')).status, 200)
  await waitEnded(scene.service, callId)
  t.match(await call(base, { request_id: 'door-1-0001' }), { status: 200, body: { data: { call_id: callId, status: 'ended', end_reason: 'cancelled' } } }, 'ended, in retention: still that call')
  await settle()
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control cancelled #2'], 'a retry rings nobody again')
  t.equal(scene.service.messages.filter((m) => m.json.action === 'ringing').length, 1, 'one ringing event')
})

t.test('over MQTT: a retried calls/request/D gets the call again on the device\'s control topic, with the session', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  await scene.device.publish('calls/request/1', { request_id: 'mq-1', target_resident_id: '2' })
  const ringing = await waitAction(scene.device, 'devices/1/calls/control', 'ringing')
  const callId = String(ringing.json.call_id)
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)
  await waitAction(scene.device, 'devices/1/calls/control', 'answered', callId)
  await scene.device.publish('calls/request/1', { request_id: 'mq-1', target_resident_id: '2' })
  const resent = await scene.device.waitFor((m) => m.topic === 'devices/1/calls/control' && m.json.action === 'answered' && m.json.session !== undefined)
  t.match(resent.json, { call_id: callId, status: 'connected', seq: 2, resident_id: '2', session: { call_id: callId, request_id: 'mq-1' } })
  t.ok(resent.json.tencen_rtc, 'with its credentials, as the first ringing')
  await settle()
  t.notOk(scene.device.messages.some((m) => m.topic === 'devices/1/calls/error'), 'no device_busy')
  t.equal(scene.service.messages.filter((m) => m.json.action === 'ringing').length, 1, 'no second call')
})

t.test('request_id is bounded and typed, over both doors', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  t.match(await call(base, { request_id: 'x'.repeat(129) }), { status: 400, body: { error: 'invalid_request' } })
  t.match(await call(base, { request_id: 7 }), { status: 400, body: { error: 'invalid_request' } })
  t.match(await call(base, { request_id: '' }), { status: 400, body: { error: 'invalid_request' } })
  await scene.device.publish('calls/request/1', { request_id: 'y'.repeat(129) })
  const refused = await scene.device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.equal(refused.json.error, 'invalid_request')
  t.match(await call(base, { request_id: 'door-1-0001' }, 'device/5'), { status: 403 }, 'a device cannot ask for another')
  t.equal(scene.service.messages.length, 0, 'no call started')
})

import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { startReceiver, type Attempt } from './receiver'

const SECRET = 'a-webhook-secret-for-tests'
const ENV = { WEBHOOK_RETRY_BASE_MS: '50' }

async function register (base: string, url: string, events: string[]): Promise<string> {
  const created = await request(base, 'POST', '/api/webhooks', { as: 'service/ops', body: { url, events, secret: SECRET } })
  if (created.status !== 200) throw new Error(`webhook not created: ${JSON.stringify(created.body)}`)
  return created.body.data.webhook_id as string
}

async function act (base: string, as: string, callId: string, action: string): Promise<void> {
  const side = as.startsWith('device/') ? 'device' : 'resident'
  const result = await request(base, 'POST', `/api/mqtt/controller/${side}`, { as, body: { call_info: { call_id: callId, action } } })
  if (result.status !== 200) throw new Error(`${action}: ${JSON.stringify(result.body)}`)
}

const forCall = (callId: string) => (a: Attempt) => a.body.data.call_id === callId

t.test('deliveries are signed, retried after failures, and a call\'s events arrive in order', async (t) => {
  const node = await startTestNode(t, ENV)
  let failuresLeft = 3
  const receiver = await startReceiver(t, SECRET, () => (failuresLeft-- > 0 ? 500 : 200))
  await register(node.httpUrl, receiver.url, ['*'])

  const started = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '2' } })
  const callId = started.body.data.call_id as string
  await act(node.httpUrl, 'resident/2', callId, 'answered')
  await act(node.httpUrl, 'resident/2', callId, 'unlock')
  await act(node.httpUrl, 'device/1', callId, 'hangup')

  const ended = await receiver.waitFor((a) => forCall(callId)(a) && a.type === 'call.ended' && a.answered === 200)
  const attempts = receiver.attempts.filter(forCall(callId))
  t.same(attempts.map((a) => `${a.type} ${a.answered}`), [
    'call.ringing 500', 'call.ringing 500', 'call.ringing 500', 'call.ringing 200',
    'call.answered 200', 'call.unlock 200', 'call.ended 200'
  ], 'the failing head holds back the call\'s later events: retried until 2xx, then the rest in order')
  t.ok(attempts.every((a) => a.signatureValid), 'every attempt carries a valid signature')
  t.ok(attempts.every((a) => Math.abs(a.signedAt - Date.now() / 1000) < 120), 'signed at the time of sending')
  const ringing = attempts.filter((a) => a.type === 'call.ringing')
  t.equal(new Set(ringing.map((a) => a.id)).size, 1, 'a retry repeats the delivery id')
  t.ok(attempts.every((a) => a.id === a.body.id && a.type === a.body.type), 'the headers repeat the body\'s id and type')
  t.match(ringing[0]?.body, { type: 'call.ringing', data: { call_id: callId, action: 'ringing', actor: 'device/1', status: 'ringing', seq: 1 } })
  t.notOk(JSON.stringify(attempts.map((a) => a.body)).includes('user_sig'), 'no media credentials in any event')

  t.match(ended.body.data, {
    call_id: callId,
    action: 'hangup',
    status: 'ended',
    session: { status: 'ended', end_reason: 'hangup', resident_id: '2' },
    record: { end_reason: 'hangup', ended_by: 'device/1', answered_by: '2', legs: [{ resident_id: '2', outcome: 'answered' }] }
  }, 'call.ended carries the final session and its record')
  const record = ended.body.data.record
  t.equal(record.total_ms, record.ring_ms + record.talk_ms, 'the durations add up')
  t.equal(record.end_time - record.start_time, record.total_ms)
})

t.test('call.ended records every leg\'s outcome in a ring group', async (t) => {
  const node = await startTestNode(t, ENV)
  const receiver = await startReceiver(t, SECRET)
  await register(node.httpUrl, receiver.url, ['call.ended'])
  const started = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', household_number: '101' } })
  const callId = started.body.data.call_id as string
  await act(node.httpUrl, 'resident/3', callId, 'rejected')
  await act(node.httpUrl, 'resident/2', callId, 'answered')
  await act(node.httpUrl, 'resident/2', callId, 'hangup')
  const ended = await receiver.waitFor((a) => forCall(callId)(a) && a.type === 'call.ended')
  const legs = ended.body.data.record.legs as Array<{ resident_id: string, outcome: string, acted_at: number | null }>
  t.same(legs.map((l) => `${l.resident_id} ${l.outcome}`).sort(), ['2 answered', '3 rejected'])
  t.ok(legs.every((l) => typeof l.acted_at === 'number'), 'each resident acted itself')
  t.same(receiver.attempts.filter(forCall(callId)).map((a) => a.type), ['call.ended'], 'only the subscribed event type')
})

t.test('a device coming online and going offline is delivered once each', async (t) => {
  const node = await startTestNode(t, ENV)
  const receiver = await startReceiver(t, SECRET)
  await register(node.httpUrl, receiver.url, ['device.online', 'device.offline'])
  const door = await connect(t, node.mqttUrl, 'device/5')
  const online = await receiver.waitFor((a) => a.type === 'device.online')
  t.match(online.body.data, { device_id: '5', online: true })
  // a battery report republishes the status: not a presence change
  await door.publish('devices/5/status/report', { battery: 80 })
  await door.client.endAsync()
  const offline = await receiver.waitFor((a) => a.type === 'device.offline')
  t.match(offline.body.data, { device_id: '5', online: false, battery: 80 })
  t.same(receiver.attempts.map((a) => a.type), ['device.online', 'device.offline'])
})

t.test('webhooks are managed by services only, with bounded input', async (t) => {
  const node = await startTestNode(t, { ...ENV, WEBHOOK_MAX_COUNT: '2' })
  const post = (body: unknown, as = 'service/ops') => request(node.httpUrl, 'POST', '/api/webhooks', { as, body })

  t.match(await post({ url: 'http://127.0.0.1:9/x', events: ['*'] }, 'resident/2'), { status: 403, body: { error: 'forbidden' } })
  t.match(await request(node.httpUrl, 'GET', '/api/webhooks', { as: 'device/1' }), { status: 403 })
  t.match(await post({ url: 'ftp://example.com/x', events: ['*'] }), { status: 400, body: { error: 'invalid_request' } })
  t.match(await post({ url: 'not a url', events: ['*'] }), { status: 400 })
  t.match(await post({ url: `http://example.com/${'x'.repeat(2048)}`, events: ['*'] }), { status: 400 }, 'URLs longer than 2048 characters are refused')
  t.match(await post({ url: 'http://example.com/x', events: ['call.nope'] }), { status: 400 })
  t.match(await post({ url: 'http://example.com/x', events: [] }), { status: 400 })
  t.match(await post({ url: 'http://example.com/x', events: ['*'], secret: 'short' }), { status: 400 })

  const created = await post({ url: 'https://example.com/hook', events: ['call.ended', 'call.ended'] })
  t.match(created, { status: 200, body: { data: { url: 'https://example.com/hook', events: ['call.ended'], created_by: 'service/ops' } } })
  const { webhook_id: id, secret } = created.body.data as { webhook_id: string, secret: string }
  t.ok(secret.length >= 32, 'a secret is generated when none is given')
  t.match(await post({ url: 'https://example.com/2', events: ['*'] }), { status: 200 })
  t.match(await post({ url: 'https://example.com/3', events: ['*'] }), { status: 400, body: { message: /at most 2 webhooks/ } })

  const listed = await request(node.httpUrl, 'GET', '/api/webhooks', { as: 'service/ops' })
  t.equal(listed.body.data.items.length, 2)
  t.notOk(JSON.stringify(listed.body).includes(secret), 'listings never show a secret')
  t.match(await request(node.httpUrl, 'DELETE', `/api/webhooks/${id}`, { as: 'service/ops' }), { status: 200, body: { data: { deleted: id } } })
  t.match(await request(node.httpUrl, 'DELETE', `/api/webhooks/${id}`, { as: 'service/ops' }), { status: 404, body: { error: 'not_found' } })
})

t.test('after deliveries on kept-alive connections the node closes cleanly, and closes those connections itself', async (t) => {
  const node = await startTestNode(t, ENV)
  const receiver = await startReceiver(t, SECRET)
  await register(node.httpUrl, receiver.url, ['call.ringing'])
  const started = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '2' } })
  await receiver.waitFor((a) => forCall(started.body.data.call_id as string)(a) && a.type === 'call.ringing')
  t.ok(receiver.connections.open() >= 1, 'the receiver never closes an idle connection')
  await node.node.close()
  await receiver.connections.allClosed()
  t.pass('close() resolved and the node closed its connections to the receiver')
})

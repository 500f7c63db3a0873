import t from 'tap'
import webPush from 'web-push'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode, type TestNode } from '../helpers/node'
import { startReceiver } from '../webhooks/receiver'
import { startWebPushService, type BrowserSubscription, type WebPushService } from './web-push-service'

const VAPID = webPush.generateVAPIDKeys()
const ENV = {
  PUSH_VAPID_PUBLIC_KEY: VAPID.publicKey,
  PUSH_VAPID_PRIVATE_KEY: VAPID.privateKey,
  PUSH_VAPID_SUBJECT: 'mailto:ops@example.com',
  PUSH_RETRY_BASE_MS: '50',
  RING_TIMEOUT_MS: '20000'
}

async function subscribe (node: TestNode, as: string, browser: BrowserSubscription, residentId?: string): Promise<string> {
  const body = { kind: 'webpush', ...browser, ...(residentId === undefined ? {} : { resident_id: residentId }) }
  const result = await request(node.httpUrl, 'POST', '/api/push/subscriptions', { as, body })
  if (result.status !== 200) throw new Error(`subscribe: ${JSON.stringify(result.body)}`)
  return result.body.data.subscription_id as string
}

async function ring (node: TestNode, body: Record<string, unknown>): Promise<string> {
  const started = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', ...body } })
  if (started.status !== 200) throw new Error(`call: ${JSON.stringify(started.body)}`)
  return started.body.data.call_id as string
}

async function act (node: TestNode, as: string, callId: string, action: string): Promise<void> {
  const result = await request(node.httpUrl, 'POST', '/api/mqtt/controller/resident', { as, body: { call_info: { call_id: callId, action } } })
  if (result.status !== 200) throw new Error(`${action}: ${JSON.stringify(result.body)}`)
}

const pushOf = (service: WebPushService, subscription: string, type: string, callId: string) =>
  service.waitFor((p) => p.subscription === subscription && p.payload.type === type && p.payload.call_id === callId)

t.test('the VAPID public key is served without credentials', async (t) => {
  const node = await startTestNode(t, ENV)
  t.match(await request(node.httpUrl, 'GET', '/api/push/vapid-public-key'), { status: 200, body: { data: { public_key: VAPID.publicKey } } })
})

t.test('an invite to a resident without a connection is pushed, encrypted and VAPID-signed, to each subscription', async (t) => {
  const service = await startWebPushService(t)
  const node = await startTestNode(t, ENV)
  await subscribe(node, 'resident/2', service.subscribe('laptop-2'))
  await subscribe(node, 'service/ops', service.subscribe('phone-2'), '2')
  const callId = await ring(node, { target_resident_id: '2' })

  for (const name of ['laptop-2', 'phone-2']) {
    const push = await pushOf(service, name, 'call.incoming', callId)
    t.same(Object.keys(push.payload).sort(), ['call_id', 'device_device_id', 'expires_at', 'household_number', 'seq', 'type'], `${name}: nothing but the documented fields (no media credentials)`)
    t.match(push.payload, { type: 'call.incoming', call_id: callId, device_device_id: '1', household_number: null, seq: 1 })
    t.ok(push.payload.expires_at > Date.now(), 'it expires when the ring does')
    t.match(push.vapid, { valid: true, audience: service.origin, publicKey: VAPID.publicKey }, 'the VAPID JWT is signed by our key for this push service')
    const ttl = Number(push.headers.ttl)
    t.ok(ttl > 0 && ttl <= 20, `TTL is the seconds left to expires_at (${ttl})`)
    t.equal(push.headers.urgency, 'high')
    t.match(push.headers.topic, /^[A-Za-z0-9_-]{1,32}$/, 'a Topic derived from the call id')
    t.equal(push.headers['content-encoding'], 'aes128gcm')
  }
})

t.test('a resident with an open connection is not pushed; answered elsewhere cancels the others\' pushes', async (t) => {
  const service = await startWebPushService(t)
  const node = await startTestNode(t, ENV)
  const online = await connect(t, node.mqttUrl, 'resident/2')
  t.same(await online.subscribe('users/2/#', 1), [1])
  await subscribe(node, 'resident/2', service.subscribe('r2'))
  await subscribe(node, 'resident/3', service.subscribe('r3'))
  const callId = await ring(node, { household_number: '101' })
  await pushOf(service, 'r3', 'call.incoming', callId)
  await online.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId)

  await online.publish('users/2/calls/action', { call_id: callId, action: 'answered' })
  const cancelled = await pushOf(service, 'r3', 'call.cancelled', callId)
  t.same(cancelled.payload, { type: 'call.cancelled', call_id: callId, reason: 'answered_elsewhere', seq: 2 }, 'the sleeping phone stops ringing')
  t.ok(cancelled.vapid.valid)
  t.equal(cancelled.headers.topic, service.received.find((p) => p.subscription === 'r3' && p.payload.type === 'call.incoming')?.headers.topic, 'same Topic: it replaces an undelivered invite')
  t.same(service.received.filter((p) => p.subscription === 'r2').map((p) => p.payload.type), [], 'the connected resident got no push')
})

t.test('the resident who acts itself gets no cancellation; the others do, with the reason', async (t) => {
  const service = await startWebPushService(t)
  const node = await startTestNode(t, ENV)
  await subscribe(node, 'resident/2', service.subscribe('r2'))
  await subscribe(node, 'resident/3', service.subscribe('r3'))
  const callId = await ring(node, { household_number: '101' })
  await pushOf(service, 'r2', 'call.incoming', callId)
  await pushOf(service, 'r3', 'call.incoming', callId)
  await act(node, 'resident/3', callId, 'rejected')
  await request(node.httpUrl, 'POST', '/api/mqtt/controller/device', { as: 'device/1', body: { call_info: { call_id: callId, action: 'cancelled' } } })
  const cancelled = await pushOf(service, 'r2', 'call.cancelled', callId)
  t.match(cancelled.payload, { reason: 'cancelled', seq: 3 }, 'the door gave up: the still-ringing resident is told')
  t.same(service.received.filter((p) => p.subscription === 'r3').map((p) => p.payload.type), ['call.incoming'], 'the resident who rejected is not')
})

t.test('a gone subscription (410) is removed and reported as push.failed; a transient failure is retried', async (t) => {
  let busy = 1
  const service = await startWebPushService(t, (name) => name === 'old-4' ? 410 : name === 'busy-4' && busy-- > 0 ? 503 : 201)
  const node = await startTestNode(t, { ...ENV, WEBHOOK_RETRY_BASE_MS: '50' })
  const receiver = await startReceiver(t, 'a-webhook-secret-for-tests')
  await request(node.httpUrl, 'POST', '/api/webhooks', { as: 'service/ops', body: { url: receiver.url, events: ['push.failed'], secret: 'a-webhook-secret-for-tests' } })
  const oldId = await subscribe(node, 'resident/4', service.subscribe('old-4'))
  const busyId = await subscribe(node, 'resident/4', service.subscribe('busy-4'))
  const callId = await ring(node, { target_resident_id: '4' })

  const failed = await receiver.waitFor((a) => a.type === 'push.failed')
  t.match(failed.body.data, { call_id: callId, resident_id: '4', subscription_id: oldId, kind: 'webpush', push_type: 'call.incoming', reason: /gone/ })
  const listed = await request(node.httpUrl, 'GET', '/api/push/subscriptions', { as: 'resident/4' })
  t.same(listed.body.data.items.map((s: { subscription_id: string }) => s.subscription_id), [busyId], 'the gone one is removed, the other kept')
  await service.waitFor((p) => p.subscription === 'busy-4' && p.answered === 201)
  t.same(service.received.filter((p) => p.subscription === 'busy-4').map((p) => p.answered), [503, 201], 'a 503 is retried')
})

t.test('push subscriptions: own only, bounded, one per target', async (t) => {
  const service = await startWebPushService(t)
  const node = await startTestNode(t, { ...ENV, PUSH_MAX_SUBSCRIPTIONS: '2' })
  const browser = service.subscribe('b')
  const post = (as: string, body: Record<string, unknown>) => request(node.httpUrl, 'POST', '/api/push/subscriptions', { as, body })

  const first = await post('resident/2', { kind: 'webpush', ...browser })
  t.match(first, { status: 200, body: { data: { kind: 'webpush', resident_id: '2', endpoint: browser.endpoint } } })
  t.notOk(JSON.stringify(first.body).includes(browser.keys.auth), 'the keys are never shown back')
  const again = await post('resident/2', { kind: 'webpush', ...browser })
  t.equal(again.body.data.subscription_id, first.body.data.subscription_id, 'the same endpoint again replaces, keeping the id')
  t.match(await post('resident/2', { kind: 'webpush', ...service.subscribe('c') }), { status: 200 })
  t.match(await post('resident/2', { kind: 'webpush', ...service.subscribe('d') }), { status: 400, body: { message: /2 push subscriptions/ } })

  t.match(await post('resident/2', { kind: 'webpush', ...service.subscribe('e'), resident_id: '3' }), { status: 403 })
  t.match(await post('device/1', { kind: 'webpush', ...service.subscribe('f') }), { status: 403 })
  t.match(await post('service/ops', { kind: 'webpush', ...service.subscribe('g') }), { status: 400, body: { message: /resident_id is required/ } })
  t.match(await post('service/ops', { kind: 'webpush', ...service.subscribe('h'), resident_id: 'nobody' }), { status: 404 })
  t.match(await post('resident/3', { kind: 'webpush', endpoint: 'http://127.0.0.1/x', keys: browser.keys }), { status: 400 }, 'a Web Push endpoint is https')
  t.match(await post('resident/3', { kind: 'apns', token: 'ab'.repeat(32) }), { status: 503, body: { error: 'provider_not_configured' } })

  const id = first.body.data.subscription_id as string
  t.match(await request(node.httpUrl, 'DELETE', `/api/push/subscriptions/${id}`, { as: 'resident/3' }), { status: 404 }, 'another resident\'s is not found')
  t.match(await request(node.httpUrl, 'GET', '/api/push/subscriptions', { as: 'resident/3' }), { status: 200, body: { data: { items: [] } } })
  t.equal((await request(node.httpUrl, 'GET', '/api/push/subscriptions?resident_id=2', { as: 'service/ops' })).body.data.items.length, 2)
  t.match(await request(node.httpUrl, 'DELETE', `/api/push/subscriptions/${id}`, { as: 'resident/2' }), { status: 200, body: { data: { deleted: id } } })
  t.equal((await request(node.httpUrl, 'GET', '/api/push/subscriptions', { as: 'resident/2' })).body.data.items.length, 1)
})

t.test('a push service that does not answer does not hold up the call', async (t) => {
  const held: Array<() => void> = []
  const service = await startWebPushService(t, () => 201, (release) => { held.push(release) })
  const node = await startTestNode(t, ENV)
  await subscribe(node, 'resident/2', service.subscribe('stuck'))
  t.teardown(() => { for (const release of held) release() })
  const callId = await ring(node, { target_resident_id: '2' })
  await service.waitFor((p) => p.subscription === 'stuck')
  t.equal(held.length, 1, 'the push service holds the push, unanswered')
  await act(node, 'resident/2', callId, 'answered')
  t.pass('the call rang and is answered while the push is still unanswered')
})

t.test('after pushes on kept-alive connections the node closes cleanly, and closes those connections itself', async (t) => {
  const service = await startWebPushService(t)
  const node = await startTestNode(t, ENV)
  await subscribe(node, 'resident/2', service.subscribe('laptop'))
  await subscribe(node, 'resident/2', service.subscribe('phone'))
  const callId = await ring(node, { target_resident_id: '2' })
  await pushOf(service, 'laptop', 'call.incoming', callId)
  await pushOf(service, 'phone', 'call.incoming', callId)
  t.ok(service.connections.open() >= 1, 'the push service never closes an idle connection')
  await node.node.close()
  await service.connections.allClosed()
  t.pass('close() resolved and the node closed its connections to the push service')
})

import t from 'tap'
import webPush from 'web-push'
import { createOutboundGuard, parseNetworks } from '../../lib/outbound/address-guard'
import { createWebPushChannel } from '../../lib/push/webpush'
import { createWebhookSender } from '../../lib/webhooks/sender'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { startWebPushService } from '../push/web-push-service'
import { startReceiver } from '../webhooks/receiver'

const guarded = createOutboundGuard({ allow: parseNetworks('') })

t.test('loopback, private, link-local and multicast addresses are refused unless allowed', async (t) => {
  for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
    t.match(guarded.refusal(address), /loopback, private, link-local or multicast/, `${address} refused`)
  }
  for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) t.equal(guarded.refusal(address), null, `${address} allowed`)
  const allowing = createOutboundGuard({ allow: parseNetworks('127.0.0.1/32, 10.20.0.0/16,fd00::1') })
  t.equal(allowing.refusal('127.0.0.1'), null, 'the allow-list wins')
  t.equal(allowing.refusal('10.20.3.4'), null)
  t.equal(allowing.refusal('fd00::1'), null, 'a bare address is one host')
  t.match(allowing.refusal('127.0.0.2'), /127\.0\.0\.2/, 'only what is listed')
  t.throws(() => parseNetworks('10.0.0.0/33'), /not a CIDR network/)
  t.throws(() => parseNetworks('intranet'), /not a CIDR network/)
})

t.test('the guarded lookup refuses a name that resolves to a refused address', async (t) => {
  const looked = await new Promise<NodeJS.ErrnoException | null>((resolve) => guarded.lookup('localhost', {}, (err) => resolve(err)))
  t.match(looked, { code: 'EOUTBOUNDREFUSED', message: /localhost: .* is a loopback/ })
  const allowing = createOutboundGuard({ allow: parseNetworks('127.0.0.0/8,::1/128') })
  const address = await new Promise<unknown>((resolve, reject) => allowing.lookup('localhost', {}, (err, found) => { if (err !== null) reject(err); else resolve(found) }))
  t.match(address, /^(127\.|::1)/, 'allowed, it resolves as usual')
})

t.test('a webhook to a name that resolves to this host is refused at delivery; nothing is sent', async (t) => {
  const receiver = await startReceiver(t, 'a-webhook-secret-for-tests')
  const url = receiver.url.replace('127.0.0.1', 'localhost')
  const send = createWebhookSender({ timeoutMs: 5000, outbound: guarded })
  t.same(await send({ url, secret: 'a-webhook-secret-for-tests', id: 'd1', type: 'call.ringing', body: '{}' }), { ok: false, outcome: 'EOUTBOUNDREFUSED' })
  t.same(receiver.attempts, [])
  const allowed = createWebhookSender({ timeoutMs: 5000, outbound: createOutboundGuard({ allow: parseNetworks('127.0.0.0/8,::1/128') }) })
  t.match(await allowed({ url, secret: 'a-webhook-secret-for-tests', id: 'd2', type: 'call.ringing', body: '{}' }), { ok: true }, 'through the allow-list it goes')
})

t.test('a Web Push endpoint on this host is refused at delivery, by address and by name', async (t) => {
  const service = await startWebPushService(t)
  const vapid = { ...webPush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' }
  const channel = createWebPushChannel({ vapid, timeoutMs: 5000, outbound: guarded })
  const browser = service.subscribe('laptop')
  const delivery = { payload: { type: 'call.cancelled' as const, call_id: 'c1', reason: 'timeout', seq: 2 }, expiresAt: Date.now() + 10_000, topic: 'c1' }
  const base = { subscription_id: 's1', kind: 'webpush' as const, resident_id: '2', created_at: 0, keys: browser.keys }
  t.match(await channel.send({ ...base, endpoint: browser.endpoint }, delivery), { status: 'failed', detail: /endpoint refused: 127\.0\.0\.1/ })
  t.match(await channel.send({ ...base, endpoint: browser.endpoint.replace('127.0.0.1', 'localhost') }, delivery), { status: 'failed', detail: /endpoint refused: localhost/ })
  t.same(service.received, [], 'the push service never heard of it')
})

t.test('registration refuses a webhook URL or Web Push endpoint on private networks with a 400 naming the field', async (t) => {
  const vapid = webPush.generateVAPIDKeys()
  const node = await startTestNode(t, { OUTBOUND_ALLOW_NETWORKS: '', PUSH_VAPID_PUBLIC_KEY: vapid.publicKey, PUSH_VAPID_PRIVATE_KEY: vapid.privateKey })
  for (const url of ['http://127.0.0.1:9/hook', 'http://localhost:9/hook', 'https://[::1]/hook', 'https://169.254.169.254/latest/meta-data']) {
    const created = await request(node.httpUrl, 'POST', '/api/webhooks', { as: 'service/ops', body: { url, events: ['call.ended'] } })
    t.match(created, { status: 400, body: { message: /^url may not point to/ } }, url)
  }
  const keys = { p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg' }
  const subscribed = await request(node.httpUrl, 'POST', '/api/push/subscriptions', { as: 'resident/2', body: { kind: 'webpush', endpoint: 'https://10.0.0.7/push/abc', keys } })
  t.match(subscribed, { status: 400, body: { message: /^endpoint may not point to 10\.0\.0\.7/ } })
  const unresolved = await request(node.httpUrl, 'POST', '/api/webhooks', { as: 'service/ops', body: { url: 'https://integrator.example.invalid/hook', events: ['call.ended'] } })
  t.equal(unresolved.status, 200, 'a name that does not resolve yet is checked at each delivery instead')
})

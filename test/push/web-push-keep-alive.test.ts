import t from 'tap'
import webPush from 'web-push'
import { createOutboundGuard, parseNetworks, type OutboundGuard } from '../../lib/outbound/address-guard'
import type { PushDelivery } from '../../lib/push/channel'
import { createWebPushChannel } from '../../lib/push/webpush'
import { startWebPushService } from './web-push-service'

const VAPID = { ...webPush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' }
const delivery = (callId: string): PushDelivery => ({ payload: { type: 'call.cancelled', call_id: callId, reason: 'timeout', seq: 2 }, expiresAt: Date.now() + 10_000, topic: callId })
const base = { kind: 'webpush' as const, resident_id: '2', created_at: 0 }

t.test('Web Push: pushes to one push service share a kept-alive connection, which close() ends', async (t) => {
  const service = await startWebPushService(t)
  const channel = createWebPushChannel({ vapid: VAPID, timeoutMs: 5000, outbound: createOutboundGuard({ allow: parseNetworks('127.0.0.1/32') }) })
  t.teardown(() => channel.close?.())
  const browsers = ['a', 'b', 'c'].map((name) => ({ name, ...service.subscribe(name) }))
  for (const browser of browsers) {
    t.same(await channel.send({ ...base, subscription_id: browser.name, endpoint: browser.endpoint, keys: browser.keys }, delivery(`call-${browser.name}`)), { status: 'accepted' })
  }
  t.same(service.received.map((p) => [p.subscription, p.payload.call_id, p.vapid.valid]), [['a', 'call-a', true], ['b', 'call-b', true], ['c', 'call-c', true]], 'each push decrypted and signed')
  t.equal(service.connections.opened(), 1, 'one TLS connection for three pushes')
  t.equal(service.connections.open(), 1, 'kept open between pushes')
  channel.close?.()
  await service.connections.allClosed()
  t.pass('close() ends the kept connection')
})

t.test('Web Push: with a kept-alive connection open, a push to a refused address is still refused', async (t) => {
  const service = await startWebPushService(t)
  const allowing = createOutboundGuard({ allow: parseNetworks('127.0.0.1/32') })
  const refusing = createOutboundGuard({ allow: parseNetworks('') })
  // The allow-list as a node would have it after a change of configuration: the same agent, a stricter guard.
  let guard = allowing
  const outbound: OutboundGuard = {
    refusal: (address) => guard.refusal(address),
    lookup: (hostname, options, callback) => guard.lookup(hostname, options, callback),
    checkUrl: (url, field) => guard.checkUrl(url, field)
  }
  const channel = createWebPushChannel({ vapid: VAPID, timeoutMs: 5000, outbound })
  t.teardown(() => channel.close?.())
  const browser = service.subscribe('laptop')
  const subscription = { ...base, subscription_id: 's1', keys: browser.keys }
  t.same(await channel.send({ ...subscription, endpoint: browser.endpoint }, delivery('c1')), { status: 'accepted' })
  t.equal(service.connections.open(), 1, 'a connection to 127.0.0.1 is kept open')

  guard = refusing
  t.match(await channel.send({ ...subscription, endpoint: browser.endpoint }, delivery('c2')), { status: 'failed', detail: /endpoint refused: 127\.0\.0\.1/ }, 'by address: checked before every push')
  t.match(await channel.send({ ...subscription, endpoint: browser.endpoint.replace('127.0.0.1', 'localhost') }, delivery('c3')), { status: 'failed', detail: /endpoint refused: localhost/ }, 'by name: a new connection goes through the guarded lookup')
  t.same(service.received.map((p) => p.payload.call_id), ['c1'], 'the push service got only the allowed push')
  t.equal(service.connections.opened(), 1)
})

t.test('Web Push: one VAPID token per push service, reused for its pushes, each with its own audience', async (t) => {
  const first = await startWebPushService(t)
  const second = await startWebPushService(t)
  const channel = createWebPushChannel({ vapid: VAPID, timeoutMs: 5000, outbound: createOutboundGuard({ allow: parseNetworks('127.0.0.1/32') }) })
  t.teardown(() => channel.close?.())
  for (const [service, name] of [[first, 'a'], [first, 'b'], [second, 'c'], [second, 'd']] as const) {
    const browser = service.subscribe(name)
    t.same(await channel.send({ ...base, subscription_id: name, endpoint: browser.endpoint, keys: browser.keys }, delivery(`call-${name}`)), { status: 'accepted' })
  }
  for (const service of [first, second]) {
    const [one, two] = service.received
    t.match(one?.vapid, { valid: true, audience: service.origin, publicKey: VAPID.publicKey })
    t.ok((one?.vapid.expiresIn ?? 0) > 3000, 'valid for about an hour')
    t.equal(two?.headers.authorization, one?.headers.authorization, 'the second push reuses the token')
  }
  t.not(first.received[0]?.headers.authorization, second.received[0]?.headers.authorization, 'another push service, another token')
})

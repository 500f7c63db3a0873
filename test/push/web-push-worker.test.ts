import { globalAgent } from 'node:https'
import t from 'tap'
import webPush from 'web-push'
import type { PushDelivery } from '../../lib/push/channel'
import { createWebPushWorkerChannel } from '../../lib/push/webpush-worker'
import { startWebPushService } from './web-push-service'

const VAPID = { ...webPush.generateVAPIDKeys(), subject: 'mailto:ops@example.com' }
const delivery = (callId: string): PushDelivery => ({ payload: { type: 'call.cancelled', call_id: callId, reason: 'timeout', seq: 2 }, expiresAt: Date.now() + 10_000, topic: callId })
const base = { kind: 'webpush' as const, resident_id: '2', created_at: 0 }

t.test('Web Push from its thread: encrypted, signed, guarded; a push under way when the thread ends is retried, and the next push starts a new thread', async (t) => {
  let holding = false
  const held: Array<() => void> = []
  const service = await startWebPushService(t, () => 201, (release) => { if (holding) held.push(release); else release() })
  t.teardown(() => { for (const release of held) release() })
  const channel = createWebPushWorkerChannel({ vapid: VAPID, timeoutMs: 5000, allowNetworks: '127.0.0.1/32', ca: globalAgent.options.ca as Buffer[] })
  t.teardown(() => channel.close?.())
  const browser = service.subscribe('laptop')
  const subscription = { ...base, subscription_id: 's1', endpoint: browser.endpoint, keys: browser.keys }

  t.same(await channel.send(subscription, delivery('c1')), { status: 'accepted' })
  t.match(service.received[0], { payload: { type: 'call.cancelled', call_id: 'c1' }, vapid: { valid: true, audience: service.origin } })
  t.match(await channel.send({ ...subscription, endpoint: browser.endpoint.replace('127.0.0.1', '10.0.0.1') }, delivery('c2')), { status: 'failed', detail: /endpoint refused: 10\.0\.0\.1/ }, 'the thread applies the node\'s outbound guard')

  holding = true
  const underWay = channel.send(subscription, delivery('c3'))
  await service.waitFor((p) => p.payload.call_id === 'c3')
  await channel.close?.()
  t.match(await underWay, { status: 'retry', detail: /thread exited/ })
  await service.connections.allClosed()
  t.pass('the thread\'s connections closed with it')

  holding = false
  t.same(await channel.send(subscription, delivery('c4')), { status: 'accepted' }, 'a new thread takes the next push')
})

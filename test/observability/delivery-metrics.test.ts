import t from 'tap'
import webPush from 'web-push'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { startWebPushService } from '../push/web-push-service'
import { startReceiver } from '../webhooks/receiver'
import { eventually, samples } from './helpers'

const VAPID = webPush.generateVAPIDKeys()
const SECRET = 'whsec_metrics_test_0123456789abcdef'

t.test('pushes and webhook deliveries show in /metrics', async (t) => {
  // Before the node: its Web Push agent takes the trusted certificates when it is made.
  const service = await startWebPushService(t)
  const node = await startTestNode(t, { PUSH_VAPID_PUBLIC_KEY: VAPID.publicKey, PUSH_VAPID_PRIVATE_KEY: VAPID.privateKey, RING_TIMEOUT_MS: '20000' })
  const scrape = async (): Promise<Map<string, number>> => samples((await request(node.httpUrl, 'GET', '/metrics')).body.message)

  const before = await scrape()
  t.equal(before.get('intercom_push_sent_total{channel="webpush",result="accepted"}'), 0, 'every series is there from the start')
  t.equal(before.get('intercom_webhook_deliveries_total{result="delivered"}'), 0)
  t.equal(before.get('intercom_push_queue_depth'), 0)
  t.equal(before.get('intercom_webhook_backlog'), 0)

  // The receiver fails the first attempt: one failed, then delivered.
  let failuresLeft = 1
  const receiver = await startReceiver(t, SECRET, () => (failuresLeft-- > 0 ? 500 : 200))
  const created = await request(node.httpUrl, 'POST', '/api/webhooks', { as: 'service/ops', body: { url: receiver.url, events: ['call.ringing'], secret: SECRET } })
  t.equal(created.status, 200)
  const subscribed = await request(node.httpUrl, 'POST', '/api/push/subscriptions', { as: 'resident/2', body: { kind: 'webpush', ...service.subscribe('laptop-2') } })
  t.equal(subscribed.status, 200)

  const started = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '2' } })
  t.equal(started.status, 200)
  await service.waitFor((p) => p.subscription === 'laptop-2' && p.payload.type === 'call.incoming')
  await receiver.waitFor((a) => a.type === 'call.ringing' && a.answered === 200)

  const after = await eventually(async () => {
    const m = await scrape()
    return m.get('intercom_webhook_deliveries_total{result="delivered"}') === 1 && m.get('intercom_push_sent_total{channel="webpush",result="accepted"}') === 1 ? m : null
  })
  t.equal(after.get('intercom_push_sent_total{channel="webpush",result="accepted"}'), 1, 'the push accepted by the push service')
  t.equal(after.get('intercom_push_skipped_total{reason="online"}'), 0)
  t.equal(after.get('intercom_webhook_deliveries_total{result="failed"}'), 1, 'the attempt answered 500')
  t.equal(after.get('intercom_webhook_deliveries_total{result="delivered"}'), 1)
  t.equal(after.get('intercom_webhook_events_total{result="queued"}'), 1)
  t.equal(after.get('intercom_webhook_backlog'), 0, 'nothing left to deliver')
  t.equal(after.get('intercom_push_queue_depth'), 0)
})

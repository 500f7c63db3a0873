import { Counter, Gauge } from 'prom-client'
import type { PushReport, PushResult } from '../push/dispatcher'
import type { Subscription } from '../push/subscriptions'
import type { DeliveryResult } from '../webhooks/delivery-worker'
import type { WebhookReport } from '../webhooks/webhooks'
import type { NodeMetrics } from './metrics'

export interface DeliveryMetrics {
  push: PushReport
  webhooks: WebhookReport
  /** Starts the gauges: read at each scrape. */
  watch (sources: { pushQueueDepth: () => number, webhookBacklog: () => Promise<number> }): void
}

const CHANNELS: ReadonlyArray<Subscription['kind']> = ['webpush', 'apns', 'fcm']
const PUSH_RESULTS: readonly PushResult[] = ['accepted', 'retried', 'gone', 'failed']
const WEBHOOK_RESULTS: readonly DeliveryResult[] = ['delivered', 'failed', 'gave_up']

/** Pushes and webhook deliveries of this node, in its registry. */
export function createDeliveryMetrics (metrics: NodeMetrics): DeliveryMetrics {
  const registers = [metrics.registry]
  const pushSent = new Counter({
    name: 'intercom_push_sent_total',
    help: 'Push attempts by channel (webpush, apns, fcm) and result (accepted, retried, gone, failed)',
    labelNames: ['channel', 'result'],
    registers
  })
  const pushSkipped = new Counter({
    name: 'intercom_push_skipped_total',
    help: 'Pushes not sent, by reason: online (the resident had an open connection) or queue_full',
    labelNames: ['reason'],
    registers
  })
  const webhookDeliveries = new Counter({
    name: 'intercom_webhook_deliveries_total',
    help: 'Webhook delivery attempts by result: delivered, failed (retried later) or gave_up (retry window over)',
    labelNames: ['result'],
    registers
  })
  const webhookEvents = new Counter({
    name: 'intercom_webhook_events_total',
    help: 'Webhook deliveries queued by this node, or dropped (queue full, body too large, intake full)',
    labelNames: ['result'],
    registers
  })
  // Every series shows from the start, also at zero.
  for (const channel of CHANNELS) for (const result of PUSH_RESULTS) pushSent.inc({ channel, result }, 0)
  for (const reason of ['online', 'queue_full']) pushSkipped.inc({ reason }, 0)
  for (const result of WEBHOOK_RESULTS) webhookDeliveries.inc({ result }, 0)
  for (const result of ['queued', 'dropped']) webhookEvents.inc({ result }, 0)
  return {
    push: {
      attempt: (channel, result) => pushSent.inc({ channel, result }),
      skipped: (reason) => pushSkipped.inc({ reason })
    },
    webhooks: {
      attempt: (result) => webhookDeliveries.inc({ result }),
      events: (result, count) => { if (count > 0) webhookEvents.inc({ result }, count) }
    },
    watch (sources) {
      const depth: Gauge = new Gauge({
        name: 'intercom_push_queue_depth',
        help: 'Pushes waiting on this node: queued, being sent, or between retries',
        registers,
        collect: () => depth.set(sources.pushQueueDepth())
      })
      const backlog: Gauge = new Gauge({
        name: 'intercom_webhook_backlog',
        help: 'Webhook deliveries pending for all webhooks (the whole cluster with Redis)',
        registers,
        collect: async () => {
          // A scrape still answers while the store is unreachable; the gauge keeps its last value.
          try {
            backlog.set(await sources.webhookBacklog())
          } catch {}
        }
      })
    }
  }
}

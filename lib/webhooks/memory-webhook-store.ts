import { wants, type QueuedEvent } from './events'
import { laneOf, publicWebhook, webhookOfLane, type ClaimedDelivery, type Delivery, type EnqueueResult, type StoredWebhook, type Webhook, type WebhookStore } from './webhook-store'

interface Lane {
  deliveries: Delivery[]
  dueAt: number
}

/** The webhook store of a single node: the same rules as in Redis, held in memory. */
export function createMemoryWebhookStore (): WebhookStore {
  const webhooks = new Map<string, StoredWebhook>()
  const lanes = new Map<string, Lane>()
  const pending = new Map<string, number>()
  const online = new Map<string, boolean>()

  function addPending (webhookId: string, delta: number): void {
    const left = (pending.get(webhookId) ?? 0) + delta
    if (left <= 0) pending.delete(webhookId)
    else pending.set(webhookId, left)
  }

  return {
    async add (webhook, maxCount) {
      if (webhooks.size >= maxCount) return false
      webhooks.set(webhook.webhook_id, { ...webhook, events: [...webhook.events] })
      return true
    },
    async list (): Promise<Webhook[]> {
      return [...webhooks.values()].map(publicWebhook)
    },
    async get (webhookId) {
      return webhooks.get(webhookId) ?? null
    },
    async backlog () {
      let sum = 0
      for (const n of pending.values()) sum += n
      return sum
    },
    async remove (webhookId) {
      pending.delete(webhookId)
      return webhooks.delete(webhookId)
    },

    async enqueue (event: QueuedEvent, orderKey, maxPending, now): Promise<EnqueueResult> {
      const result: EnqueueResult = { queued: 0, dropped: [] }
      for (const webhook of webhooks.values()) {
        if (!wants(webhook.events, event.type)) continue
        if ((pending.get(webhook.webhook_id) ?? 0) >= maxPending) {
          result.dropped.push(webhook.webhook_id)
          continue
        }
        const name = laneOf(webhook.webhook_id, orderKey)
        const lane = lanes.get(name)
        const delivery = { ...event, attempts: 0 }
        if (lane === undefined) lanes.set(name, { deliveries: [delivery], dueAt: now })
        else lane.deliveries.push(delivery)
        addPending(webhook.webhook_id, 1)
        result.queued++
      }
      return result
    },
    async claim (now, leaseMs, limit) {
      const due = [...lanes.entries()].filter(([, lane]) => lane.dueAt <= now).sort((a, b) => a[1].dueAt - b[1].dueAt).slice(0, limit)
      const claimed: ClaimedDelivery[] = []
      for (const [name, lane] of due) {
        const head = lane.deliveries[0]
        if (head === undefined) continue
        lane.dueAt = now + leaseMs
        claimed.push({ lane: name, webhookId: webhookOfLane(name), delivery: { ...head } })
      }
      return claimed
    },
    async complete (name, deliveryId, now) {
      const lane = lanes.get(name)
      if (lane === undefined || lane.deliveries[0]?.id !== deliveryId) return
      lane.deliveries.shift()
      addPending(webhookOfLane(name), -1)
      if (lane.deliveries.length === 0) lanes.delete(name)
      else lane.dueAt = now
    },
    async reschedule (name, delivery, at) {
      const lane = lanes.get(name)
      if (lane === undefined || lane.deliveries[0]?.id !== delivery.id) return
      lane.deliveries[0] = { ...delivery }
      lane.dueAt = at
    },

    async swapDeviceOnline (deviceId, value) {
      const before = online.get(deviceId) ?? null
      online.set(deviceId, value)
      return before
    },

    async close () {}
  }
}

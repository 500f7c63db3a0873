import { randomBytes, randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import type { Publisher } from '../broker/publisher'
import { IntercomError } from '../errors'
import type { Identity } from '../identity'
import type { CallView } from '../calls/view'
import type { RetryPolicy } from './backoff'
import { startDeliveryWorker, type DeliveryResult } from './delivery-worker'
import type { QueuedEvent, WebhookEventType } from './events'
import { callRecordOf } from './call-record'
import { observe, orderKeys, type Observed } from './producer'
import type { OutboundGuard } from '../outbound/address-guard'
import { createWebhookSender, type SendWebhook } from './sender'
import type { StoredWebhook, Webhook, WebhookStore } from './webhook-store'

export interface WebhookLimits {
  /** Webhooks in the whole cluster. */
  maxWebhooks: number
  /** Deliveries waiting per webhook; beyond, new events for it are dropped. */
  maxPendingPerWebhook: number
  /** A serialised event larger than this is not queued. */
  maxBodyBytes: number
  /** Events waiting to be queued on this node (a Redis round trip each). */
  maxIntake: number
}

export interface WebhooksOptions {
  store: WebhookStore
  publisher: Publisher
  logger: Logger
  limits: WebhookLimits
  retry: RetryPolicy
  /** Longest wait for a receiver's answer. */
  timeoutMs: number
  /** Deliveries this node attempts at once. */
  concurrency: number
  pollMs: number
  /**
   * The stored session of an ended call: the events topic carries a summary without
   * history, and a call detail record needs when each resident acted.
   */
  finalSession?: (callId: string) => Promise<CallView | null>
  /** For tests of the transport; the real signed POST otherwise. */
  send?: SendWebhook
  /** Told of queued and dropped events and of every delivery attempt. */
  report?: WebhookReport
  /** Refuses URLs on this host or private networks, at registration and at each delivery. */
  outbound?: OutboundGuard
  now?: () => number
}

/** Where webhooks report what they do; the node's metrics. */
export interface WebhookReport {
  attempt (result: DeliveryResult): void
  /** Deliveries queued, or not queued: a full queue, an oversized body, or a full intake. */
  events (result: 'queued' | 'dropped', count: number): void
}

const SILENT: WebhookReport = { attempt: () => {}, events: () => {} }

export interface CreateWebhookInput {
  url: string
  events: string[]
  secret?: string
}

export interface Webhooks {
  create (actor: Identity, input: CreateWebhookInput): Promise<Webhook & { secret: string }>
  list (): Promise<Webhook[]>
  remove (webhookId: string): Promise<void>
  /** An event that no server publish carries (`push.failed`); ordered with its call. */
  emit (type: WebhookEventType, orderKey: string, data: Record<string, unknown>): void
  /** Deliveries pending for all webhooks (the whole cluster with Redis). */
  backlog (): Promise<number>
  close (): Promise<void>
}

export const MAX_WEBHOOK_URL_LENGTH = 2048

/** A webhook URL must be absolute http(s); anything else is refused at registration. */
export function checkWebhookUrl (url: string): void {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new IntercomError('invalid_request', 'url must be an absolute http:// or https:// URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new IntercomError('invalid_request', `url must use http or https, not ${parsed.protocol.replace(/:$/, '')}`)
  }
}

/**
 * Webhooks for integrators: a consumer of what the server publishes. Every
 * server publish of this node passes the tap; the ones that are webhook events
 * are queued in the store, in order per call (or device), and any node's worker
 * delivers them.
 */
export function startWebhooks (options: WebhooksOptions): Webhooks {
  const { store, logger, limits } = options
  const now = options.now ?? Date.now
  const report = options.report ?? SILENT
  const send: SendWebhook & { close? (): void } = options.send ??
    createWebhookSender({ timeoutMs: options.timeoutMs, now, ...(options.outbound === undefined ? {} : { outbound: options.outbound }) })
  const worker = startDeliveryWorker({
    store,
    send,
    retry: options.retry,
    concurrency: options.concurrency,
    // An attempt ends within the timeout; the margin covers recording its outcome.
    leaseMs: options.timeoutMs + 5000,
    pollMs: options.pollMs,
    logger,
    onAttempt: (result) => report.attempt(result),
    now
  })

  /** Per order key, the tail of the queueing under way: one key's events reach the store in order. */
  const tails = new Map<string, Promise<void>>()
  let intake = 0

  function inOrder (orderKey: string, step: () => Promise<void>): void {
    if (intake >= limits.maxIntake) {
      report.events('dropped', 1)
      logger.warn({ orderKey }, 'webhook intake full: event dropped')
      return
    }
    intake++
    const tail = (tails.get(orderKey) ?? Promise.resolve()).then(step).catch((err: unknown) => {
      report.events('dropped', 1)
      logger.warn({ err, orderKey }, 'could not queue a webhook event')
    }).finally(() => {
      intake--
      if (tails.get(orderKey) === tail) tails.delete(orderKey)
    })
    tails.set(orderKey, tail)
  }

  async function queue (type: WebhookEventType, orderKey: string, data: Record<string, unknown>): Promise<void> {
    const id = `evt_${randomUUID()}`
    const createdAt = now()
    const body = JSON.stringify({ id, type, created_at: createdAt, data })
    if (Buffer.byteLength(body) > limits.maxBodyBytes) {
      report.events('dropped', 1)
      logger.warn({ type, orderKey, bytes: Buffer.byteLength(body) }, 'webhook event too large: dropped')
      return
    }
    const event: QueuedEvent = { id, type, created_at: createdAt, body }
    const result = await store.enqueue(event, orderKey, limits.maxPendingPerWebhook, createdAt)
    report.events('queued', result.queued)
    if (result.dropped.length > 0) {
      report.events('dropped', result.dropped.length)
      logger.warn({ type, webhooks: result.dropped }, 'webhook queue full: event dropped for these webhooks')
    }
    if (result.queued > 0) worker.wake()
  }

  function consume (observed: Observed): void {
    if (observed.kind === 'event') {
      inOrder(observed.orderKey, async () => {
        const callId = observed.data.call_id
        const final = observed.type === 'call.ended' && typeof callId === 'string' ? await options.finalSession?.(callId) : null
        const data = final == null ? observed.data : { ...observed.data, record: callRecordOf(final) }
        await queue(observed.type, observed.orderKey, data)
      })
      return
    }
    const orderKey = orderKeys.device(observed.deviceId)
    inOrder(orderKey, async () => {
      const before = await store.swapDeviceOnline(observed.deviceId, observed.online)
      if (before === observed.online || (before === null && !observed.online)) return
      await queue(observed.online ? 'device.online' : 'device.offline', orderKey, observed.data)
    })
  }

  const untap = options.publisher.onPublish((topic, message) => {
    for (const observed of observe(topic, message)) consume(observed)
  })

  return {
    async create (actor, input) {
      checkWebhookUrl(input.url)
      await options.outbound?.checkUrl(input.url, 'url')
      const webhook: StoredWebhook = {
        webhook_id: `wh_${randomBytes(8).toString('hex')}`,
        url: input.url,
        events: [...new Set(input.events)],
        created_at: now(),
        created_by: actor.name,
        secret: input.secret ?? `whsec_${randomBytes(32).toString('base64url')}`
      }
      if (!await store.add(webhook, limits.maxWebhooks)) {
        throw new IntercomError('invalid_request', `at most ${limits.maxWebhooks} webhooks may exist; delete one first`)
      }
      const { secret, ...rest } = webhook
      return { ...rest, secret }
    },
    list: () => store.list(),
    async remove (webhookId) {
      if (!await store.remove(webhookId)) throw new IntercomError('not_found', `no webhook ${webhookId}; list them with GET /api/webhooks`)
    },
    emit (type, orderKey, data) {
      inOrder(orderKey, () => queue(type, orderKey, data))
    },
    backlog: () => store.backlog(),
    async close () {
      untap()
      await Promise.all([...tails.values()])
      await worker.stop()
      send.close?.()
    }
  }
}

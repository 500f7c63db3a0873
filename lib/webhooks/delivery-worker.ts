import type { Logger } from 'pino'
import { nextAttemptAt, type RetryPolicy } from './backoff'
import type { SendWebhook } from './sender'
import type { ClaimedDelivery, WebhookStore } from './webhook-store'

/** What became of one delivery attempt: delivered, failed (to be retried) or failed for good. */
export type DeliveryResult = 'delivered' | 'failed' | 'gave_up'

export interface DeliveryWorkerOptions {
  store: WebhookStore
  send: SendWebhook
  retry: RetryPolicy
  /** Deliveries this node attempts at once. */
  concurrency: number
  /** A claimed lane returns to the others after this; longer than one attempt may take. */
  leaseMs: number
  /** Lanes made due by other nodes are noticed within this. */
  pollMs: number
  logger: Logger
  /** Told of every attempt's result. */
  onAttempt: (result: DeliveryResult) => void
  now?: () => number
}

export interface DeliveryWorker {
  /** Something was queued on this node: look at once. */
  wake (): void
  /** Stops claiming and waits for the attempts under way. */
  stop (): Promise<void>
}

/**
 * Every node runs one: it claims due lanes, attempts their heads, and records
 * the outcome, so deliveries queued by a node that died are taken over.
 */
export function startDeliveryWorker (options: DeliveryWorkerOptions): DeliveryWorker {
  const { store, send, retry, logger, onAttempt } = options
  const now = options.now ?? Date.now
  const inFlight = new Set<Promise<void>>()
  let stopped = false
  let claiming: Promise<void> | null = null
  let again = false
  let timer: NodeJS.Timeout | undefined

  async function attempt (claimed: ClaimedDelivery): Promise<void> {
    const { lane, webhookId, delivery } = claimed
    const webhook = await store.get(webhookId)
    if (webhook === null) {
      await store.complete(lane, delivery.id, now())
      return
    }
    const result = await send({ url: webhook.url, secret: webhook.secret, id: delivery.id, type: delivery.type, body: delivery.body })
    const attempts = delivery.attempts + 1
    if (result.ok) {
      onAttempt('delivered')
      await store.complete(lane, delivery.id, now())
      return
    }
    const at = nextAttemptAt(retry, delivery.created_at, attempts, now())
    onAttempt(at === null ? 'gave_up' : 'failed')
    if (at === null) {
      logger.warn({ webhookId, delivery: delivery.id, type: delivery.type, attempts, outcome: result.outcome }, 'webhook delivery given up: its retry window is over')
      await store.complete(lane, delivery.id, now())
      return
    }
    logger.debug({ webhookId, delivery: delivery.id, attempts, outcome: result.outcome }, 'webhook delivery failed; will retry')
    await store.reschedule(lane, { ...delivery, attempts }, at)
  }

  function track (claimed: ClaimedDelivery): void {
    const run = attempt(claimed).catch((err: unknown) => {
      // The lease lapses and the lane is claimed again: nothing is lost.
      logger.warn({ err, webhookId: claimed.webhookId }, 'webhook delivery could not be recorded; it will be retried')
    }).finally(() => {
      inFlight.delete(run)
      wake()
    })
    inFlight.add(run)
  }

  async function claimSome (): Promise<void> {
    const free = options.concurrency - inFlight.size
    if (free <= 0) return
    const claimed = await store.claim(now(), options.leaseMs, free)
    for (const one of claimed) track(one)
    // A full batch may mean more are due.
    if (claimed.length === free) again = true
  }

  function wake (): void {
    if (stopped) return
    if (claiming !== null) {
      again = true
      return
    }
    again = false
    claiming = claimSome().catch((err: unknown) => {
      again = false
      logger.warn({ err }, 'could not claim webhook deliveries; the next poll retries')
    }).finally(() => {
      claiming = null
      if (again) wake()
    })
  }

  function poll (): void {
    wake()
    if (!stopped) timer = setTimeout(poll, options.pollMs)
  }
  poll()

  return {
    wake,
    async stop () {
      stopped = true
      clearTimeout(timer)
      await claiming
      await Promise.all([...inFlight])
    }
  }
}

import type { QueuedEvent } from './events'

/** A webhook as services see it: never its secret, which is shown once, at creation. */
export interface Webhook {
  webhook_id: string
  url: string
  events: string[]
  created_at: number
  created_by: string
}

export interface StoredWebhook extends Webhook {
  secret: string
}

/** One event on its way to one webhook. */
export interface Delivery extends QueuedEvent {
  /** Attempts made so far. */
  attempts: number
}

/** A delivery this node now holds a lease on: the head of its lane. */
export interface ClaimedDelivery {
  /** `<webhook id>|<order key>`: the deliveries of one webhook for one call (or device), in order. */
  lane: string
  webhookId: string
  delivery: Delivery
}

export interface EnqueueResult {
  /** Deliveries queued, one per webhook that wants the event. */
  queued: number
  /** Webhooks that wanted it but whose queue is full. */
  dropped: string[]
}

/**
 * The webhooks and their pending deliveries, shared by every node of a cluster.
 *
 * A lane holds the deliveries of one webhook for one order key (a call, a device),
 * first in first out; only its head is ever attempted, so deliveries of one call
 * arrive in order. A lane is due at a time; `claim` leases due lanes by moving
 * that time to now + lease, so a node that dies holding one only delays it: once
 * the lease lapses, another node claims it again (at least once). Each method is
 * one atomic step.
 */
export interface WebhookStore {
  /** False when `maxCount` webhooks exist already. */
  add (webhook: StoredWebhook, maxCount: number): Promise<boolean>
  list (): Promise<Webhook[]>
  get (webhookId: string): Promise<StoredWebhook | null>
  /** False when unknown. Its pending deliveries are dropped as they come due. */
  remove (webhookId: string): Promise<boolean>

  /** Queues the event for every webhook that wants it, at most `maxPending` per webhook. */
  enqueue (event: QueuedEvent, orderKey: string, maxPending: number, now: number): Promise<EnqueueResult>
  /** Up to `limit` due lanes, each leased until now + leaseMs, with its head. */
  claim (now: number, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>
  /** The head is done (delivered, or given up): the lane's next delivery is due now. */
  complete (lane: string, deliveryId: string, now: number): Promise<void>
  /** The head failed: store its attempts and try it again at `at`. */
  reschedule (lane: string, delivery: Delivery, at: number): Promise<void>

  /** Deliveries pending for all webhooks (in the whole cluster with Redis). */
  backlog (): Promise<number>

  /** Records a device's online flag; returns the one recorded before (null: none yet). */
  swapDeviceOnline (deviceId: string, online: boolean): Promise<boolean | null>

  close (): Promise<void>
}

/** Lane names: webhook ids have no `|`, so the first one splits. */
export function laneOf (webhookId: string, orderKey: string): string {
  return `${webhookId}|${orderKey}`
}

export function webhookOfLane (lane: string): string {
  return lane.slice(0, lane.indexOf('|'))
}

export function publicWebhook (stored: StoredWebhook): Webhook {
  const { secret: _secret, ...webhook } = stored
  return webhook
}

import type { PushPayload } from './payloads'
import type { Subscription } from './subscriptions'

/** How one push attempt ended, as the dispatcher acts on it. */
export type PushOutcome =
  | { status: 'accepted' }
  /** The target no longer exists (404/410, Unregistered): remove the subscription. */
  | { status: 'gone', detail: string }
  /** Worth trying again (network, 429, 5xx) while the push still matters. */
  | { status: 'retry', detail: string }
  /** Refused for a reason a retry will not fix. */
  | { status: 'failed', detail: string }

export interface PushDelivery {
  payload: PushPayload
  /** When the push stops mattering (ms since epoch). */
  expiresAt: number
  /** A collapse key: the pushes of one call replace each other at the push service. */
  topic: string
}

/** One push service: Web Push, APNs or FCM. */
export interface PushChannel {
  readonly kind: Subscription['kind']
  send (subscription: Subscription, delivery: PushDelivery): Promise<PushOutcome>
  /** Closes kept connections. */
  close? (): void | Promise<void>
}

/** HTTP status → outcome, the way the push services use them. */
export function outcomeOfStatus (status: number, detail = `HTTP ${status}`): PushOutcome {
  if (status >= 200 && status < 300) return { status: 'accepted' }
  if (status === 404 || status === 410) return { status: 'gone', detail }
  if (status === 429 || status >= 500) return { status: 'retry', detail }
  return { status: 'failed', detail }
}

import type { Subscription } from './subscriptions'

/**
 * Push subscriptions, and which of them got a call's invite, shared by the
 * nodes of a cluster. Each method is one atomic step.
 */
export interface PushStore {
  /**
   * Stores a subscription; one that points at the same target for the same
   * resident is replaced and its id kept. Null when the resident has `maxPerResident` already.
   */
  add (subscription: Subscription, maxPerResident: number): Promise<Subscription | null>
  list (residentId: string): Promise<Subscription[]>
  get (subscriptionId: string): Promise<Subscription | null>
  remove (subscriptionId: string): Promise<boolean>

  /** Remembers the subscriptions that got `callId`'s invite for `residentId`, until `expiresAt` + a margin. */
  recordInvited (callId: string, residentId: string, subscriptionIds: string[], expiresAt: number): Promise<void>
  /** The subscriptions that got the invite, forgotten in the same step, so one node alone cancels them. */
  takeInvited (callId: string, residentId: string): Promise<string[]>

  close (): Promise<void>
}

/** Invites are remembered this long past their expiry, for a late cancel. */
export const INVITED_MARGIN_MS = 60_000

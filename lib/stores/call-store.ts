import type { CallSession, TimerName } from '../calls/session'
import type { CallListPage, CallListQuery } from '../records/listing'

/** A timer the caller now holds a lease on: it should feed `{type: 'timer', timer}` to the machine. */
export interface DueTimer {
  callId: string
  timer: TimerName
}

/**
 * Where call sessions live, shared by every node of a cluster. Every method is
 * one atomic step (one Lua script in Redis), so nodes race safely.
 *
 * Indexes are derived from the stored sessions on every write, never written apart:
 * - device → its active call (status ringing or connected);
 * - (device, request_id) → the call it started, for as long as the call is kept;
 * - resident → its connected calls (the answerer while connected);
 * - resident → the calls ringing it (its leg `ringing`, the call not ended);
 * - timers, one per non-null entry of `deadlines`, scored by its deadline.
 *
 * Timers fire once without a "complete" step: `claimDueTimers` pushes a due timer's
 * score to now + lease; the holder runs the transition, whose write clears or moves
 * the deadline and with it the entry. If the holder dies first, the lease lapses and
 * another node claims the timer again; a second firing is harmless because the write
 * is a compare-and-set and the machine ignores a deadline that is no longer due.
 * A write that leaves a deadline unchanged leaves its entry (and any lease) alone.
 *
 * Listing indexes (lib/records/listing.ts `indexesOf`) hold call positions scored by
 * start time: every call, per device, per household, per resident rung, the active
 * calls, and the ended calls per end reason.
 */
export interface CallStore {
  /**
   * Stores a new call and claims its device in the same step; null when stored.
   * When the session carries a `request_id` that its device already used for a
   * call still kept, nothing is stored and that call's id is returned: a retry.
   * Throws IntercomError `device_busy` when the device already has an active call.
   */
  create (session: CallSession): Promise<string | null>

  /** The call a device's `request_id` started, while that call is kept; else null. */
  callOfRequest (deviceId: string, requestId: string): Promise<string | null>

  /** The session, or null when unknown or past its retention. */
  get (callId: string): Promise<CallSession | null>

  /**
   * Writes `next` only if the stored session still has `version === expectedVersion`;
   * `next.version` must be `expectedVersion + 1` (the machine does this). False when
   * another write came first or the call is gone: re-read and run the machine again.
   * When `next` is ended, the session expires after the store's retention.
   */
  compareAndSet (next: CallSession, expectedVersion: number): Promise<boolean>

  activeCallOfDevice (deviceId: string): Promise<string | null>

  /** Those of `residentIds` who are in a connected call now. */
  connectedResidents (residentIds: string[]): Promise<Set<string>>

  /** The calls in which this resident's leg rings now. */
  ringingCallsOfResident (residentId: string): Promise<string[]>

  /** Up to `limit` timers due at `now`, earliest first, each leased until `now + leaseMs`. */
  claimDueTimers (now: number, leaseMs: number, limit: number): Promise<DueTimer[]>

  /** The earliest timer score (deadline or lease end), for a local wake-up; null when none. */
  nextDeadline (): Promise<number | null>

  /**
   * One page of calls, newest first. Each page examines at most the store's scan
   * limit of index entries, so a rare filter may give a short (even empty) page
   * with a `next` position: the listing is complete only when `next` is null.
   */
  list (query: CallListQuery): Promise<CallListPage>

  close (): Promise<void>
}

/** Index entries one listing page may examine, whatever its filters. */
export const LIST_SCAN_LIMIT = 1000

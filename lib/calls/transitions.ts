import type { CallStatus, ClientAction } from './session'

/**
 * THE transition table (CONTRACT §6): for each call status, what each kind of
 * actor may do. Every pair has an explicit verdict; nothing is left to a default.
 *
 * - `apply(rule)`: the rule in `machine.ts` runs (it may still refuse, e.g. a
 *   resident who is not the answerer).
 * - `refuse(hint)`: 409 `invalid_transition`; the hint tells the client what to do.
 * - `ignore(why)`: a server-side input that no longer matters (stale timer,
 *   presence on an ended call); success, nothing changes.
 *
 * Checked before the table: rights (403) and same-actor repeats (success, no change).
 */

export type Rule =
  | 'answer' // first answer wins, other ringing targets are cancelled
  | 'decline' // the resident's leg ends; the call ends when no leg rings any more
  | 'cancel' // the device gives up while ringing
  | 'hang_up' // the device or the answerer ends a connected call
  | 'unlock' // command to the door; the call stays connected
  | 'force_end' // end-session by an operator
  | 'ring_timeout'
  | 'max_duration'
  | 'end_device_offline' // the device left while ringing, or its grace ran out
  | 'start_offline_grace' // the device left during a connected call
  | 'stop_offline_grace' // the device came back in time

/** What the server itself feeds the machine. */
export type SystemInput =
  | 'end'
  | 'ring_timer'
  | 'max_duration_timer'
  | 'device_offline_timer'
  | 'device_offline'
  | 'device_online'

export type Verdict =
  | { readonly kind: 'apply', readonly rule: Rule }
  | { readonly kind: 'refuse', readonly hint: string }
  | { readonly kind: 'ignore', readonly why: string }

export interface StatusRow {
  readonly device: Readonly<Record<ClientAction, Verdict>>
  readonly resident: Readonly<Record<ClientAction, Verdict>>
  readonly system: Readonly<Record<SystemInput, Verdict>>
}

const apply = (rule: Rule): Verdict => ({ kind: 'apply', rule })
const refuse = (hint: string): Verdict => ({ kind: 'refuse', hint })
const ignore = (why: string): Verdict => ({ kind: 'ignore', why })

const NOT_A_DEVICE_ACTION = refuse('a device may only send cancelled (while ringing) or hangup')
const NOT_A_RESIDENT_ACTION = refuse('a resident may send answered, rejected, timeout, hangup or unlock, not cancelled')
const ENDED = refuse('start a new call')

export const TRANSITIONS: Readonly<Record<CallStatus, StatusRow>> = {
  ringing: {
    device: {
      cancelled: apply('cancel'),
      hangup: apply('cancel'), // a door panel has one button: hangup while ringing cancels
      answered: NOT_A_DEVICE_ACTION,
      rejected: NOT_A_DEVICE_ACTION,
      timeout: NOT_A_DEVICE_ACTION,
      unlock: NOT_A_DEVICE_ACTION
    },
    resident: {
      answered: apply('answer'),
      rejected: apply('decline'),
      timeout: apply('decline'), // its own ring gave up: counts as its rejection
      hangup: refuse('use rejected to decline a ringing call'),
      unlock: refuse('answer the call before unlocking'),
      cancelled: NOT_A_RESIDENT_ACTION
    },
    system: {
      end: apply('force_end'),
      ring_timer: apply('ring_timeout'),
      max_duration_timer: ignore('not connected yet'),
      device_offline_timer: ignore('no grace runs while ringing'),
      device_offline: apply('end_device_offline'),
      device_online: ignore('the device is already in the call')
    }
  },
  connected: {
    device: {
      hangup: apply('hang_up'),
      cancelled: refuse('the call is answered: use hangup'),
      answered: NOT_A_DEVICE_ACTION,
      rejected: NOT_A_DEVICE_ACTION,
      timeout: NOT_A_DEVICE_ACTION,
      unlock: NOT_A_DEVICE_ACTION
    },
    resident: {
      hangup: apply('hang_up'),
      unlock: apply('unlock'),
      answered: refuse('another resident answered first'),
      rejected: refuse('the call is answered: use hangup'),
      timeout: refuse('the call is answered: use hangup'),
      cancelled: NOT_A_RESIDENT_ACTION
    },
    system: {
      end: apply('force_end'),
      ring_timer: ignore('already answered'),
      max_duration_timer: apply('max_duration'),
      device_offline_timer: apply('end_device_offline'),
      device_offline: apply('start_offline_grace'),
      device_online: apply('stop_offline_grace')
    }
  },
  ended: {
    device: {
      cancelled: ENDED,
      hangup: ENDED,
      answered: ENDED,
      rejected: ENDED,
      timeout: ENDED,
      unlock: ENDED
    },
    resident: {
      answered: ENDED,
      rejected: ENDED,
      timeout: ENDED,
      hangup: ENDED,
      unlock: ENDED,
      cancelled: ENDED
    },
    system: {
      end: ignore('end-session is idempotent'),
      ring_timer: ignore('already ended'),
      max_duration_timer: ignore('already ended'),
      device_offline_timer: ignore('already ended'),
      device_offline: ignore('already ended'),
      device_online: ignore('already ended')
    }
  }
}

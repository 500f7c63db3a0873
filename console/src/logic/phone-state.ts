import type { ControlMessage, InviteMessage, MediaCredentials } from './wire'

/**
 * The softphone's view of its call, changed only by what the server sends.
 * A message is applied only when its `seq` is above the last one seen for that
 * call; an invite delivered after its `expires_at` is ignored, so a queued
 * invite cannot ring a phone for a call that is already over.
 */
export interface PhoneCall {
  call_id: string
  /** `ringing`, `connected` or `ended`. */
  status: string
  /** The last action heard for the call. */
  action: string
  reason: string | null
  seq: number
  device_device_id: string
  household_number: string | null
  /** Who answered. */
  resident_id: string | null
  credentials: MediaCredentials
  /** How many times the door was told to open during this call. */
  unlocks: number
  /** Set by `ending_soon` (and moved by `extend`): the call ends with max_duration then. */
  endsAt: number | null
  /** What the door reported about the latest unlock. */
  unlockResult: { ok: boolean, door: string | null } | null
}

export interface PhoneState {
  call: PhoneCall | null
  /** Highest seq seen per call id. */
  seen: ReadonlyMap<string, number>
}

export type Verdict =
  | { applied: true, phone: PhoneState }
  | { applied: false, phone: PhoneState, why: string }

/** Call ids whose seq is remembered. */
export const MAX_SEEN_CALLS = 500

export const idlePhone: PhoneState = { call: null, seen: new Map() }

function credentialsOf (message: MediaCredentials): MediaCredentials {
  return {
    ...(message.tencen_rtc === undefined ? {} : { tencen_rtc: message.tencen_rtc }),
    ...(message.rtc === undefined ? {} : { rtc: message.rtc })
  }
}

function remember (seen: ReadonlyMap<string, number>, callId: string, seq: number): Map<string, number> {
  const next = new Map(seen)
  next.delete(callId)
  next.set(callId, seq)
  if (next.size > MAX_SEEN_CALLS) next.delete(next.keys().next().value as string)
  return next
}

function staleness (phone: PhoneState, callId: string, seq: number): string | null {
  const last = phone.seen.get(callId)
  return last !== undefined && seq <= last ? `stale: seq ${seq} is not above ${last}` : null
}

/** `users/R/calls/incoming`. A connected call is not replaced by another call's invite. */
export function receiveInvite (phone: PhoneState, invite: InviteMessage, now: number): Verdict {
  if (now > invite.expires_at) return { applied: false, phone, why: 'expired: the invite arrived after expires_at' }
  const stale = staleness(phone, invite.call_id, invite.seq)
  if (stale !== null) return { applied: false, phone, why: stale }
  if (phone.call !== null && phone.call.status === 'connected' && phone.call.call_id !== invite.call_id) {
    return { applied: false, phone: { ...phone, seen: remember(phone.seen, invite.call_id, invite.seq) }, why: 'already in a connected call' }
  }
  return {
    applied: true,
    phone: {
      seen: remember(phone.seen, invite.call_id, invite.seq),
      call: {
        call_id: invite.call_id,
        status: 'ringing',
        action: 'ringing',
        reason: null,
        seq: invite.seq,
        device_device_id: invite.device_device_id,
        household_number: invite.household_number,
        resident_id: null,
        credentials: credentialsOf(invite),
        unlocks: 0,
        endsAt: null,
        unlockResult: null
      }
    }
  }
}

/** `.../calls/control`. A device's `ringing` carries the whole session and starts its call. */
export function receiveControl (phone: PhoneState, message: ControlMessage): Verdict {
  const stale = staleness(phone, message.call_id, message.seq)
  if (stale !== null) return { applied: false, phone, why: stale }
  const seen = remember(phone.seen, message.call_id, message.seq)
  if (message.session !== undefined) {
    const session = message.session
    return {
      applied: true,
      phone: {
        seen,
        call: {
          call_id: message.call_id,
          status: message.status,
          action: message.action,
          reason: message.reason,
          seq: message.seq,
          device_device_id: session.device_device_id,
          household_number: session.household_number,
          resident_id: session.resident_id,
          credentials: credentialsOf(message),
          unlocks: 0,
          endsAt: null,
          unlockResult: null
        }
      }
    }
  }
  const call = phone.call
  if (call === null || call.call_id !== message.call_id) return { applied: false, phone: { ...phone, seen }, why: 'not the call on this phone' }
  return {
    applied: true,
    phone: {
      seen,
      call: {
        ...call,
        status: message.status,
        action: message.action,
        reason: message.reason,
        seq: message.seq,
        resident_id: message.resident_id ?? call.resident_id,
        unlocks: call.unlocks + (message.action === 'unlock' ? 1 : 0),
        endsAt: message.ends_at ?? call.endsAt,
        unlockResult: message.action === 'unlock_result' ? { ok: message.ok === true, door: message.door ?? null } : call.unlockResult
      }
    }
  }
}

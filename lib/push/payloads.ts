import { createHash } from 'node:crypto'

/** What a woken app receives; no media credentials: it fetches the session once awake. */
export interface IncomingPush {
  type: 'call.incoming'
  call_id: string
  device_device_id: string
  household_number: string | null
  expires_at: number
  seq: number
}

export interface CancelledPush {
  type: 'call.cancelled'
  call_id: string
  reason: string
  seq: number
}

export type PushPayload = IncomingPush | CancelledPush

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const INVITE = /^users\/([^/]+)\/calls\/incoming$/
const CONTROL = /^users\/([^/]+)\/calls\/control$/

/** What a server publish means for pushes (pure). */
export type PushCue =
  | { kind: 'invite', residentId: string, push: IncomingPush }
  /** The resident's ring stopped; `reason` null when the resident acted itself (nothing to push). */
  | { kind: 'ring_over', residentId: string, callId: string, reason: string | null, seq: number }

/** Control actions that stop a ringing leg without its resident (answered: by another one). */
const STOPS_RINGING: ReadonlySet<string> = new Set(['answered', 'cancelled', 'timeout', 'device_offline', 'forced', 'rejected'])

export function pushCueOf (topic: string, message: unknown): PushCue | null {
  if (!isObject(message) || typeof message.call_id !== 'string') return null
  const invitee = INVITE.exec(topic)?.[1]
  if (invitee !== undefined) {
    return {
      kind: 'invite',
      residentId: invitee,
      push: {
        type: 'call.incoming',
        call_id: message.call_id,
        device_device_id: String(message.device_device_id),
        household_number: typeof message.household_number === 'string' ? message.household_number : null,
        expires_at: Number(message.expires_at),
        seq: Number(message.seq)
      }
    }
  }
  const controlled = CONTROL.exec(topic)?.[1]
  if (controlled === undefined || !STOPS_RINGING.has(String(message.action))) return null
  const own = message.resident_id === controlled
  const elsewhere = message.action === 'answered' || message.reason === 'answered_elsewhere'
  return {
    kind: 'ring_over',
    residentId: controlled,
    callId: message.call_id,
    reason: own ? null : elsewhere ? 'answered_elsewhere' : String(message.reason ?? message.action),
    seq: Number(message.seq)
  }
}

/** Web Push `Topic` (at most 32 base64url characters): one per call, so a newer push replaces an older one. */
export function topicOf (callId: string): string {
  return createHash('sha256').update(callId).digest('base64url').slice(0, 32)
}

import { IntercomError } from '../errors'
import type { Identity } from '../identity'
import { UNRUNG_LEG_STATES, type CallSession, type Leg } from './session'

/**
 * Who may start, act as, read and end a call: pure predicates over an identity
 * and a session. The machine's guards use them too, so a right is decided once.
 */

/** The device or resident an action is taken for. */
export interface Party {
  kind: 'device' | 'resident'
  id: string
}

export type Side = 'device' | 'resident'

/** A device starts calls only for itself; a service for any device. */
export function mayStart (actor: Identity, deviceId: string): boolean {
  return actor.kind === 'service' || (actor.kind === 'device' && actor.id === deviceId)
}

export function assertMayStart (actor: Identity, deviceId: string): void {
  if (!mayStart(actor, deviceId)) {
    throw new IntercomError('forbidden', `${actor.name} may not start a call for device ${deviceId}; a device calls only for itself`)
  }
}

/**
 * The party a request acts as: a device or resident for itself, a service for
 * the call's device or for the resident it names. Whether that party may take
 * the action on this call is the machine's business.
 */
export function partyOf (actor: Identity, side: Side, namedResident: string | undefined, session: CallSession): Party {
  if (side === 'device') {
    if (actor.kind === 'device') return { kind: 'device', id: actor.id }
    if (actor.kind === 'service') return { kind: 'device', id: session.device_device_id }
    throw new IntercomError('forbidden', `${actor.name} may not act as a device`)
  }
  if (actor.kind === 'resident') {
    if (namedResident !== undefined && namedResident !== actor.id) {
      throw new IntercomError('forbidden', `resident/${actor.id} may not act for resident ${namedResident}`)
    }
    return { kind: 'resident', id: actor.id }
  }
  if (actor.kind === 'service') {
    if (namedResident === undefined) {
      throw new IntercomError('invalid_request', 'call_info.resident_id is required when a service acts for a resident')
    }
    return { kind: 'resident', id: namedResident }
  }
  throw new IntercomError('forbidden', `${actor.name} may not act as a resident`)
}

function legOf (session: CallSession, residentId: string): Leg | undefined {
  return session.legs.find((leg) => leg.resident_id === residentId)
}

/** A leg that is still in the call: ringing, or the answerer's (which stays `answered` after the end). */
function liveLeg (session: CallSession, residentId: string): boolean {
  const state = legOf(session, residentId)?.state
  return state === 'ringing' || state === 'answered'
}

/** The call rang this resident at some point: it has a leg that is not `busy` or `dnd`. */
export function wasRung (session: CallSession, residentId: string): boolean {
  const leg = legOf(session, residentId)
  return leg !== undefined && !UNRUNG_LEG_STATES.includes(leg.state)
}

/**
 * A service, the call's device, or a resident the call rang. A resident whose leg
 * ended still reads the outcome; a busy or DND resident was never part of the call.
 */
export function mayRead (actor: Identity, session: CallSession): boolean {
  if (actor.kind === 'service') return true
  if (actor.kind === 'device') return actor.id === session.device_device_id
  return actor.kind === 'resident' && wasRung(session, actor.id)
}

/** Media credentials for the call's room: its device, and a resident whose leg is live. */
export function mayJoinMedia (actor: Identity, session: CallSession): boolean {
  if (actor.kind === 'device') return actor.id === session.device_device_id
  return actor.kind === 'resident' && liveLeg(session, actor.id)
}

/** End-session: a service, the call's device, or a resident whose leg is live. */
export function mayEnd (actor: Identity, session: CallSession): boolean {
  if (actor.kind === 'service') return true
  if (actor.kind === 'device') return actor.id === session.device_device_id
  return actor.kind === 'resident' && liveLeg(session, actor.id)
}

export function assertMayRead (actor: Identity, session: CallSession): void {
  if (!mayRead(actor, session)) throw new IntercomError('forbidden', `${actor.name} is not a party of call ${session.call_id}`)
}

/** Media of a call: readers without a live leg are told why they get none. */
export function assertMayJoinMedia (actor: Identity, session: CallSession): void {
  assertMayRead(actor, session)
  if (actor.kind !== 'service' && !mayJoinMedia(actor, session)) {
    throw new IntercomError('forbidden', `${actor.name} is no longer in call ${session.call_id}: its leg ended`)
  }
}

import type { CallCredentials } from '../credentials'
import { identity, type Identity } from '../identity'
import { topics } from '../topics/names'
import type { ControlEffect, Effect, EventEffect } from './effects'
import type { CallSession } from './session'
import { summaryOf, viewOf } from './view'

/**
 * Effects as MQTT messages, built from the session after the transition: pure,
 * so the shell only publishes. Media credentials come from `credentialsOf`,
 * asked only for recipients that get them.
 */

export interface Message {
  topic: string
  payload: Record<string, unknown>
}

export function render (session: CallSession, effects: readonly Effect[], now: number, credentialsOf: (who: Identity) => CallCredentials | null): Message[] {
  return effects.map((effect) => messageOf(session, effect, now, credentialsOf))
}

function messageOf (session: CallSession, effect: Effect, now: number, credentialsOf: (who: Identity) => CallCredentials | null): Message {
  if (effect.type === 'invite') {
    return { topic: topics.invite(effect.residentId), payload: inviteMessage(session, effect.residentId, credentialsOf(identity('resident', effect.residentId))) }
  }
  if (effect.type === 'event') return { topic: topics.callEvents(session.call_id), payload: eventMessage(session, effect, now) }
  const { to } = effect
  const credentials = effect.withSession === true ? credentialsOf(identity(to.kind, to.id)) : null
  const topic = to.kind === 'device' ? topics.deviceControl(to.id) : topics.residentControl(to.id)
  return { topic, payload: controlMessage(session, effect, now, credentials) }
}

/** `users/R/calls/incoming`: the invite, with R's own credentials and the moment it goes stale (the end of R's turn in a sequential ring). */
export function inviteMessage (session: CallSession, residentId: string, credentials: CallCredentials | null) {
  return {
    call_id: session.call_id,
    provider: session.provider,
    device_device_id: session.device_device_id,
    target_resident_id: residentId,
    target_resident_ids: session.target_resident_ids,
    household_number: session.household_number,
    timestamp: session.start_time,
    expires_at: session.deadlines.next_resident ?? session.deadlines.ring ?? session.start_time,
    seq: session.seq,
    call_info: session.call_info,
    ...credentials
  }
}

/** `.../calls/control`; the device's `ringing` also carries the session and its credentials. */
export function controlMessage (session: CallSession, effect: ControlEffect, now: number, credentials: CallCredentials | null) {
  return {
    action: effect.action,
    call_id: session.call_id,
    status: session.status,
    reason: effect.reason,
    ...(effect.residentId === undefined ? {} : { resident_id: effect.residentId }),
    ...(effect.endsAt === undefined ? {} : { ends_at: effect.endsAt }),
    ...effect.result,
    timestamp: now,
    seq: session.seq,
    ...(effect.withSession === true ? { session: viewOf(session, credentials), ...credentials } : {})
  }
}

/** `calls/<call_id>/events`: the transition, with the session summed up (no history: bounded size). */
export function eventMessage (session: CallSession, effect: EventEffect, now: number) {
  return {
    call_id: session.call_id,
    action: effect.action,
    actor: effect.actor,
    reason: effect.reason,
    ...effect.result,
    status: session.status,
    timestamp: now,
    seq: session.seq,
    session: summaryOf(session)
  }
}

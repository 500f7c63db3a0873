import { Type, type Static } from 'typebox'
import type { CallCredentials } from '../credentials'
import { RtcSchema, TencentRtcSchema } from '../credentials/provider'
import type { ControlEffect, EventEffect } from './effects'
import { CallSessionSchema, type CallSession } from './session'

/**
 * What goes on the wire, built from a stored session: pure functions, so the
 * shell only decides where each message goes.
 */

const { version: _version, deadlines: _deadlines, ...wireProperties } = CallSessionSchema.properties

/** The session as clients see it: no store bookkeeping, plus the reader's own media credentials. */
export const CallViewSchema = Type.Object({
  ...wireProperties,
  tencen_rtc: Type.Optional(TencentRtcSchema),
  rtc: Type.Optional(RtcSchema)
})

export type CallView = Static<typeof CallViewSchema>

export function viewOf (session: CallSession, credentials: CallCredentials | null): CallView {
  const { version: _version, deadlines: _deadlines, ...wire } = session
  return credentials === null ? wire : { ...wire, ...credentials }
}

/** `users/R/calls/incoming`: the invite, with R's own credentials and the moment it goes stale. */
export function inviteMessage (session: CallSession, residentId: string, credentials: CallCredentials | null) {
  return {
    call_id: session.call_id,
    provider: session.provider,
    device_device_id: session.device_device_id,
    target_resident_id: residentId,
    target_resident_ids: session.target_resident_ids,
    household_number: session.household_number,
    timestamp: session.start_time,
    expires_at: session.deadlines.ring ?? session.start_time,
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
    timestamp: now,
    seq: session.seq,
    ...(effect.withSession === true ? { session: viewOf(session, credentials), ...credentials } : {})
  }
}

/** `calls/<call_id>/events`: every transition with the session after it. */
export function eventMessage (session: CallSession, effect: EventEffect, now: number) {
  return {
    call_id: session.call_id,
    action: effect.action,
    actor: effect.actor,
    reason: effect.reason,
    status: session.status,
    timestamp: now,
    seq: session.seq,
    session: viewOf(session, null)
  }
}

import { UNRUNG_LEG_STATES, type CallSession } from '../calls/session'

/**
 * A call a resident missed: it ended without anyone answering, and that
 * resident's own leg did not reject it (it timed out, or the door cancelled).
 * A call answered by another resident of the flat is not missed.
 */
export function isMissedBy (session: CallSession, residentId: string): boolean {
  if (session.status !== 'ended' || session.answer_time !== null) return false
  const leg = session.legs.find((l) => l.resident_id === residentId)
  return leg !== undefined && leg.state !== 'rejected' && !UNRUNG_LEG_STATES.includes(leg.state)
}

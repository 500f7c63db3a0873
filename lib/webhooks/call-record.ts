import { UNRUNG_LEG_STATES } from '../calls/session'
import type { CallView } from '../calls/view'

/** A leg's own end of ringing: the resident answered, rejected or gave up itself. */
const OWN_LEG_ACTIONS: ReadonlySet<string> = new Set(['answered', 'rejected', 'timeout'])

export interface LegRecord {
  resident_id: string
  /** The leg's final state: answered, rejected, timeout, cancelled (stopped by someone else), busy or dnd. */
  outcome: string
  /** How long this leg rang (0 for a busy or DND resident). */
  ring_ms: number
  /** When the resident itself acted on the ring, else null. */
  acted_at: number | null
}

export interface CallRecord {
  end_reason: string | null
  ended_by: string | null
  answered_by: string | null
  start_time: number
  answer_time: number | null
  end_time: number
  ring_ms: number
  talk_ms: number
  total_ms: number
  legs: LegRecord[]
}

/**
 * The call detail record of an ended call, from its final session (pure). The events
 * topic carries the session without its history: then a leg's own action time is unknown.
 */
export function callRecordOf (session: Omit<CallView, 'history'> & Partial<Pick<CallView, 'history'>>): CallRecord {
  const endTime = session.end_time ?? session.last_activity
  const start = session.start_time
  const answer = session.answer_time
  const legs = session.legs.map((leg): LegRecord => {
    const own = (session.history ?? []).find((h) => h.actor === `resident/${leg.resident_id}` && OWN_LEG_ACTIONS.has(h.action))
    const actedAt = own?.timestamp ?? null
    const stoppedAt = UNRUNG_LEG_STATES.includes(leg.state) ? start : actedAt ?? answer ?? endTime
    return { resident_id: leg.resident_id, outcome: leg.state, ring_ms: Math.max(0, stoppedAt - start), acted_at: actedAt }
  })
  return {
    end_reason: session.end_reason,
    ended_by: session.ended_by,
    answered_by: session.resident_id,
    start_time: start,
    answer_time: answer,
    end_time: endTime,
    ring_ms: Math.max(0, (answer ?? endTime) - start),
    talk_ms: answer === null ? 0 : Math.max(0, endTime - answer),
    total_ms: Math.max(0, endTime - start),
    legs
  }
}

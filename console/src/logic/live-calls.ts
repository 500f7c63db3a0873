import type { CallEvent, CallView } from './wire'

/**
 * Calls in progress as seen by an operator, built only from what arrives:
 * `calls/+/events` messages and, once at start, the calls the node lists as
 * ringing or connected. A message whose `seq` is not above the last one seen
 * for its call is stale and changes nothing.
 */
export interface LiveCalls {
  /** By call id, in the order they started. */
  active: ReadonlyMap<string, CallView>
  /** Calls that ended while watching, newest first. */
  ended: readonly CallView[]
  /** Highest seq seen per call, so that a late event cannot resurrect an ended call. */
  seen: ReadonlyMap<string, number>
}

/** Ended calls kept in memory; older ones are in the call log. */
export const MAX_ENDED = 200
/** Calls whose seq is remembered; a page open for days must not grow without bound. */
export const MAX_SEEN = 5000

export const emptyLiveCalls: LiveCalls = { active: new Map(), ended: [], seen: new Map() }

/** Applies one call session, from an event or a listing; stale sessions are ignored. */
export function applySession (state: LiveCalls, session: CallView): LiveCalls {
  const last = state.seen.get(session.call_id)
  if (last !== undefined && session.seq <= last) return state
  const seen = new Map(state.seen)
  seen.delete(session.call_id)
  seen.set(session.call_id, session.seq)
  if (seen.size > MAX_SEEN) seen.delete(seen.keys().next().value as string)
  const active = new Map(state.active)
  if (session.status === 'ended') {
    active.delete(session.call_id)
    const ended = [session, ...state.ended.filter((c) => c.call_id !== session.call_id)].slice(0, MAX_ENDED)
    return { active, ended, seen }
  }
  active.set(session.call_id, session)
  return { active, ended: state.ended, seen }
}

export function applyEvent (state: LiveCalls, event: CallEvent): LiveCalls {
  return applySession(state, event.session)
}

/** Whole seconds from `from` to `now`, as `m:ss` or `h:mm:ss`. */
export function elapsed (from: number, now: number): string {
  const total = Math.max(0, Math.floor((now - from) / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

import type { CallAction, UnlockResult } from './session'

/** What a transition asks the shell to do, as data. The shell fills payloads from the new session. */

export interface ControlTarget {
  kind: 'device' | 'resident'
  id: string
}

/** `users/R/calls/incoming` for a ringing leg. */
export interface InviteEffect {
  type: 'invite'
  residentId: string
}

/** `.../calls/control`; `withSession` asks for the whole session and the recipient's media credentials. */
export interface ControlEffect {
  type: 'control'
  to: ControlTarget
  action: CallAction
  reason: string | null
  residentId?: string
  withSession?: true
  /** `ending_soon`, `extend`: when max_duration ends the call now. */
  endsAt?: number
  /** `unlock_result`: what the door reported. */
  result?: UnlockResult
}

/** `calls/<call_id>/events`: the transition, with a summary of the session after it. */
export interface EventEffect {
  type: 'event'
  action: CallAction
  actor: string
  reason: string | null
  result?: UnlockResult
}

export type Effect = InviteEffect | ControlEffect | EventEffect

import { IntercomError } from '../errors'
import { identity } from '../identity'
import type { ControlEffect, ControlTarget, Effect } from './effects'
import type { CallAction, CallSession, ClientAction, EndReason, Leg, Provider, TimerName } from './session'
import { TIMERS } from './session'
import { TRANSITIONS, type Rule, type SystemInput, type Verdict } from './transitions'

/**
 * The call state machine: pure functions from (session, event, now) to the next
 * session and the effects the shell must carry out. No I/O, no clock.
 */

export interface MachineOptions {
  ringTimeoutMs: number
  maxCallMs: number
  offlineGraceMs: number
}

export interface StartParams {
  callId: string
  provider: Provider
  deviceId: string
  /** Every resident to ring, in ring order. */
  targets: string[]
  /** The targets already in a connected call: they get a `busy` leg and no invite. */
  busy: string[]
  householdNumber: string | null
  reason?: string | null
  timestamp?: number
}

export interface ActionEvent {
  type: 'action'
  actor: { kind: 'device' | 'resident', id: string }
  action: ClientAction
  reason?: string | null
  /** The client's own timestamp, echoed in `call_info`. */
  timestamp?: number
}

/** End-session by `by` (an identity name). */
export interface EndEvent {
  type: 'end'
  by: string
  reason?: string | null
}

/** A deadline came due; stale ones are harmless. */
export interface TimerEvent {
  type: 'timer'
  timer: TimerName
}

export interface PresenceEvent {
  type: 'device_presence'
  online: boolean
}

export type CallEvent = ActionEvent | EndEvent | TimerEvent | PresenceEvent

export type StartResult =
  | { ok: true, session: CallSession, effects: Effect[] }
  | { ok: false, error: IntercomError }

export type TransitionResult =
  | { ok: true, session: CallSession, effects: Effect[], changed: boolean }
  | { ok: false, error: IntercomError }

const SYSTEM = 'system'

export function startCall (params: StartParams, now: number, options: MachineOptions): StartResult {
  const { callId, deviceId, targets, busy } = params
  if (targets.length === 0) {
    return fail('no_residents', `Device ${deviceId} has no resident to ring: add residents to its households in the directory.`)
  }
  const legs: Leg[] = targets.map(r => ({ resident_id: r, state: busy.includes(r) ? 'busy' : 'ringing' }))
  if (!legs.some(l => l.state === 'ringing')) {
    return fail('residents_busy', 'Every resident to ring is already in a call: try again later.')
  }
  const actor = identity('device', deviceId).name
  const reason = params.reason ?? null
  const ring = now + options.ringTimeoutMs
  const session: CallSession = {
    call_id: callId,
    status: 'ringing',
    provider: params.provider,
    device_device_id: deviceId,
    target_resident_ids: [...targets],
    resident_id: null,
    household_number: params.householdNumber,
    start_time: now,
    answer_time: null,
    end_time: null,
    end_reason: null,
    last_activity: now,
    call_info: { call_id: callId, action: 'ringing', reason, timestamp: params.timestamp ?? now },
    history: [{ action: 'ringing', actor, reason, timestamp: now, seq: 1 }],
    legs,
    ended_by: null,
    seq: 1,
    version: 1,
    deadlines: { ring, max_duration: null, device_offline: null }
  }
  const effects: Effect[] = [
    control(device(session), 'ringing', reason, { withSession: true }),
    ...legs.filter(l => l.state === 'ringing').map((l): Effect => ({ type: 'invite', residentId: l.resident_id })),
    { type: 'event', action: 'ringing', actor, reason },
    { type: 'set_timer', timer: 'ring', at: ring }
  ]
  return { ok: true, session, effects }
}

export function transition (session: CallSession, event: CallEvent, now: number, options: MachineOptions): TransitionResult {
  switch (event.type) {
    case 'action':
      return onAction(session, event, now, options)
    case 'end':
      return decide(session, 'end', { actor: event.by, residentId: null, action: 'forced', reason: event.reason ?? null, timestamp: now }, now, options)
    case 'timer': {
      const due = session.deadlines[event.timer]
      if (due === null || due > now) return unchanged(session)
      return decide(session, `${event.timer}_timer`, systemStep(TIMER_ACTION[event.timer], now), now, options)
    }
    case 'device_presence':
      return decide(session, event.online ? 'device_online' : 'device_offline', systemStep('device_offline', now), now, options)
  }
}

const TIMER_ACTION: Record<TimerName, CallAction> = { ring: 'timeout', max_duration: 'max_duration', device_offline: 'device_offline' }

/** Who did what, as `history` and `call_info` will record it. */
interface Step {
  actor: string
  /** The acting resident, when a resident acts. */
  residentId: string | null
  action: CallAction
  reason: string | null
  timestamp: number
}

function systemStep (action: CallAction, now: number): Step {
  return { actor: SYSTEM, residentId: null, action, reason: null, timestamp: now }
}

function onAction (session: CallSession, event: ActionEvent, now: number, options: MachineOptions): TransitionResult {
  const { kind, id } = event.actor
  const actor = identity(kind, id).name
  if (kind === 'device' && id !== session.device_device_id) {
    return fail('forbidden', `Device ${id} is not the caller of call ${session.call_id}.`)
  }
  if (kind === 'resident') {
    const leg = session.legs.find(l => l.resident_id === id)
    if (leg === undefined || leg.state === 'busy') {
      return fail('forbidden', `Call ${session.call_id} never rang resident ${id}.`)
    }
  }
  // Unlock is a command, not a state: repeating it unlocks again.
  if (event.action !== 'unlock' && session.history.some(h => h.actor === actor && h.action === event.action)) {
    return unchanged(session)
  }
  const step: Step = {
    actor,
    residentId: kind === 'resident' ? id : null,
    action: event.action,
    reason: event.reason ?? null,
    timestamp: event.timestamp ?? now
  }
  return apply(session, TRANSITIONS[session.status][kind][event.action], step, now, options)
}

function decide (session: CallSession, input: SystemInput, step: Step, now: number, options: MachineOptions): TransitionResult {
  return apply(session, TRANSITIONS[session.status].system[input], step, now, options)
}

function apply (session: CallSession, verdict: Verdict, step: Step, now: number, options: MachineOptions): TransitionResult {
  if (verdict.kind === 'ignore') return unchanged(session)
  if (verdict.kind === 'refuse') return refusal(session, verdict.hint)
  const draft = structuredClone(session)
  const outcome = RULES[verdict.rule](draft, step, now, options)
  if ('refuse' in outcome) return refusal(session, outcome.refuse)
  if ('noop' in outcome) return unchanged(session)
  draft.version += 1
  if (!outcome.transition) return { ok: true, session: draft, effects: outcome.timers, changed: true }
  draft.seq += 1
  draft.last_activity = now
  draft.call_info = { call_id: draft.call_id, action: step.action, reason: step.reason, timestamp: step.timestamp }
  draft.history.push({ action: step.action, actor: step.actor, reason: step.reason, timestamp: now, seq: draft.seq })
  const event: Effect = { type: 'event', action: step.action, actor: step.actor, reason: step.reason }
  return { ok: true, session: draft, effects: [...outcome.messages, event, ...outcome.timers], changed: true }
}

/**
 * A rule mutates the draft (a private copy) and says what to send. `transition: false`
 * is a stored change that is no call transition (no seq, no message), e.g. the
 * offline grace starting.
 */
type Outcome =
  | { refuse: string }
  | { noop: true }
  | { transition: boolean, messages: Effect[], timers: Effect[] }

type RuleFn = (s: CallSession, step: Step, now: number, options: MachineOptions) => Outcome

const RULES: Record<Rule, RuleFn> = {
  answer (s, step, now, options) {
    const me = step.residentId as string
    const leg = legOf(s, me)
    if (leg.state !== 'ringing') return { refuse: `resident ${me} already sent ${leg.state}` }
    const others = ringingLegs(s).filter(l => l !== leg)
    s.status = 'connected'
    s.resident_id = me
    s.answer_time = now
    leg.state = 'answered'
    for (const l of others) l.state = 'cancelled'
    const messages: Effect[] = [control(device(s), 'answered', step.reason, { residentId: me })]
    for (const l of s.legs) {
      if (l === leg) messages.push(control(resident(me), 'answered', step.reason, { residentId: me }))
      if (others.includes(l)) messages.push(control(resident(l.resident_id), 'cancelled', 'answered_elsewhere', { residentId: me }))
    }
    s.deadlines.ring = null
    s.deadlines.max_duration = now + options.maxCallMs
    return {
      transition: true,
      messages,
      timers: [{ type: 'clear_timer', timer: 'ring' }, { type: 'set_timer', timer: 'max_duration', at: s.deadlines.max_duration }]
    }
  },

  decline (s, step, now) {
    const me = step.residentId as string
    const leg = legOf(s, me)
    if (leg.state !== 'ringing') return { refuse: `resident ${me} already sent ${leg.state}` }
    leg.state = step.action === 'timeout' ? 'timeout' : 'rejected'
    const messages = [
      control(device(s), step.action, step.reason, { residentId: me }),
      control(resident(me), step.action, step.reason, { residentId: me })
    ]
    if (ringingLegs(s).length > 0) return { transition: true, messages, timers: [] }
    const reason: EndReason = s.legs.some(l => l.state === 'rejected') ? 'rejected' : 'timeout'
    return { transition: true, messages, timers: end(s, reason, step.actor, now) }
  },

  cancel (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, ringing, 'cancelled', step.reason)
    return { transition: true, messages, timers: end(s, 'cancelled', step.actor, now) }
  },

  hang_up (s, step, now) {
    if (step.residentId !== null && step.residentId !== s.resident_id) {
      return { refuse: `only the answering resident (${s.resident_id}) can hang up` }
    }
    const messages = notify(s, answeredLegs(s), 'hangup', step.reason, s.resident_id)
    return { transition: true, messages, timers: end(s, 'hangup', step.actor, now) }
  },

  unlock (s, step) {
    const me = step.residentId as string
    if (me !== s.resident_id) return { refuse: `only the answering resident (${s.resident_id}) can unlock` }
    return { transition: true, messages: [control(device(s), 'unlock', step.reason, { residentId: me })], timers: [] }
  },

  force_end (s, step, now) {
    const ringing = ringingLegs(s)
    const reached = s.legs.filter(l => l.state === 'ringing' || l.state === 'answered')
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, reached, 'forced', step.reason, s.resident_id)
    return { transition: true, messages, timers: end(s, 'forced', step.actor, now) }
  },

  ring_timeout (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'timeout'
    const messages = notify(s, ringing, 'timeout', null)
    return { transition: true, messages, timers: end(s, 'timeout', SYSTEM, now) }
  },

  max_duration (s, step, now) {
    const messages = notify(s, answeredLegs(s), 'max_duration', null, s.resident_id)
    return { transition: true, messages, timers: end(s, 'max_duration', SYSTEM, now) }
  },

  end_device_offline (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, [...ringing, ...answeredLegs(s)], 'device_offline', null, s.resident_id)
    return { transition: true, messages, timers: end(s, 'device_offline', SYSTEM, now) }
  },

  start_offline_grace (s, step, now, options) {
    if (s.deadlines.device_offline !== null) return { noop: true }
    s.deadlines.device_offline = now + options.offlineGraceMs
    return { transition: false, messages: [], timers: [{ type: 'set_timer', timer: 'device_offline', at: s.deadlines.device_offline }] }
  },

  stop_offline_grace (s) {
    if (s.deadlines.device_offline === null) return { noop: true }
    s.deadlines.device_offline = null
    return { transition: false, messages: [], timers: [{ type: 'clear_timer', timer: 'device_offline' }] }
  }
}

/** Ends the call and clears every deadline it had. */
function end (s: CallSession, reason: EndReason, endedBy: string, now: number): Effect[] {
  s.status = 'ended'
  s.end_reason = reason
  s.end_time = now
  s.ended_by = endedBy
  const cleared: Effect[] = []
  for (const timer of TIMERS) {
    if (s.deadlines[timer] !== null) cleared.push({ type: 'clear_timer', timer })
    s.deadlines[timer] = null
  }
  return cleared
}

/** The same control to the device, then to the given residents in target order. */
function notify (s: CallSession, legs: Leg[], action: CallAction, reason: string | null, residentId?: string | null): Effect[] {
  const extra = residentId == null ? {} : { residentId }
  return [
    control(device(s), action, reason, extra),
    ...s.legs.filter(l => legs.includes(l)).map(l => control(resident(l.resident_id), action, reason, extra))
  ]
}

function control (to: ControlTarget, action: CallAction, reason: string | null, extra: Pick<ControlEffect, 'residentId' | 'withSession'> = {}): ControlEffect {
  return { type: 'control', to, action, reason, ...extra }
}

const device = (s: CallSession): ControlTarget => ({ kind: 'device', id: s.device_device_id })
const resident = (id: string): ControlTarget => ({ kind: 'resident', id })
const ringingLegs = (s: CallSession): Leg[] => s.legs.filter(l => l.state === 'ringing')
const answeredLegs = (s: CallSession): Leg[] => s.status === 'connected' ? s.legs.filter(l => l.state === 'answered') : []

function legOf (s: CallSession, residentId: string): Leg {
  const leg = s.legs.find(l => l.resident_id === residentId)
  if (leg === undefined) throw new IntercomError('internal', `Call ${s.call_id} has no leg for resident ${residentId}.`)
  return leg
}

function unchanged (session: CallSession): TransitionResult {
  return { ok: true, session, effects: [], changed: false }
}

function refusal (s: CallSession, hint: string): TransitionResult {
  const state = s.status === 'ended' ? `ended (${s.end_reason})` : s.status
  return fail('invalid_transition', `Call ${s.call_id} is ${state}: ${hint}.`)
}

function fail (code: 'forbidden' | 'invalid_transition' | 'no_residents' | 'residents_busy', message: string): { ok: false, error: IntercomError } {
  return { ok: false, error: new IntercomError(code, message) }
}

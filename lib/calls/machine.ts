import { IntercomError } from '../errors'
import { identity, type Identity } from '../identity'
import type { Party } from './call-rights'
import type { ControlEffect, ControlTarget, Effect } from './effects'
import { GUARDS, START_GUARDS, SYSTEM_ACTOR, type Actor, type GuardContext, type StartContext } from './guards'
import type { CallAction, CallSession, ClientAction, Delivery, EndReason, HistoryEntry, Leg, Provider, TimerName, UnlockResult } from './session'
import { TIMERS } from './session'
import { START, TRANSITIONS, type Outcome, type RefusalCode, type Rule, type SystemInput, type Verdict } from './transitions'

/**
 * The call state machine: pure functions from (session, event, now) to the next
 * session and the effects the shell must carry out. No I/O, no clock. Every
 * decision is a verdict of `transitions.ts`; the rules here only apply one.
 */

export interface MachineOptions {
  ringTimeoutMs: number
  maxCallMs: number
  offlineGraceMs: number
  /** An unlock within this long of the last one is refused. */
  unlockCooldownMs: number
  /** A connected call ends `unlocked` this long after its first unlock; 0 keeps it up. */
  unlockHangupMs: number
  /** Both parties get `ending_soon` this long before max_duration; 0 or absent: no warning. */
  callWarningMs?: number
  /** How often the answerer may extend a call by `maxCallMs`; absent: never. */
  maxExtensions?: number
}

/** `history` keeps every state change, and this many of the latest repeatable commands (unlock). */
export const HISTORY_COMMANDS_KEPT = 20

export interface StartParams {
  callId: string
  provider: Provider
  deviceId: string
  /** Every resident to ring, in ring order. */
  targets: string[]
  /** The targets already in a connected call: they get a `busy` leg and no invite. */
  busy: string[]
  /** The targets in do not disturb: they get a `dnd` leg and no invite; absent: none. */
  dnd?: string[]
  /** The device's active call as the store last saw it. */
  activeCall: string | null
  householdNumber: string | null
  /** The device's own id for the request, so that a retry returns this call. */
  requestId?: string
  /** The household policy for a plain rejection; `leg` when absent. */
  onReject?: 'leg' | 'all'
  /** The targets with an open connection: their invites are `online`, the others' `queued` until a push is accepted. */
  online?: string[]
  /** Sequential ring: each resident rings this long, in target order; absent or null rings everyone at once. */
  ringStepMs?: number | null
  reason?: string | null
  timestamp?: number
}

export interface ActionEvent {
  type: 'action'
  actor: Party
  action: ClientAction
  reason?: string | null
  /** The client's own timestamp, echoed in `call_info`. */
  timestamp?: number
  /** The directory's `can_unlock` for the acting resident; true when absent. */
  canUnlock?: boolean
  /** What the door reported, with `unlock_result`. */
  result?: UnlockResult
}

/** End-session by `by`. */
export interface EndEvent {
  type: 'end'
  by: Identity
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

/** The device left the directory. */
export interface DeviceRemovedEvent {
  type: 'device_removed'
}

/** A resident left the directory. */
export interface ResidentRemovedEvent {
  type: 'resident_removed'
  residentId: string
}

/** How a resident's invite reached it, learnt after the invite went out (an open connection, an accepted push). */
export interface DeliveryEvent {
  type: 'delivery'
  residentId: string
  delivery: Delivery
}

export type CallEvent = ActionEvent | EndEvent | TimerEvent | PresenceEvent | DeviceRemovedEvent | ResidentRemovedEvent | DeliveryEvent

export type StartResult =
  | { ok: true, session: CallSession, effects: Effect[] }
  | { ok: false, error: IntercomError }

export type TransitionResult =
  | { ok: true, session: CallSession, effects: Effect[], changed: boolean }
  | { ok: false, error: IntercomError }

export function startCall (params: StartParams, now: number, options: MachineOptions): StartResult {
  const { callId, deviceId, targets, busy } = params
  const dnd = params.dnd ?? []
  const actor = identity('device', deviceId).name
  const context: StartContext = { targets, busy, dnd, activeCall: params.activeCall }
  const failed = START.guards.find((check) => !START_GUARDS[check.guard](context))
  if (failed !== undefined) {
    const { otherwise } = failed
    if (otherwise.kind !== 'refuse') throw new IntercomError('internal', 'a call start is started or refused')
    return { ok: false, error: new IntercomError(otherwise.code, `Device ${deviceId}: ${otherwise.hint}.`) }
  }
  const step = params.ringStepMs ?? null
  // Busy is judged before DND: a resident in a call and in DND shows as busy.
  const legs: Leg[] = targets.map(r => ({ resident_id: r, state: busy.includes(r) ? 'busy' : dnd.includes(r) ? 'dnd' : 'waiting' }))
  // Everyone free rings at once, or (sequential) the first free one while the others wait their turn.
  const online = params.online ?? []
  for (const leg of step === null ? waitingLegs(legs) : waitingLegs(legs).slice(0, 1)) {
    leg.state = 'ringing'
    leg.delivery = online.includes(leg.resident_id) ? 'online' : 'queued'
  }
  const reason = params.reason ?? null
  const session: CallSession = {
    call_id: callId,
    status: 'ringing',
    provider: params.provider,
    device_device_id: deviceId,
    target_resident_ids: [...targets],
    resident_id: null,
    household_number: params.householdNumber,
    ...(params.requestId == null ? {} : { request_id: params.requestId }),
    on_reject: params.onReject ?? 'leg',
    ring_step_ms: step,
    start_time: now,
    answer_time: null,
    end_time: null,
    end_reason: null,
    last_activity: now,
    call_info: { call_id: callId, action: 'ringing', reason, timestamp: params.timestamp ?? now },
    history: [{ action: 'ringing', actor, reason, timestamp: now, seq: 1 }],
    history_dropped: 0,
    legs,
    ended_by: null,
    seq: 1,
    version: 1,
    deadlines: { ring: now + options.ringTimeoutMs, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null }
  }
  session.deadlines.next_resident = nextTurn(session, now)
  const effects: Effect[] = [
    control(device(session), 'ringing', reason, { withSession: true }),
    ...legs.filter(l => l.state === 'ringing').map((l): Effect => ({ type: 'invite', residentId: l.resident_id })),
    { type: 'event', action: 'ringing', actor, reason }
  ]
  return { ok: true, session, effects }
}

/** Who did what, as `history` and `call_info` will record it. */
interface Step {
  actor: Actor
  /** Null for an input that is never a transition (the device coming back online). */
  action: CallAction | null
  reason: string | null
  timestamp: number
  subject: string | null
  timer: TimerName | null
  canUnlock: boolean
  result: UnlockResult | null
  /** A delivery report, else null. */
  delivery: Delivery | null
}

/** The reason a resident's ring stops when its turn of a sequential ring is over. */
export const NEXT_RESIDENT = 'next_resident'

const TIMER_INPUT: Record<TimerName, { input: SystemInput, action: CallAction, reason: string | null }> = {
  ring: { input: 'ring_timer', action: 'timeout', reason: null },
  max_duration: { input: 'max_duration_timer', action: 'max_duration', reason: null },
  device_offline: { input: 'device_offline_timer', action: 'device_offline', reason: null },
  unlock_hangup: { input: 'unlock_hangup_timer', action: 'unlocked', reason: null },
  ending_soon: { input: 'ending_soon_timer', action: 'ending_soon', reason: null },
  next_resident: { input: 'next_resident_timer', action: 'timeout', reason: NEXT_RESIDENT }
}

/** The table's verdict for an event, and the step it would record. */
function verdictOf (session: CallSession, event: CallEvent, now: number): { verdict: Verdict, step: Step } {
  const row = TRANSITIONS[session.status]
  const base = { reason: null, timestamp: now, subject: null, timer: null, canUnlock: true, result: null, delivery: null }
  switch (event.type) {
    case 'action':
      return {
        verdict: row[event.actor.kind][event.action],
        step: {
          ...base,
          actor: identity(event.actor.kind, event.actor.id),
          action: event.action,
          reason: event.reason ?? null,
          timestamp: event.timestamp ?? now,
          canUnlock: event.canUnlock ?? true,
          result: event.result ?? null
        }
      }
    case 'end':
      return { verdict: row.system.end, step: { ...base, actor: event.by, action: 'forced', reason: event.reason ?? null } }
    case 'timer': {
      const { input, action, reason } = TIMER_INPUT[event.timer]
      return { verdict: row.system[input], step: { ...base, actor: SYSTEM_ACTOR, action, reason, timer: event.timer } }
    }
    case 'device_presence':
      return event.online
        ? { verdict: row.system.device_online, step: { ...base, actor: SYSTEM_ACTOR, action: null } }
        : { verdict: row.system.device_offline, step: { ...base, actor: SYSTEM_ACTOR, action: 'device_offline' } }
    case 'device_removed':
      return { verdict: row.system.device_removed, step: { ...base, actor: SYSTEM_ACTOR, action: 'forced', reason: 'device_removed' } }
    case 'resident_removed':
      return { verdict: row.system.resident_removed, step: { ...base, actor: SYSTEM_ACTOR, action: 'cancelled', reason: 'removed', subject: event.residentId } }
    case 'delivery':
      return { verdict: row.system.delivery, step: { ...base, actor: SYSTEM_ACTOR, action: null, subject: event.residentId, delivery: event.delivery } }
  }
}

/** The outcome of a verdict: the first failing guard's, else the verdict's own. */
export function judge<G extends string> (verdict: Verdict<G>, holds: (guard: G) => boolean): Outcome {
  for (const check of verdict.guards) {
    if (!holds(check.guard)) return check.otherwise
  }
  return verdict.then
}

export function transition (session: CallSession, event: CallEvent, now: number, options: MachineOptions): TransitionResult {
  const { verdict, step } = verdictOf(session, event, now)
  const context: GuardContext = { session, actor: step.actor, action: step.action, subject: step.subject, timer: step.timer, canUnlock: step.canUnlock, delivery: step.delivery, now, options }
  const outcome = judge(verdict, (guard) => GUARDS[guard](context))
  if (outcome.kind === 'ignore') return unchanged(session)
  if (outcome.kind === 'refuse') return refusal(session, step.actor, outcome.code, outcome.hint)
  if (outcome.rule === 'ring') throw new IntercomError('internal', 'a call starts with startCall')
  const draft = structuredClone(session)
  const applied = RULES[outcome.rule](draft, step, now, options)
  draft.version += 1
  if (!applied.transition) return { ok: true, session: draft, effects: [], changed: true }
  if (step.action === null) throw new IntercomError('internal', `rule ${outcome.rule} made a transition without an action`)
  draft.seq += 1
  draft.last_activity = now
  draft.call_info = { call_id: draft.call_id, action: step.action, reason: step.reason, timestamp: step.timestamp }
  const result = step.result === null ? {} : { result: step.result }
  record(draft, { action: step.action, actor: step.actor.name, reason: step.reason, timestamp: now, seq: draft.seq, ...result })
  const eventEffect: Effect = { type: 'event', action: step.action, actor: step.actor.name, reason: step.reason, ...result }
  return { ok: true, session: draft, effects: [...applied.messages, eventEffect], changed: true }
}

/** Repeatable commands: the only entries `history` drops, oldest first. */
const COMMANDS: ReadonlySet<CallAction> = new Set<CallAction>(['unlock', 'unlock_result'])

/** Appends to history; past the bound, the oldest command goes and is counted. */
function record (s: CallSession, entry: HistoryEntry): void {
  s.history.push(entry)
  const commands = s.history.filter((h) => COMMANDS.has(h.action))
  if (commands.length <= HISTORY_COMMANDS_KEPT) return
  const oldest = commands[0]
  s.history = s.history.filter((h) => h !== oldest)
  s.history_dropped += 1
}

/**
 * A rule mutates the draft (a private copy) and says what to send.
 * `transition: false` is a stored change that is no call transition (no seq,
 * no message), e.g. the offline grace starting.
 */
interface Applied {
  transition: boolean
  messages: Effect[]
}

type RuleFn = (s: CallSession, step: Step, now: number, options: MachineOptions) => Applied

const actingResident = (step: Step): string => step.actor.id

const RULES: Record<Exclude<Rule, 'ring'>, RuleFn> = {
  answer (s, step, now, options) {
    const me = actingResident(step)
    const leg = legOf(s, me)
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
    s.deadlines.next_resident = null
    s.deadlines.max_duration = now + options.maxCallMs
    s.deadlines.ending_soon = warningBefore(s.deadlines.max_duration, options)
    return { transition: true, messages }
  },

  decline (s, step, now) {
    const me = actingResident(step)
    const action = step.action === 'timeout' ? 'timeout' : 'rejected'
    legOf(s, me).state = action
    const messages: Effect[] = [
      control(device(s), action, step.reason, { residentId: me }),
      control(resident(me), action, step.reason, { residentId: me }),
      ...moveOn(s, step.actor.name, now)
    ]
    return { transition: true, messages }
  },

  record_delivery (s, step) {
    legOf(s, step.subject as string).delivery = step.delivery as Delivery
    return { transition: false, messages: [] }
  },

  ring_next (s, step, now) {
    const over = ringingLegs(s)
    for (const l of over) l.state = 'timeout'
    // The device learns whose turn ended; the resident, like at a ring timeout, that its ring is over.
    const messages: Effect[] = [
      ...over.map((l) => control(device(s), 'timeout', NEXT_RESIDENT, { residentId: l.resident_id })),
      ...over.map((l) => control(resident(l.resident_id), 'timeout', NEXT_RESIDENT)),
      ...moveOn(s, SYSTEM_ACTOR.name, now)
    ]
    return { transition: true, messages }
  },

  decline_all (s, step, now) {
    const me = actingResident(step)
    legOf(s, me).state = 'rejected'
    const others = ringingLegs(s)
    for (const l of others) l.state = 'cancelled'
    const messages: Effect[] = [control(device(s), 'rejected', step.reason, { residentId: me })]
    for (const l of s.legs) {
      if (l.resident_id === me) messages.push(control(resident(me), 'rejected', step.reason, { residentId: me }))
      if (others.includes(l)) messages.push(control(resident(l.resident_id), 'cancelled', 'declined_elsewhere', { residentId: me }))
    }
    end(s, 'rejected', step.actor.name, now)
    return { transition: true, messages }
  },

  unlock_preview (s, step, now) {
    const me = actingResident(step)
    const leg = legOf(s, me)
    const others = ringingLegs(s).filter(l => l !== leg)
    leg.state = 'answered'
    for (const l of others) l.state = 'cancelled'
    s.resident_id = me
    const messages: Effect[] = [control(device(s), 'unlock', step.reason, { residentId: me })]
    for (const l of s.legs) {
      if (l === leg) messages.push(control(resident(me), 'unlock', step.reason, { residentId: me }))
      if (others.includes(l)) messages.push(control(resident(l.resident_id), 'cancelled', 'answered_elsewhere', { residentId: me }))
    }
    end(s, 'unlocked', step.actor.name, now)
    return { transition: true, messages }
  },

  cancel (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, ringing, 'cancelled', step.reason)
    end(s, 'cancelled', step.actor.name, now)
    return { transition: true, messages }
  },

  hang_up (s, step, now) {
    const messages = notify(s, answeredLegs(s), 'hangup', step.reason, s.resident_id)
    end(s, 'hangup', step.actor.name, now)
    return { transition: true, messages }
  },

  unlock (s, step, now, options) {
    // The first unlock starts the hang-up deadline; later ones do not push it back.
    if (options.unlockHangupMs > 0 && s.deadlines.unlock_hangup === null) s.deadlines.unlock_hangup = now + options.unlockHangupMs
    return { transition: true, messages: [control(device(s), 'unlock', step.reason, { residentId: actingResident(step) })] }
  },

  hang_up_after_unlock (s, step, now) {
    const messages = notify(s, answeredLegs(s), 'unlocked', null, s.resident_id)
    end(s, 'unlocked', SYSTEM_ACTOR.name, now)
    return { transition: true, messages }
  },

  unlock_result (s, step) {
    const { result } = step
    if (result === null) throw new IntercomError('internal', `Call ${s.call_id}: unlock_result without a result.`)
    // The resident who unlocked: the answerer, or who opened from the preview.
    const to = s.resident_id as string
    return { transition: true, messages: [control(resident(to), 'unlock_result', step.reason, { residentId: to, result })] }
  },

  warn_ending (s) {
    s.deadlines.ending_soon = null
    const endsAt = s.deadlines.max_duration as number
    return { transition: true, messages: notify(s, answeredLegs(s), 'ending_soon', null, s.resident_id, endsAt) }
  },

  extend (s, step, now, options) {
    const endsAt = (s.deadlines.max_duration ?? now) + options.maxCallMs
    s.deadlines.max_duration = endsAt
    s.deadlines.ending_soon = warningBefore(endsAt, options)
    return { transition: true, messages: notify(s, answeredLegs(s), 'extend', step.reason, s.resident_id, endsAt) }
  },

  force_end (s, step, now) {
    const ringing = ringingLegs(s)
    const reached = s.legs.filter(l => l.state === 'ringing' || l.state === 'answered')
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, reached, 'forced', step.reason, s.resident_id)
    end(s, 'forced', step.actor.name, now)
    return { transition: true, messages }
  },

  ring_timeout (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'timeout'
    const messages = notify(s, ringing, 'timeout', null)
    end(s, 'timeout', SYSTEM_ACTOR.name, now)
    return { transition: true, messages }
  },

  max_duration (s, step, now) {
    const messages = notify(s, answeredLegs(s), 'max_duration', null, s.resident_id)
    end(s, 'max_duration', SYSTEM_ACTOR.name, now)
    return { transition: true, messages }
  },

  end_device_offline (s, step, now) {
    const ringing = ringingLegs(s)
    for (const l of ringing) l.state = 'cancelled'
    const messages = notify(s, [...ringing, ...answeredLegs(s)], 'device_offline', null, s.resident_id)
    end(s, 'device_offline', SYSTEM_ACTOR.name, now)
    return { transition: true, messages }
  },

  start_offline_grace (s, step, now, options) {
    s.deadlines.device_offline = now + options.offlineGraceMs
    return { transition: false, messages: [] }
  },

  stop_offline_grace (s) {
    s.deadlines.device_offline = null
    return { transition: false, messages: [] }
  },

  remove_resident (s, step, now) {
    const gone = step.subject as string
    legOf(s, gone).state = 'cancelled'
    const messages: Effect[] = [
      control(device(s), 'cancelled', step.reason, { residentId: gone }),
      control(resident(gone), 'cancelled', step.reason, { residentId: gone }),
      ...moveOn(s, SYSTEM_ACTOR.name, now)
    ]
    return { transition: true, messages }
  }
}

/**
 * A leg stopped ringing: while another rings, nothing more; else the next
 * waiting resident (sequential ring) is invited; else the call ends.
 */
function moveOn (s: CallSession, endedBy: string, now: number): Effect[] {
  if (ringingLegs(s).length > 0) return []
  const next = waitingLegs(s.legs)[0]
  if (next === undefined) {
    end(s, reasonWhenNoLegRings(s), endedBy, now)
    return []
  }
  next.state = 'ringing'
  // The shell learns whether it has a connection only after the invite went out.
  next.delivery = 'queued'
  s.deadlines.next_resident = nextTurn(s, now)
  return [{ type: 'invite', residentId: next.resident_id }]
}

/** When the ringing resident's turn ends: only when someone waits, and before the ring timeout (which ends it anyway). */
function nextTurn (s: CallSession, now: number): number | null {
  if (s.ring_step_ms === null || waitingLegs(s.legs).length === 0) return null
  const at = now + s.ring_step_ms
  return s.deadlines.ring !== null && at < s.deadlines.ring ? at : null
}

/** The last ringing leg ended without an answer: a rejection wins, then a timeout, else cancelled. */
function reasonWhenNoLegRings (s: CallSession): EndReason {
  if (s.legs.some(l => l.state === 'rejected')) return 'rejected'
  if (s.legs.some(l => l.state === 'timeout')) return 'timeout'
  return 'cancelled'
}

/** When to warn of a max_duration at `endsAt`; null when warnings are off or longer than a call. */
function warningBefore (endsAt: number, options: MachineOptions): number | null {
  const warningMs = options.callWarningMs ?? 0
  return warningMs > 0 && warningMs < options.maxCallMs ? endsAt - warningMs : null
}

/** Ends the call and clears every deadline it had; the store drops their timers with them. */
function end (s: CallSession, reason: EndReason, endedBy: string, now: number): void {
  s.status = 'ended'
  s.end_reason = reason
  s.end_time = now
  s.ended_by = endedBy
  for (const timer of TIMERS) s.deadlines[timer] = null
}

/** The same control to the device, then to the given residents in target order. */
function notify (s: CallSession, legs: Leg[], action: CallAction, reason: string | null, residentId?: string | null, endsAt?: number): Effect[] {
  const extra = { ...(residentId == null ? {} : { residentId }), ...(endsAt === undefined ? {} : { endsAt }) }
  return [
    control(device(s), action, reason, extra),
    ...s.legs.filter(l => legs.includes(l)).map(l => control(resident(l.resident_id), action, reason, extra))
  ]
}

function control (to: ControlTarget, action: CallAction, reason: string | null, extra: Pick<ControlEffect, 'residentId' | 'withSession' | 'endsAt' | 'result'> = {}): ControlEffect {
  return { type: 'control', to, action, reason, ...extra }
}

const device = (s: CallSession): ControlTarget => ({ kind: 'device', id: s.device_device_id })
const resident = (id: string): ControlTarget => ({ kind: 'resident', id })
const ringingLegs = (s: CallSession): Leg[] => s.legs.filter(l => l.state === 'ringing')
const waitingLegs = (legs: Leg[]): Leg[] => legs.filter(l => l.state === 'waiting')
const answeredLegs = (s: CallSession): Leg[] => s.status === 'connected' ? s.legs.filter(l => l.state === 'answered') : []

function legOf (s: CallSession, residentId: string): Leg {
  const leg = s.legs.find(l => l.resident_id === residentId)
  if (leg === undefined) throw new IntercomError('internal', `Call ${s.call_id} has no leg for resident ${residentId}.`)
  return leg
}

function unchanged (session: CallSession): TransitionResult {
  return { ok: true, session, effects: [], changed: false }
}

function refusal (s: CallSession, actor: Actor, code: RefusalCode, hint: string): TransitionResult {
  if (code === 'forbidden') return { ok: false, error: new IntercomError(code, `${actor.name} may not do this on call ${s.call_id}: ${hint}.`) }
  const state = s.status === 'ended' ? `ended (${s.end_reason})` : s.status
  return { ok: false, error: new IntercomError(code, `Call ${s.call_id} is ${state}: ${hint}.`) }
}

import type { Identity } from '../identity'
import { mayEnd, wasRung } from './call-rights'
import type { MachineOptions } from './machine'
import type { CallAction, CallSession, Delivery, TimerName } from './session'

/**
 * The conditions the transition table names: pure predicates over the call and
 * the input. The table says what a failed guard yields; nothing here refuses.
 */

export const SYSTEM_ACTOR = { kind: 'system', id: 'system', name: 'system' } as const

/** Who feeds an input: a device or resident acting, the identity ending a call, or the server. */
export type Actor = Identity | typeof SYSTEM_ACTOR

export interface GuardContext {
  readonly session: CallSession
  readonly actor: Actor
  /** What `history` records if the input applies; null for an input that is never a transition. */
  readonly action: CallAction | null
  /** The resident an input is about (a removal), else null. */
  readonly subject: string | null
  /** The deadline a timer input is for, else null. */
  readonly timer: TimerName | null
  /** The directory lets the acting resident open the door. */
  readonly canUnlock: boolean
  /** A delivery report for the subject's leg, else null. */
  readonly delivery: Delivery | null
  readonly now: number
  readonly options: MachineOptions
}

const legState = (s: CallSession, residentId: string): string | undefined =>
  s.legs.find((leg) => leg.resident_id === residentId)?.state

const residentActor = (ctx: GuardContext): string | null => ctx.actor.kind === 'resident' ? ctx.actor.id : null

/** The repeatable command whose cooldown `unlockCooledDown` checks. */
const UNLOCK: CallAction = 'unlock'
const UNLOCK_RESULT: CallAction = 'unlock_result'
const EXTEND: CallAction = 'extend'

export const GUARDS = {
  /** The acting device is the one that called. */
  isCaller: (ctx: GuardContext): boolean => ctx.actor.kind === 'device' && ctx.actor.id === ctx.session.device_device_id,
  /** The acting resident was rung by this call (a `busy`, `dnd` or `waiting` leg never was). */
  isParty: (ctx: GuardContext): boolean => {
    const id = residentActor(ctx)
    return id !== null && wasRung(ctx.session, id)
  },
  /** The same actor has not already sent this action on this call. */
  notRepeat: (ctx: GuardContext): boolean =>
    !ctx.session.history.some((h) => h.actor === ctx.actor.name && h.action === ctx.action),
  /** The acting resident's own leg still rings. */
  legRinging: (ctx: GuardContext): boolean => {
    const id = residentActor(ctx)
    return id !== null && legState(ctx.session, id) === 'ringing'
  },
  /** The acting resident is the one who answered. */
  isAnswerer: (ctx: GuardContext): boolean => residentActor(ctx) !== null && residentActor(ctx) === ctx.session.resident_id,
  /** No unlock on this call within the cooldown. */
  unlockCooledDown: (ctx: GuardContext): boolean => {
    const since = ctx.now - ctx.options.unlockCooldownMs
    return !ctx.session.history.some((h) => h.action === UNLOCK && h.timestamp > since)
  },
  /** The latest unlock of the call has no result yet: one result per unlock. */
  unlockAwaitsResult: (ctx: GuardContext): boolean => {
    const unlocked = ctx.session.history.findLastIndex((h) => h.action === UNLOCK)
    return unlocked !== -1 && !ctx.session.history.slice(unlocked).some((h) => h.action === UNLOCK_RESULT)
  },
  /** The answerer has extended the call fewer than MAX_EXTENSIONS times. */
  extensionsLeft: (ctx: GuardContext): boolean =>
    ctx.session.history.filter((h) => h.action === EXTEND).length < (ctx.options.maxExtensions ?? 0),
  /** The directory lets the acting resident open the door (`can_unlock`, default true). */
  canUnlock: (ctx: GuardContext): boolean => ctx.canUnlock,
  /** The household's policy: a plain rejection ends only the resident's own leg (`on_reject: leg`). */
  rejectsLegOnly: (ctx: GuardContext): boolean => ctx.session.on_reject === 'leg',
  /** End-session: a service, the call's device, or a resident whose leg is live. */
  mayEnd: (ctx: GuardContext): boolean => ctx.actor.kind !== 'system' && mayEnd(ctx.actor, ctx.session),
  /** The timer's deadline is set and due; a cleared or moved one is stale. */
  deadlineDue: (ctx: GuardContext): boolean => {
    const due = ctx.timer === null ? null : ctx.session.deadlines[ctx.timer]
    return due !== null && due <= ctx.now
  },
  /** No offline grace is running yet. */
  graceIdle: (ctx: GuardContext): boolean => ctx.session.deadlines.device_offline === null,
  /** An offline grace is running. */
  graceRunning: (ctx: GuardContext): boolean => ctx.session.deadlines.device_offline !== null,
  /** The report changes how the subject's invite is known to have gone out (a leg never invited has no delivery). */
  deliveryNews: (ctx: GuardContext): boolean => {
    const leg = ctx.subject === null ? undefined : ctx.session.legs.find((l) => l.resident_id === ctx.subject)
    return leg?.delivery !== undefined && ctx.delivery !== null && leg.delivery !== ctx.delivery
  },
  /** The resident the input is about has a ringing leg. */
  subjectRinging: (ctx: GuardContext): boolean => ctx.subject !== null && legState(ctx.session, ctx.subject) === 'ringing'
} as const

export type GuardName = keyof typeof GUARDS

/** What the start of a call is decided on: the directory's targets and the store's view of who is busy. */
export interface StartContext {
  readonly targets: readonly string[]
  readonly busy: readonly string[]
  /** The targets in do not disturb. */
  readonly dnd: readonly string[]
  /** The device's active call, as the store saw it just before. */
  readonly activeCall: string | null
}

export const START_GUARDS = {
  /** The directory gives the device someone to ring. */
  hasTargets: (ctx: StartContext): boolean => ctx.targets.length > 0,
  /** At least one target is not in a connected call. */
  someoneFree: (ctx: StartContext): boolean => ctx.targets.some((r) => !ctx.busy.includes(r)),
  /** At least one target is neither in a connected call nor in do not disturb. */
  someoneReachable: (ctx: StartContext): boolean => ctx.targets.some((r) => !ctx.busy.includes(r) && !ctx.dnd.includes(r)),
  /** The device has no ringing or connected call. */
  deviceIdle: (ctx: StartContext): boolean => ctx.activeCall === null
} as const

export type StartGuardName = keyof typeof START_GUARDS

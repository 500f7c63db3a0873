import type { GuardName, StartGuardName } from './guards'
import type { CallStatus, ClientAction } from './session'

/**
 * THE transition table: for each call status, what each kind of actor may do.
 * Every pair has an explicit verdict, and every refusal is written here.
 *
 * A verdict lists guards (named predicates of `guards.ts`), checked in order:
 * the first that fails gives its outcome. When all hold, the verdict's outcome:
 * - `apply(rule)`: the rule of `machine.ts` changes the call; rules never refuse.
 * - `refuse(code, hint)`: an error (403 `forbidden`, 409 `invalid_transition`, ...);
 *   the hint tells the client what to do.
 * - `ignore(why)`: success, nothing changes, nobody is told (a repeat, a stale timer).
 */

export type Rule =
  | 'ring' // a device starts a call: every free target is invited
  | 'answer' // first answer wins, other ringing targets are cancelled
  | 'decline' // the resident's leg ends; the call ends when no leg rings any more
  | 'decline_all' // the call ends rejected; every other ringing leg is cancelled
  | 'unlock_preview' // a ringing resident opens the door: the call ends unlocked
  | 'cancel' // the device gives up while ringing
  | 'hang_up' // the device or the answerer ends a connected call
  | 'unlock' // command to the door; the call stays connected
  | 'force_end' // end-session by an operator, or the device left the directory
  | 'ring_timeout'
  | 'max_duration'
  | 'end_device_offline' // the device left while ringing, or its grace ran out
  | 'start_offline_grace' // the device left during a connected call
  | 'stop_offline_grace' // the device came back in time
  | 'remove_resident' // a ringing resident left the directory: its leg is cancelled
  | 'hang_up_after_unlock' // the door was opened a while ago: the call ends unlocked
  | 'ring_next' // sequential ring: the ringing resident's turn is over, the next one rings
  | 'record_delivery' // how an invite went out (connection, accepted push): no transition
  | 'unlock_result' // the door says whether it opened: the resident who unlocked is told
  | 'warn_ending' // max_duration is near: both parties are told
  | 'extend' // the answerer pushes max_duration back by MAX_CALL_MS

/** What the server itself feeds the machine. */
export type SystemInput =
  | 'end'
  | 'ring_timer'
  | 'max_duration_timer'
  | 'device_offline_timer'
  | 'unlock_hangup_timer'
  | 'next_resident_timer'
  | 'ending_soon_timer'
  | 'device_offline'
  | 'device_online'
  | 'device_removed'
  | 'resident_removed'
  | 'delivery'

export const SYSTEM_INPUTS: readonly SystemInput[] = [
  'end', 'ring_timer', 'max_duration_timer', 'device_offline_timer', 'unlock_hangup_timer', 'ending_soon_timer', 'next_resident_timer', 'device_offline', 'device_online', 'device_removed', 'resident_removed', 'delivery'
]

export type RefusalCode = 'forbidden' | 'invalid_transition' | 'no_residents' | 'residents_busy' | 'residents_unavailable' | 'device_busy'

export type Outcome =
  | { readonly kind: 'apply', readonly rule: Rule }
  | { readonly kind: 'refuse', readonly code: RefusalCode, readonly hint: string }
  | { readonly kind: 'ignore', readonly why: string }

export interface Check<G extends string = GuardName> {
  readonly guard: G
  /** What the input gets when the guard does not hold: a refusal, nothing, or another rule. */
  readonly otherwise: Outcome
}

export interface Verdict<G extends string = GuardName> {
  readonly guards: ReadonlyArray<Check<G>>
  readonly then: Outcome
}

export interface StatusRow {
  readonly device: Readonly<Record<ClientAction, Verdict>>
  readonly resident: Readonly<Record<ClientAction, Verdict>>
  readonly system: Readonly<Record<SystemInput, Verdict>>
}

const apply = (rule: Rule): Outcome => ({ kind: 'apply', rule })
const invalid = (hint: string) => ({ kind: 'refuse', code: 'invalid_transition', hint }) as const
const forbidden = (hint: string) => ({ kind: 'refuse', code: 'forbidden', hint }) as const
const ignore = (why: string) => ({ kind: 'ignore', why }) as const
const when = <G extends string>(guard: G, otherwise: Check<G>['otherwise']): Check<G> => ({ guard, otherwise })
const verdict = (guards: Check[], then: Outcome): Verdict => ({ guards, then })

// Rights first, then repeats: a stranger learns nothing from a repeat being accepted.
const CALLER = when('isCaller', forbidden('it is not the caller of this call'))
const RUNG = when('isParty', forbidden('this call never rang it'))
const FIRST = when('notRepeat', ignore('a repeated action changes nothing'))
const RINGING_LEG = when('legRinging', invalid('this resident already answered or declined'))
const ANSWERER = when('isAnswerer', invalid('only the answering resident may do this'))
const CAN_UNLOCK = when('canUnlock', forbidden('the directory does not let this resident open the door'))
const LEG_ONLY = when('rejectsLegOnly', apply('decline_all')) // household policy on_reject: all
const COOLED_DOWN = when('unlockCooledDown', invalid('the door was unlocked moments ago: wait for the unlock cooldown before unlocking again'))
const MAY_END = when('mayEnd', forbidden('only a service, the call\'s device or a resident still in the call may end it'))
const DUE = when('deadlineDue', ignore('a cleared or moved deadline is stale'))
// Also after the end: the record of how each invite went out stays true.
const DELIVERY = verdict([when('deliveryNews', ignore('nothing new about this invite'))], apply('record_delivery'))
const AWAITS_RESULT = when('unlockAwaitsResult', invalid('no unlock waits for a result: send one unlock_result per unlock'))
const EXTENSIONS_LEFT = when('extensionsLeft', invalid('the call was extended MAX_EXTENSIONS times already: end it and call again'))

/** A device action: only the caller, and a repeat changes nothing. */
const device = (then: Outcome): Verdict => verdict([CALLER, FIRST], then)
/** A resident action: only a resident the call rang, and a repeat changes nothing. */
const resident = (then: Outcome, ...more: Check[]): Verdict => verdict([RUNG, FIRST, ...more], then)

const NOT_A_DEVICE_ACTION = invalid('a device may only send cancelled (while ringing), hangup or unlock_result')
const NOT_A_RESIDENT_ACTION = invalid('a resident may send answered, rejected, decline_all, timeout, hangup, unlock or extend, not cancelled or unlock_result')
/** The door's answer to an unlock: repeatable, one per unlock, also after the call ended. */
const UNLOCK_RESULT = verdict([CALLER, AWAITS_RESULT], apply('unlock_result'))
const ENDED = invalid('start a new call')
const IDLE = (why: string): Verdict => verdict([], ignore(why))

export const TRANSITIONS: Readonly<Record<CallStatus, StatusRow>> = {
  ringing: {
    device: {
      cancelled: device(apply('cancel')),
      hangup: device(apply('cancel')), // a door panel has one button: hangup while ringing cancels
      answered: device(NOT_A_DEVICE_ACTION),
      rejected: device(NOT_A_DEVICE_ACTION),
      timeout: device(NOT_A_DEVICE_ACTION),
      unlock: device(NOT_A_DEVICE_ACTION),
      decline_all: device(NOT_A_DEVICE_ACTION),
      unlock_result: verdict([CALLER], invalid('the door was not opened on this call')),
      extend: device(NOT_A_DEVICE_ACTION)
    },
    resident: {
      answered: resident(apply('answer'), RINGING_LEG),
      rejected: resident(apply('decline'), RINGING_LEG, LEG_ONLY),
      decline_all: resident(apply('decline_all'), RINGING_LEG),
      timeout: resident(apply('decline'), RINGING_LEG), // its own ring gave up: counts as its rejection
      hangup: resident(invalid('use rejected to decline a ringing call')),
      // open from the preview: no repeat guard, the first unlock ends the call
      unlock: verdict([RUNG, RINGING_LEG, CAN_UNLOCK], apply('unlock_preview')),
      cancelled: resident(NOT_A_RESIDENT_ACTION),
      unlock_result: resident(NOT_A_RESIDENT_ACTION),
      extend: resident(invalid('only a connected call can be extended: answer first'))
    },
    system: {
      end: verdict([MAY_END], apply('force_end')),
      ring_timer: verdict([DUE], apply('ring_timeout')),
      max_duration_timer: IDLE('not connected yet'),
      device_offline_timer: IDLE('no grace runs while ringing'),
      unlock_hangup_timer: IDLE('not connected yet'),
      next_resident_timer: verdict([DUE], apply('ring_next')),
      ending_soon_timer: IDLE('not connected yet'),
      device_offline: verdict([], apply('end_device_offline')),
      device_online: IDLE('the device is already in the call'),
      device_removed: verdict([], apply('force_end')),
      resident_removed: verdict([when('subjectRinging', ignore('its leg no longer rings'))], apply('remove_resident')),
      delivery: DELIVERY
    }
  },
  connected: {
    device: {
      hangup: device(apply('hang_up')),
      cancelled: device(invalid('the call is answered: use hangup')),
      answered: device(NOT_A_DEVICE_ACTION),
      rejected: device(NOT_A_DEVICE_ACTION),
      timeout: device(NOT_A_DEVICE_ACTION),
      unlock: device(NOT_A_DEVICE_ACTION),
      decline_all: device(NOT_A_DEVICE_ACTION),
      unlock_result: UNLOCK_RESULT,
      extend: device(NOT_A_DEVICE_ACTION)
    },
    resident: {
      hangup: resident(apply('hang_up'), ANSWERER),
      // a command, not a state: no repeat guard, each unlock opens again (after the cooldown)
      unlock: verdict([RUNG, ANSWERER, CAN_UNLOCK, COOLED_DOWN], apply('unlock')),
      answered: resident(invalid('another resident answered first')),
      rejected: resident(invalid('the call is answered: use hangup')),
      decline_all: resident(invalid('the call is answered: use hangup')),
      timeout: resident(invalid('the call is answered: use hangup')),
      cancelled: resident(NOT_A_RESIDENT_ACTION),
      unlock_result: resident(NOT_A_RESIDENT_ACTION),
      // a command: each extend moves the deadline again, up to the bound
      extend: verdict([RUNG, ANSWERER, EXTENSIONS_LEFT], apply('extend'))
    },
    system: {
      end: verdict([MAY_END], apply('force_end')),
      ring_timer: IDLE('already answered'),
      max_duration_timer: verdict([DUE], apply('max_duration')),
      device_offline_timer: verdict([DUE], apply('end_device_offline')),
      unlock_hangup_timer: verdict([DUE], apply('hang_up_after_unlock')),
      next_resident_timer: IDLE('already answered'),
      ending_soon_timer: verdict([DUE], apply('warn_ending')),
      device_offline: verdict([when('graceIdle', ignore('the first grace keeps running'))], apply('start_offline_grace')),
      device_online: verdict([when('graceRunning', ignore('no grace to stop'))], apply('stop_offline_grace')),
      device_removed: verdict([], apply('force_end')),
      resident_removed: IDLE('only ringing legs end; the conversation goes on'),
      delivery: DELIVERY
    }
  },
  ended: {
    device: {
      cancelled: device(ENDED),
      hangup: device(ENDED),
      answered: device(ENDED),
      rejected: device(ENDED),
      timeout: device(ENDED),
      unlock: device(ENDED),
      decline_all: device(ENDED),
      unlock_result: UNLOCK_RESULT,
      extend: device(ENDED)
    },
    resident: {
      answered: resident(ENDED),
      rejected: resident(ENDED),
      timeout: resident(ENDED),
      hangup: resident(ENDED),
      unlock: resident(ENDED),
      decline_all: resident(ENDED),
      cancelled: resident(ENDED),
      unlock_result: resident(ENDED),
      extend: resident(ENDED)
    },
    system: {
      end: verdict([MAY_END], ignore('end-session is idempotent')),
      ring_timer: IDLE('already ended'),
      max_duration_timer: IDLE('already ended'),
      device_offline_timer: IDLE('already ended'),
      unlock_hangup_timer: IDLE('already ended'),
      next_resident_timer: IDLE('already ended'),
      ending_soon_timer: IDLE('already ended'),
      device_offline: IDLE('already ended'),
      device_online: IDLE('already ended'),
      device_removed: IDLE('already ended'),
      resident_removed: IDLE('already ended'),
      delivery: DELIVERY
    }
  }
}

/**
 * The start of a call. "One active call per device" is decided here on the
 * store's last view; the store's create enforces it again atomically, because
 * two devices' requests can pass this guard together.
 */
export const START: Verdict<StartGuardName> = {
  guards: [
    when('hasTargets', { kind: 'refuse', code: 'no_residents', hint: 'add residents to the device\'s households in the directory' }),
    when('someoneFree', { kind: 'refuse', code: 'residents_busy', hint: 'every resident to ring is already in a call: try again later' }),
    when('someoneReachable', { kind: 'refuse', code: 'residents_unavailable', hint: 'every resident to ring is in a call or in do not disturb: try again later' }),
    when('deviceIdle', { kind: 'refuse', code: 'device_busy', hint: 'the device is already in a call: end it first' })
  ],
  then: apply('ring')
}

/** One verdict as one line, for docs and tests: `isParty 403, notRepeat ignore => answer`. */
export function describeVerdict (v: Verdict<string>): string {
  const guards = v.guards.map((c) => `${c.guard} ${describeOutcome(c.otherwise)}`).join(', ')
  return `${guards === '' ? '' : `${guards} => `}${describeOutcome(v.then)}`
}

const STATUS_OF: Record<RefusalCode, number> = { forbidden: 403, invalid_transition: 409, no_residents: 422, residents_busy: 409, residents_unavailable: 409, device_busy: 409 }

function describeOutcome (o: Outcome): string {
  if (o.kind === 'apply') return o.rule
  if (o.kind === 'ignore') return 'ignore'
  return o.code === 'forbidden' || o.code === 'invalid_transition' ? String(STATUS_OF[o.code]) : `${STATUS_OF[o.code]} ${o.code}`
}

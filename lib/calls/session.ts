import { Type, type Static } from 'typebox'

/**
 * The stored call session: the wire's call session minus media credentials,
 * which the shell adds per recipient. Field names follow the wire (snake_case).
 */

export const CALL_STATUSES = ['ringing', 'connected', 'ended'] as const
export const END_REASONS = ['cancelled', 'rejected', 'timeout', 'hangup', 'max_duration', 'forced', 'device_offline', 'unlocked'] as const
export const LEG_STATES = ['ringing', 'answered', 'rejected', 'timeout', 'cancelled', 'busy', 'dnd', 'waiting'] as const
/** Legs the call never rang: the resident was in a connected call, in do not disturb, or its turn (sequential ring) never came. */
export const UNRUNG_LEG_STATES: readonly string[] = ['busy', 'dnd', 'waiting']
/** How a leg's invite went out: an open connection, a push a push service accepted, or neither yet. */
export const DELIVERIES = ['online', 'push', 'queued'] as const
export const PROVIDERS = ['trtc', 'rtc'] as const
export const DEVICE_ACTIONS = ['cancelled', 'hangup', 'unlock_result'] as const
export const RESIDENT_ACTIONS = ['answered', 'rejected', 'hangup', 'timeout', 'unlock', 'decline_all', 'extend'] as const
/** Every action a device or a resident can send; the machine decides which one each may use. */
export const CLIENT_ACTIONS = ['answered', 'rejected', 'cancelled', 'hangup', 'timeout', 'unlock', 'decline_all', 'unlock_result', 'extend'] as const
/** What `history`, `call_info` and control messages name: client actions plus what the server does itself. */
export const CALL_ACTIONS = [...CLIENT_ACTIONS, 'ringing', 'forced', 'max_duration', 'device_offline', 'unlocked', 'ending_soon'] as const
export const TIMERS = ['ring', 'max_duration', 'device_offline', 'unlock_hangup', 'ending_soon', 'next_resident'] as const
/** What a plain `rejected` does: end the resident's own leg, or the whole call (as `decline_all`). */
export const ON_REJECT = ['leg', 'all'] as const

export const CallStatusSchema = Type.Enum(CALL_STATUSES)
export const EndReasonSchema = Type.Union([Type.Enum(END_REASONS), Type.Null()])
export const LegStateSchema = Type.Enum(LEG_STATES)
export const ProviderSchema = Type.Enum(PROVIDERS)
export const DeviceActionSchema = Type.Enum(DEVICE_ACTIONS)
export const ResidentActionSchema = Type.Enum(RESIDENT_ACTIONS)
export const ClientActionSchema = Type.Enum(CLIENT_ACTIONS)
export const CallActionSchema = Type.Enum(CALL_ACTIONS)
export const TimerSchema = Type.Enum(TIMERS)

const Ms = Type.Integer({ minimum: 0, description: 'ms since epoch' })
const Reason = Type.Union([Type.String({ maxLength: 256 }), Type.Null()])

export const DeliverySchema = Type.Enum(DELIVERIES)

export const LegSchema = Type.Object({
  resident_id: Type.String(),
  state: LegStateSchema,
  delivery: Type.Optional(Type.Enum(DELIVERIES, { description: 'how the invite went out, on legs that were invited: `online` (an open connection), `push` (a push service accepted a push), `queued` (neither)' }))
})

/** What the door reported after an unlock. */
export const UnlockResultSchema = Type.Object({
  ok: Type.Boolean({ description: 'the door opened' }),
  door: Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: 'which door, for a device with several' })
})

export const HistoryEntrySchema = Type.Object({
  action: CallActionSchema,
  actor: Type.String({ description: 'identity name, or `system`' }),
  reason: Reason,
  timestamp: Ms,
  seq: Type.Integer({ minimum: 1 }),
  result: Type.Optional(UnlockResultSchema)
})

export const CallInfoSchema = Type.Object({
  call_id: Type.String(),
  action: CallActionSchema,
  reason: Reason,
  timestamp: Ms
})

export const DeadlinesSchema = Type.Object({
  ring: Type.Union([Ms, Type.Null()]),
  max_duration: Type.Union([Ms, Type.Null()]),
  device_offline: Type.Union([Ms, Type.Null()]),
  unlock_hangup: Type.Union([Ms, Type.Null()], { description: 'the call ends `unlocked` then, after the first unlock of a connected call' }),
  ending_soon: Type.Union([Ms, Type.Null()], { description: 'both parties are warned then that max_duration is near' }),
  next_resident: Type.Union([Ms, Type.Null()], { description: 'sequential ring: the ringing resident\'s turn ends then, and the next waiting one rings' })
})

export const CallSessionSchema = Type.Object({
  call_id: Type.String(),
  status: CallStatusSchema,
  provider: ProviderSchema,
  device_device_id: Type.String(),
  target_resident_ids: Type.Array(Type.String(), { description: 'every target, busy ones included' }),
  resident_id: Type.Union([Type.String(), Type.Null()], { description: 'who answered' }),
  household_number: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Optional(Type.String({ description: 'the device\'s request id, when it sent one: a retried request with it returns this call' })),
  on_reject: Type.Enum(ON_REJECT, { description: 'the household policy: `all` makes a plain rejected end the call for everyone' }),
  ring_step_ms: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'the household policy `ring: {sequential: ms}`: residents ring one after the other, each this long; null rings them all at once' }),
  start_time: Ms,
  answer_time: Type.Union([Ms, Type.Null()]),
  end_time: Type.Union([Ms, Type.Null()]),
  end_reason: EndReasonSchema,
  last_activity: Ms,
  call_info: CallInfoSchema,
  history: Type.Array(HistoryEntrySchema, { description: 'every state change, and the latest repeatable commands (unlock)' }),
  history_dropped: Type.Integer({ minimum: 0, description: 'older commands dropped from history to bound its size' }),
  legs: Type.Array(LegSchema),
  ended_by: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Integer({ minimum: 1, description: '+1 per transition; clients drop stale messages with it' }),
  version: Type.Integer({ minimum: 1, description: '+1 per stored change, transition or not; the store compares it' }),
  deadlines: DeadlinesSchema
})

export type CallStatus = Static<typeof CallStatusSchema>
export type EndReason = Static<typeof EndReasonSchema>
export type LegState = Static<typeof LegStateSchema>
export type Provider = Static<typeof ProviderSchema>
export type DeviceAction = Static<typeof DeviceActionSchema>
export type ResidentAction = Static<typeof ResidentActionSchema>
export type ClientAction = Static<typeof ClientActionSchema>
export type CallAction = Static<typeof CallActionSchema>
export type TimerName = Static<typeof TimerSchema>
export type Leg = Static<typeof LegSchema>
export type Delivery = Static<typeof DeliverySchema>
export type HistoryEntry = Static<typeof HistoryEntrySchema>
export type UnlockResult = Static<typeof UnlockResultSchema>
export type CallInfo = Static<typeof CallInfoSchema>
export type Deadlines = Static<typeof DeadlinesSchema>
export type CallSession = Static<typeof CallSessionSchema>

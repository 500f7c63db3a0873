import { clientTimestamp } from '../timestamps'
import { Type, type Static } from 'typebox'
import { IntercomError } from '../errors'
import { ID_PATTERN } from '../identity'
import { ClientActionSchema, PROVIDERS, type Provider, type UnlockResult } from './session'

/**
 * The bodies of the call requests, for HTTP and MQTT alike, and their mapping
 * to the requests the call service takes: written once for both doors.
 * Ids are checked against the id pattern, so `+`, `#` and `/` never reach a topic.
 */
const Id = Type.String({ pattern: ID_PATTERN, description: 'letters, digits, _ and -, up to 64' })
/** Loose on purpose: a well-formed id that names no call is a 404, not a 400. */
const CallId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' })
const Reason = Type.String({ maxLength: 256 })
const Timestamp = clientTimestamp('ms since epoch, echoed in call_info')
const RequestId = Type.String({ minLength: 1, maxLength: 128, description: 'echoed in an MQTT error reply; on a call request, a retry with the same id returns the same call' })
const Ok = Type.Boolean({ description: 'with unlock_result: the door opened' })
const Door = Type.String({ minLength: 1, maxLength: 64, description: 'with unlock_result: which door' })

export const StartCallBodySchema = Type.Object({
  device_device_id: Type.Optional(Id),
  device_id: Type.Optional(Id),
  target_resident_id: Type.Optional(Id),
  household_number: Type.Optional(Id),
  provider: Type.Optional(Type.Enum(PROVIDERS, { description: 'media provider of the call; trtc by default' })),
  timestamp: Type.Optional(Timestamp),
  request_id: Type.Optional(RequestId)
}, { additionalProperties: false })

/** `/api/rtc/call` and `/api/trtc/call`: one device, one resident. */
export const DirectCallBodySchema = Type.Object({
  device_id: Id,
  resident_id: Id,
  timestamp: Type.Optional(Timestamp)
}, { additionalProperties: false })

export const CallInfoBodySchema = Type.Object({
  call_id: CallId,
  action: ClientActionSchema,
  reason: Type.Optional(Reason),
  timestamp: Type.Optional(Timestamp),
  resident_id: Type.Optional(Id),
  ok: Type.Optional(Ok),
  door: Type.Optional(Door)
}, { additionalProperties: false })

/**
 * The nested `{call_info: {...}}` form, or the same fields flat. One object
 * schema rather than a union, so that a validation error names the field.
 */
export const ActionBodySchema = Type.Object({
  call_info: Type.Optional(CallInfoBodySchema),
  call_id: Type.Optional(CallId),
  action: Type.Optional(ClientActionSchema),
  reason: Type.Optional(Reason),
  timestamp: Type.Optional(Timestamp),
  resident_id: Type.Optional(Id),
  ok: Type.Optional(Ok),
  door: Type.Optional(Door),
  request_id: Type.Optional(RequestId)
}, { additionalProperties: false })

export const EndSessionBodySchema = Type.Object({
  call_id: CallId,
  reason: Type.Optional(Reason)
}, { additionalProperties: false })

export const SessionQuerySchema = Type.Object({
  call_id: CallId
}, { additionalProperties: false })

export type StartCallBody = Static<typeof StartCallBodySchema>
export type DirectCallBody = Static<typeof DirectCallBodySchema>
export type ActionBody = Static<typeof ActionBodySchema>
export type EndSessionBody = Static<typeof EndSessionBodySchema>

/** A call to start, whichever door it came through. */
/** Which door a call request came through, for metrics. */
export type CallDoor = 'http' | 'mqtt'

export interface StartRequest {
  deviceId: string
  targetResidentId?: string
  householdNumber?: string
  timestamp?: number
  provider: Provider
  /** A retry with the same id from the same device returns the same call. */
  requestId?: string
  /** `http` when not said. */
  door?: CallDoor
}

/**
 * A start body to a request. Over MQTT the topic names the device (`fromTopic`)
 * and a body naming another one is refused; over HTTP the body must name it.
 */
export function startRequestOf (body: StartCallBody, fromTopic?: string): StartRequest {
  const named = body.device_device_id ?? body.device_id
  if (fromTopic !== undefined && named !== undefined && named !== fromTopic) {
    throw new IntercomError('forbidden', `device/${fromTopic} may not call for device ${named}`)
  }
  const deviceId = fromTopic ?? named
  if (deviceId === undefined) throw new IntercomError('invalid_request', 'device_device_id is required')
  return {
    deviceId,
    provider: body.provider ?? 'trtc',
    ...(fromTopic === undefined ? {} : { door: 'mqtt' as const }),
    ...(body.target_resident_id === undefined ? {} : { targetResidentId: body.target_resident_id }),
    ...(body.household_number === undefined ? {} : { householdNumber: body.household_number }),
    ...(body.timestamp === undefined ? {} : { timestamp: body.timestamp }),
    ...(body.request_id === undefined ? {} : { requestId: body.request_id })
  }
}

/** `/api/trtc/call` and `/api/rtc/call`: one resident, the route's provider. */
export function directStartRequestOf (body: DirectCallBody, provider: Provider): StartRequest {
  return {
    deviceId: body.device_id,
    targetResidentId: body.resident_id,
    provider,
    ...(body.timestamp === undefined ? {} : { timestamp: body.timestamp })
  }
}

export interface ActionRequest {
  call_id: string
  action: Static<typeof ClientActionSchema>
  reason?: string
  timestamp?: number
  resident_id?: string
  result?: UnlockResult
}

/** Both body forms to one request; the nested form wins when both are present. */
export function actionRequestOf (body: ActionBody): ActionRequest {
  const info = body.call_info ?? body
  const residentId = info.resident_id ?? body.resident_id
  // Name the field as the client wrote it: nested or flat.
  const prefix = body.call_info === undefined ? '' : 'call_info.'
  if (info.call_id === undefined) throw new IntercomError('invalid_request', `${prefix}call_id is required`)
  if (info.action === undefined) throw new IntercomError('invalid_request', `${prefix}action is required`)
  const ok = info.ok ?? body.ok
  const door = info.door ?? body.door
  if (info.action === 'unlock_result' && ok === undefined) throw new IntercomError('invalid_request', `${prefix}ok is required with unlock_result: true when the door opened`)
  if (info.action !== 'unlock_result' && (ok !== undefined || door !== undefined)) throw new IntercomError('invalid_request', 'ok and door go only with unlock_result')
  return {
    call_id: info.call_id,
    action: info.action,
    ...(info.reason === undefined ? {} : { reason: info.reason }),
    ...(info.timestamp === undefined ? {} : { timestamp: info.timestamp }),
    ...(residentId === undefined ? {} : { resident_id: residentId }),
    ...(ok === undefined ? {} : { result: { ok, door: door ?? null } })
  }
}

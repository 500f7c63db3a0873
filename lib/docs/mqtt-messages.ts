import { Type } from 'typebox'
import { CallSummarySchema, CallViewSchema } from '../calls/view'
import { CallActionSchema, CallInfoSchema, CallStatusSchema, ProviderSchema, UnlockResultSchema } from '../calls/session'
import { RtcSchema, TencentRtcSchema } from '../credentials/provider'
import { ERROR_STATUS } from '../errors'
import { SystemMessageInputSchema } from '../presence/system-messages'

/**
 * The payloads the server publishes, as schemas for the AsyncAPI document. They are
 * put together from the schemas of the session and credentials, and a test holds
 * every one against messages a real node sent.
 */

const Ms = Type.Integer({ minimum: 0, description: 'ms since epoch' })
const Reason = Type.Union([Type.String(), Type.Null()])
/** With `unlock_result`: what the door reported. */
const UnlockResultFields = { ok: Type.Optional(UnlockResultSchema.properties.ok), door: Type.Optional(UnlockResultSchema.properties.door) }
const Credentials = { tencen_rtc: Type.Optional(TencentRtcSchema), rtc: Type.Optional(RtcSchema) }

export const InviteMessageSchema = Type.Object({
  call_id: Type.String(),
  provider: ProviderSchema,
  device_device_id: Type.String(),
  target_resident_id: Type.String({ description: 'the recipient' }),
  target_resident_ids: Type.Array(Type.String()),
  household_number: Type.Union([Type.String(), Type.Null()]),
  timestamp: Ms,
  expires_at: Type.Integer({ minimum: 0, description: 'ms since epoch; an invite delivered later must be ignored' }),
  seq: Type.Integer({ minimum: 1 }),
  call_info: CallInfoSchema,
  ...Credentials
}, { additionalProperties: false, description: 'invite to one resident, with its own media credentials' })

export const ControlMessageSchema = Type.Object({
  action: CallActionSchema,
  call_id: Type.String(),
  status: CallStatusSchema,
  reason: Reason,
  resident_id: Type.Optional(Type.String({ description: 'who answered, rejected or unlocked' })),
  ends_at: Type.Optional(Type.Integer({ minimum: 0, description: '`ending_soon`, `extend`: ms since epoch when max_duration ends the call' })),
  ...UnlockResultFields,
  timestamp: Ms,
  seq: Type.Integer({ minimum: 1, description: 'drop a message whose seq is not above the last one seen' }),
  session: Type.Optional(CallViewSchema),
  ...Credentials
}, { additionalProperties: false, description: 'a transition of the call for one party; the device\'s first one (`ringing`) carries the session and its credentials' })

export const CallEventSchema = Type.Object({
  call_id: Type.String(),
  action: CallActionSchema,
  actor: Type.String({ description: 'identity name, or `system`' }),
  reason: Reason,
  ...UnlockResultFields,
  status: CallStatusSchema,
  timestamp: Ms,
  seq: Type.Integer({ minimum: 1 }),
  session: CallSummarySchema
}, { additionalProperties: false, description: 'every transition, with the session after it summed up (no history, no credentials)' })

export const ErrorReplySchema = Type.Object({
  request_id: Type.Optional(Type.String()),
  call_id: Type.Optional(Type.String()),
  error: Type.Enum(Object.keys(ERROR_STATUS) as Array<keyof typeof ERROR_STATUS>),
  message: Type.String({ description: 'what went wrong and what to do' })
}, { additionalProperties: false, description: 'why a request was refused; nothing was applied or forwarded' })

const { target: _target, timestamp: _timestamp, ...systemFields } = SystemMessageInputSchema.properties
export const SystemMessageSchema = Type.Object({
  message_id: Type.String(),
  ...systemFields,
  timestamp: Ms,
  target: Type.Optional(Type.Array(Type.String(), { description: 'the identity names it was sent to' }))
}, { additionalProperties: false, description: 'a system message from a service' })

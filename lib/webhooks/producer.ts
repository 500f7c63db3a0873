import type { CallView } from '../calls/view'
import { callRecordOf } from './call-record'
import type { WebhookEventType } from './events'

/** What the server published that integrators hear of, before any webhook is looked up. */
export type Observed =
  | { kind: 'event', type: WebhookEventType, orderKey: string, data: Record<string, unknown> }
  /** A device status: whether online changed is known only against the last one seen. */
  | { kind: 'device_status', deviceId: string, online: boolean, data: Record<string, unknown> }

/** What a device may still report once the call has ended: no second `call.ended`. */
const AFTER_THE_END: ReadonlySet<string> = new Set(['unlock_result'])

const CALL_EVENTS = /^calls\/([^/]+)\/events$/
const DEVICE_STATUS = /^devices\/([^/]+)\/status$/

/** Transitions that are webhook events of their own; an ended call is `call.ended` whatever ended it. */
const CALL_ACTION_EVENTS: Readonly<Record<string, WebhookEventType>> = {
  ringing: 'call.ringing',
  answered: 'call.answered',
  unlock: 'call.unlock'
}

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The call key orders deliveries per call; device keys per device. */
export const orderKeys = {
  call: (callId: string) => `call:${callId}`,
  device: (deviceId: string) => `device:${deviceId}`
}

/**
 * Reads one server publish (pure): a call transition on `calls/<id>/events`, or
 * a device status on `devices/D/status`. Anything else is not for webhooks.
 */
export function observe (topic: string, message: unknown): Observed[] {
  if (!isObject(message)) return []
  const callId = CALL_EVENTS.exec(topic)?.[1]
  if (callId !== undefined) {
    const out: Observed[] = []
    const type = CALL_ACTION_EVENTS[String(message.action)]
    if (type !== undefined) out.push({ kind: 'event', type, orderKey: orderKeys.call(callId), data: message })
    if (message.status === 'ended' && !AFTER_THE_END.has(String(message.action)) && isObject(message.session)) {
      out.push({
        kind: 'event',
        type: 'call.ended',
        orderKey: orderKeys.call(callId),
        data: { ...message, record: callRecordOf(message.session as unknown as Omit<CallView, 'history'>) }
      })
    }
    return out
  }
  const deviceId = DEVICE_STATUS.exec(topic)?.[1]
  if (deviceId !== undefined && typeof message.online === 'boolean') {
    return [{ kind: 'device_status', deviceId, online: message.online, data: message }]
  }
  return []
}

import type { CallSession } from '../../../lib/calls/session'
import type { DeviceStatus } from '../../../lib/presence/device-status'
import type { Static } from 'typebox'
import type { RtcSchema, TencentRtcSchema } from '../../../lib/credentials/provider'

/**
 * What the console reads off the wire, typed from the server's own schemas.
 * Values the console only shows (actions, reasons, leg states) are read as
 * plain strings where the server may grow them.
 */

export type TencentRtc = Static<typeof TencentRtcSchema>
export type Rtc = Static<typeof RtcSchema>
export type { DeviceStatus }

export interface MediaCredentials {
  tencen_rtc?: TencentRtc
  rtc?: Rtc
}

/** A call session; events may carry it without `history`, which `GET /api/mqtt/session` gives in full. */
export type CallView = Omit<CallSession, 'version' | 'deadlines' | 'history' | 'history_dropped'> & MediaCredentials & {
  history?: CallSession['history']
  history_dropped?: number
}

/** `calls/<call_id>/events`. */
export interface CallEvent {
  call_id: string
  action: string
  actor: string
  reason: string | null
  status: string
  timestamp: number
  seq: number
  session: CallView
}

/** `users/R/calls/control` and `devices/D/calls/control`; a device's `ringing` carries the session. */
export interface ControlMessage extends MediaCredentials {
  action: string
  call_id: string
  status: string
  reason: string | null
  resident_id?: string
  timestamp: number
  seq: number
  session?: CallView
  /** `ending_soon` and `extend`: when the call will end with max_duration. */
  ends_at?: number
  /** `unlock_result`: whether the door opened, and which. */
  ok?: boolean
  door?: string | null
}

/** `users/R/calls/incoming`. */
export interface InviteMessage extends MediaCredentials {
  call_id: string
  provider: string
  device_device_id: string
  target_resident_id: string
  target_resident_ids: string[]
  household_number: string | null
  timestamp: number
  expires_at: number
  seq: number
}

/** `.../calls/error`. */
export interface ErrorMessage {
  request_id?: string
  call_id?: string
  error: string
  message: string
}

/** `GET /api/calls`. */
export interface CallPage {
  items: CallView[]
  next_cursor: string | null
}

/** `GET /api/admin/directory`: the directory, secrets omitted. */
export interface DirectoryView {
  devices: Array<{ id: string, households: string[] }>
  households: Array<{ number: string, residents: string[], policy?: unknown }>
  residents: Array<{ id: string, can_unlock?: boolean }>
  services?: Array<{ name: string }>
  clients?: Array<{ name: string, publish: string[], subscribe: string[] }>
}

/** Parses an MQTT payload as a JSON object, or null when it is not one. */
export function parseJson (payload: Uint8Array | string): Record<string, unknown> | null {
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder().decode(payload)
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null
  } catch {
    return null
  }
}

/** Every topic of the wire contract, built in one place. */
export const topics = {
  invite: (residentId: string) => `users/${residentId}/calls/incoming`,
  residentControl: (residentId: string) => `users/${residentId}/calls/control`,
  residentError: (residentId: string) => `users/${residentId}/calls/error`,
  residentAction: (residentId: string) => `users/${residentId}/calls/action`,
  residentSystem: (residentId: string) => `users/${residentId}/system`,
  deviceControl: (deviceId: string) => `devices/${deviceId}/calls/control`,
  deviceError: (deviceId: string) => `devices/${deviceId}/calls/error`,
  deviceAction: (deviceId: string) => `devices/${deviceId}/calls/action`,
  deviceStatus: (deviceId: string) => `devices/${deviceId}/status`,
  deviceStatusReport: (deviceId: string) => `devices/${deviceId}/status/report`,
  deviceSystem: (deviceId: string) => `devices/${deviceId}/system`,
  callRequest: (deviceId: string) => `calls/request/${deviceId}`,
  callEvents: (callId: string) => `calls/${callId}/events`,
  system: (type: string) => `system/${type}`
}

/**
 * Topics only the server publishes on, as split filters. The targeted
 * system topics (`users/R/system`, `devices/D/system`) are server-only too.
 */
export const SERVER_ONLY_FILTERS: readonly string[][] = [
  'users/+/calls/incoming',
  'users/+/calls/control',
  'users/+/calls/error',
  'users/+/system',
  'devices/+/calls/control',
  'devices/+/calls/error',
  'devices/+/status',
  'devices/+/system',
  'calls/+/events'
].map((f) => f.split('/'))

/** Topics whose messages are requests to the server, consumed by it and never forwarded. */
export const REQUEST_FILTERS: readonly string[][] = [
  'calls/request/+',
  'devices/+/calls/action',
  'devices/+/status/report',
  'users/+/calls/action'
].map((f) => f.split('/'))

/**
 * Where refused publishes are sent: a `$` topic that no subscription can
 * match, since `$` subscriptions are refused and wildcards never match `$`.
 */
export const DISCARD_TOPIC = '$intercom/discarded'

import type { DeviceStatus } from '../presence/device-status'

/** What a connection event did to a device's presence. */
export interface PresenceChange {
  /** The status after the event. */
  status: DeviceStatus
  /**
   * True when the event moved the device between offline and online: its
   * first connection opened, or its last one closed.
   */
  changed: boolean
}

/**
 * Device statuses and the open MQTT connections of each device. Every method
 * is one atomic step, so that nodes of a cluster sharing the store never
 * lose an update or miscount connections.
 *
 * Presence counts connections, not client ids: when a device reconnects
 * with the same client id, the new connection is opened before the broker
 * closes the old one (takeover), and the device stays online throughout.
 */
export interface StatusStore {
  /** The stored status, or the initial one of a device never heard from. */
  get (deviceId: string): Promise<DeviceStatus>
  /**
   * Read-modify-write of one status. `fn` is pure and may run more than once
   * (an implementation may retry it on a concurrent write); what it throws
   * rejects the update and changes nothing.
   */
  update (deviceId: string, fn: (current: DeviceStatus) => DeviceStatus): Promise<DeviceStatus>
  /** Records a connection and marks the device online, seen at `now`. */
  connectionOpened (deviceId: string, connectionId: string, now: number): Promise<PresenceChange>
  /**
   * Forgets a connection; when it was the device's last one, marks the device
   * offline, seen at `now`. Closing an unknown connection changes nothing.
   */
  connectionClosed (deviceId: string, connectionId: string, now: number): Promise<PresenceChange>
}

import { initialStatus, mergeStatus, type DeviceStatus } from '../presence/device-status'
import type { PresenceChange, StatusStore } from './status-store'

/** The status store of a single node: plain maps, each method synchronous inside. */
export function createMemoryStatusStore (): StatusStore {
  const statuses = new Map<string, DeviceStatus>()
  const connections = new Map<string, Set<string>>()

  function read (deviceId: string): DeviceStatus {
    return statuses.get(deviceId) ?? initialStatus(deviceId)
  }

  function write (status: DeviceStatus): DeviceStatus {
    statuses.set(status.device_id, status)
    return status
  }

  return {
    async get (deviceId) {
      return read(deviceId)
    },

    async update (deviceId, fn) {
      return write(fn(read(deviceId)))
    },

    async connectionOpened (deviceId, connectionId, now): Promise<PresenceChange> {
      let open = connections.get(deviceId)
      if (open === undefined) {
        open = new Set()
        connections.set(deviceId, open)
      }
      const changed = open.size === 0
      open.add(connectionId)
      return { status: write(mergeStatus(read(deviceId), { online: true }, now)), changed }
    },

    async connectionClosed (deviceId, connectionId, now): Promise<PresenceChange> {
      const open = connections.get(deviceId)
      if (open === undefined || !open.delete(connectionId)) return { status: read(deviceId), changed: false }
      if (open.size > 0) return { status: read(deviceId), changed: false }
      connections.delete(deviceId)
      return { status: write(mergeStatus(read(deviceId), { online: false }, now)), changed: true }
    }
  }
}

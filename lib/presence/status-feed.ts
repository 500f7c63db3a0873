import type { Publisher } from '../broker/publisher'
import { IntercomError } from '../errors'
import type { RateLimiter } from '../limits/rate-limiter'
import type { PresenceChange, StatusStore } from '../stores/status-store'
import { topics } from '../topics/names'
import { DEFAULT_STATUS_BOUNDS, mergeStatus, type DeviceStatus, type StatusBounds, type StatusUpdate } from './device-status'

export interface StatusFeedOptions {
  store: StatusStore
  publisher: Publisher
  /** Status updates per second per device, whoever makes them; presence changes are not counted. */
  rateLimit?: { limiter: RateLimiter, perSecond: number }
  bounds?: StatusBounds
  now?: () => number
}

/**
 * Every change of a device status goes through here: applied to the store,
 * then published in full, retained, on `devices/D/status`. Changes of one
 * device run one after the other, so the retained message is always the
 * outcome of the last change made on this node.
 */
export interface StatusFeed {
  /** Merges an update; `bySelf` when the device itself sent it (sets `last_seen`). */
  update (deviceId: string, update: StatusUpdate, bySelf: boolean): Promise<DeviceStatus>
  connectionOpened (deviceId: string, connectionId: string): Promise<PresenceChange>
  connectionClosed (deviceId: string, connectionId: string): Promise<PresenceChange>
  /** Resolves when the changes started so far are done. */
  drain (): Promise<void>
}

export function createStatusFeed (options: StatusFeedOptions): StatusFeed {
  const { store, publisher, rateLimit } = options
  const bounds = options.bounds ?? DEFAULT_STATUS_BOUNDS
  const now = options.now ?? Date.now
  const tails = new Map<string, Promise<unknown>>()

  function publish (status: DeviceStatus): Promise<void> {
    return publisher.publish(topics.deviceStatus(status.device_id), status, { qos: 1, retain: true })
  }

  function inOrder<T> (deviceId: string, step: () => Promise<T>): Promise<T> {
    const run = (tails.get(deviceId) ?? Promise.resolve()).then(step)
    const tail = run.catch(() => {})
    tails.set(deviceId, tail)
    // Forget a device once its last change is done, so the map holds only busy devices.
    tail.then(() => { if (tails.get(deviceId) === tail) tails.delete(deviceId) }, () => {})
    return run
  }

  return {
    async update (deviceId, update, bySelf) {
      // Each update republishes the whole status to every subscriber: its rate is bounded like any action's.
      if (rateLimit !== undefined && !(await rateLimit.limiter.take(deviceId))) {
        throw new IntercomError('rate_limited', `more than ${rateLimit.perSecond} status updates per second for device ${deviceId}; report less often`)
      }
      return inOrder(deviceId, async () => {
        const status = await store.update(deviceId, (current) => mergeStatus(current, update, bySelf ? now() : undefined, bounds))
        await publish(status)
        return status
      })
    },

    connectionOpened (deviceId, connectionId) {
      return inOrder(deviceId, async () => {
        const change = await store.connectionOpened(deviceId, connectionId, now())
        await publish(change.status)
        return change
      })
    },

    connectionClosed (deviceId, connectionId) {
      return inOrder(deviceId, async () => {
        const change = await store.connectionClosed(deviceId, connectionId, now())
        if (change.changed) await publish(change.status)
        return change
      })
    },

    async drain () {
      await Promise.all([...tails.values()])
    }
  }
}

import { Type, type Static } from 'typebox'
import { IntercomError } from '../errors'
import { ID_PATTERN } from '../identity'

/** What `devices/D/status` carries (retained) and the status routes return. */
export const DeviceStatusSchema = Type.Object({
  device_id: Type.String({ pattern: ID_PATTERN }),
  online: Type.Boolean(),
  battery: Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()]),
  properties: Type.Record(Type.String(), Type.Unknown()),
  last_seen: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'ms since epoch the device was last heard from' })
}, { additionalProperties: false })

export type DeviceStatus = Static<typeof DeviceStatusSchema>

/** The fields a status report or a status update may set; each one is optional. */
export const StatusUpdateFields = {
  online: Type.Optional(Type.Boolean()),
  battery: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'percent' })),
  properties: Type.Optional(Type.Record(Type.String(), Type.Unknown(), {
    description: 'merged key by key into the stored properties; a key set to null is deleted'
  }))
}

export const StatusUpdateSchema = Type.Object(StatusUpdateFields, { additionalProperties: false })

export type StatusUpdate = Static<typeof StatusUpdateSchema>

/** Bounds on what a device may store, so that repeated reports cannot grow a status without limit. */
export const MAX_PROPERTIES = 64
export const MAX_PROPERTY_KEY_LENGTH = 64

/**
 * Size bounds in bytes of JSON: a status is published in full at every change,
 * so its size is what each change costs every subscriber.
 */
export interface StatusBounds {
  /** One property value. */
  maxValueBytes: number
  /** The whole status. */
  maxStatusBytes: number
}

export const DEFAULT_STATUS_BOUNDS: StatusBounds = { maxValueBytes: 1024, maxStatusBytes: 8192 }

const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8')

/** The status of a device nothing has been heard from. */
export function initialStatus (deviceId: string): DeviceStatus {
  return { device_id: deviceId, online: false, battery: null, properties: {}, last_seen: null }
}

/**
 * Applies an update: `online` and `battery` replace the current values when
 * given, `properties` merge key by key and a key set to null is deleted.
 * `seenAt` is when the device itself was heard from; an update made by
 * someone else passes undefined and leaves `last_seen` alone.
 * Throws invalid_request when the merged properties would break the bounds.
 */
export function mergeStatus (current: DeviceStatus, update: StatusUpdate, seenAt?: number, bounds: StatusBounds = DEFAULT_STATUS_BOUNDS): DeviceStatus {
  let properties = current.properties
  if (update.properties !== undefined) {
    // A Map, not property assignment: a key such as "__proto__" stays plain data.
    const merged = new Map(Object.entries(current.properties))
    for (const [key, value] of Object.entries(update.properties)) {
      if (key.length === 0 || key.length > MAX_PROPERTY_KEY_LENGTH) {
        throw new IntercomError('invalid_request', `properties key "${key.slice(0, MAX_PROPERTY_KEY_LENGTH)}" must be 1 to ${MAX_PROPERTY_KEY_LENGTH} characters long`)
      }
      if (value === null) {
        merged.delete(key)
        continue
      }
      const size = jsonBytes(value)
      if (size > bounds.maxValueBytes) {
        throw new IntercomError('invalid_request', `properties.${key} is ${size} bytes of JSON; a property value may have at most ${bounds.maxValueBytes}`)
      }
      merged.set(key, value)
    }
    if (merged.size > MAX_PROPERTIES) {
      throw new IntercomError('invalid_request', `a device keeps at most ${MAX_PROPERTIES} properties; delete some by setting them to null`)
    }
    properties = Object.fromEntries(merged)
  }
  const status = {
    device_id: current.device_id,
    online: update.online ?? current.online,
    battery: update.battery ?? current.battery,
    properties,
    last_seen: seenAt ?? current.last_seen
  }
  if (properties !== current.properties) {
    const size = jsonBytes(status)
    if (size > bounds.maxStatusBytes) {
      throw new IntercomError('invalid_request', `the status would be ${size} bytes of JSON, over the ${bounds.maxStatusBytes}-byte limit; delete or shorten properties`)
    }
  }
  return status
}

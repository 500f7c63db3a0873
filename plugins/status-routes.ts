import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Directory } from '../lib/directory/directory'
import { IntercomError, successEnvelope } from '../lib/errors'
import { ID_PATTERN, type Identity } from '../lib/identity'
import { DeviceStatusSchema, StatusUpdateFields } from '../lib/presence/device-status'
import type { StatusFeed } from '../lib/presence/status-feed'
import type { StatusStore } from '../lib/stores/status-store'
import { identityOf } from './auth'

export interface StatusRoutesOptions {
  directory: Directory
  store: StatusStore
  feed: StatusFeed
}

const DeviceId = Type.String({ pattern: ID_PATTERN })

const StatusBody = Type.Object({ device_id: DeviceId, ...StatusUpdateFields }, { additionalProperties: false })
const StatusQuery = Type.Object({ device_id: DeviceId }, { additionalProperties: false })
const StatusResponse = Type.Object({ code: Type.Literal(0), message: Type.String(), data: DeviceStatusSchema })

function requireDevice (directory: Directory, deviceId: string): void {
  if (!directory.hasDevice(deviceId)) throw new IntercomError('not_found', `no device ${deviceId}; check device_id`)
}

/** A device writes only its own status; a service writes any. */
function checkWrite (identity: Identity, deviceId: string): void {
  if (identity.kind === 'service') return
  if (identity.kind === 'device' && identity.id === deviceId) return
  throw new IntercomError('forbidden', `${identity.name} may not set the status of device ${deviceId}; a device sets only its own`)
}

/** A device reads its own status, a resident that of its households' devices, a service any. */
function checkRead (directory: Directory, identity: Identity, deviceId: string): void {
  if (identity.kind === 'service') return
  if (identity.kind === 'device' && identity.id === deviceId) return
  if (identity.kind === 'resident' && directory.residentsOfDevice(deviceId).includes(identity.id)) return
  throw new IntercomError('forbidden', `${identity.name} may not read the status of device ${deviceId}`)
}

/** `POST` and `GET /api/mqtt/device/status`. */
export default async function statusRoutes (app: FastifyInstance, options: StatusRoutesOptions): Promise<void> {
  const { directory, store, feed } = options
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.post('/api/mqtt/device/status', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Update a device status (merged) and publish it retained on devices/<id>/status',
      tags: ['devices'],
      body: StatusBody,
      response: { 200: StatusResponse }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const { device_id: deviceId, ...update } = request.body
    checkWrite(identity, deviceId)
    requireDevice(directory, deviceId)
    return successEnvelope(await feed.update(deviceId, update, identity.kind === 'device'))
  })

  typed.get('/api/mqtt/device/status', {
    onRequest: app.authenticate,
    schema: {
      summary: 'Read a device status',
      tags: ['devices'],
      querystring: StatusQuery,
      response: { 200: StatusResponse }
    }
  }, async (request) => {
    const identity = identityOf(request)
    const deviceId = request.query.device_id
    // Whether a device exists is for services and residents to learn; anyone else reads only itself.
    if (identity.kind !== 'service' && identity.kind !== 'resident') checkRead(directory, identity, deviceId)
    requireDevice(directory, deviceId)
    checkRead(directory, identity, deviceId)
    return successEnvelope(await store.get(deviceId))
  })
}

import { IntercomError } from '../errors'
import type { Identity } from '../identity'
import type { CallListQuery } from './listing'

/**
 * Who sees which calls in a listing: a service every call, a device its own,
 * a resident the calls that rang it. A device or resident naming another
 * party as the filter is refused rather than silently answered with nothing.
 */
export function scopeToReader (reader: Identity, query: CallListQuery): CallListQuery {
  switch (reader.kind) {
    case 'service':
      return query
    case 'device':
      if (query.deviceId !== undefined && query.deviceId !== reader.id) {
        throw new IntercomError('forbidden', `${reader.name} may list only its own calls; leave device_id out or set it to ${reader.id}`)
      }
      return { ...query, deviceId: reader.id }
    case 'resident':
      if (query.residentId !== undefined && query.residentId !== reader.id) {
        throw new IntercomError('forbidden', `${reader.name} may list only the calls that rang it; leave resident_id out or set it to ${reader.id}`)
      }
      return { ...query, residentId: reader.id }
    default:
      throw new IntercomError('forbidden', `${reader.name} may not list calls; a service, a device or a resident may`)
  }
}

import type { Directory } from '../directory/directory'
import { IntercomError } from '../errors'
import type { StartRequest } from './request-bodies'

/**
 * Whom a call rings, in ring order: the one target when named (it must be
 * associated with the device), else the household's residents, else every
 * resident associated with the device.
 */
export function ringTargets (directory: Directory, request: StartRequest): readonly string[] {
  const { deviceId, targetResidentId, householdNumber } = request
  if (targetResidentId !== undefined) {
    if (!directory.hasResident(targetResidentId)) throw new IntercomError('not_found', `no resident ${targetResidentId} in the directory`)
    if (!directory.residentsOfDevice(deviceId).includes(targetResidentId)) {
      throw new IntercomError('forbidden', `resident ${targetResidentId} is not associated with device ${deviceId}`)
    }
    return [targetResidentId]
  }
  if (householdNumber !== undefined) {
    if (!directory.householdsOfDevice(deviceId).includes(householdNumber)) {
      throw new IntercomError('forbidden', `household ${householdNumber} is not served by device ${deviceId}`)
    }
    return directory.residentsOfHousehold(householdNumber)
  }
  return directory.residentsOfDevice(deviceId)
}

/**
 * Sequential or parallel: the named household's `ring` policy; a call to every
 * resident of the device follows it only when the device serves that one
 * household (residents of several households ring at once); one resident just rings.
 */
export function ringStep (directory: Directory, request: StartRequest): number | null {
  if (request.targetResidentId !== undefined) return null
  if (request.householdNumber !== undefined) return directory.ringStep(request.householdNumber)
  const households = directory.householdsOfDevice(request.deviceId)
  return households.length === 1 ? directory.ringStep(households[0] as string) : null
}

/**
 * What a plain rejection does in this call: the named household's policy; for
 * a call to every resident of the device, `all` only when each of its
 * households says so; `leg` for a call to one resident (its rejection ends it anyway).
 */
export function rejectPolicy (directory: Directory, request: StartRequest): 'leg' | 'all' {
  if (request.targetResidentId !== undefined) return 'leg'
  if (request.householdNumber !== undefined) return directory.onReject(request.householdNumber)
  const households = directory.householdsOfDevice(request.deviceId)
  return households.length > 0 && households.every((h) => directory.onReject(h) === 'all') ? 'all' : 'leg'
}

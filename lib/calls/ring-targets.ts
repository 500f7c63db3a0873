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

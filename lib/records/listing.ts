import { UNRUNG_LEG_STATES, type CallSession, type CallStatus, type EndReason } from '../calls/session'

/**
 * Call listing, the part both stores share: which index a query walks and what
 * it still has to check per call. Every index holds call ids scored by
 * `start_time`, walked newest first, ties broken by call id (higher first).
 */

export type EndReasonName = NonNullable<EndReason>

export interface CallPosition {
  startTime: number
  callId: string
}

/** A listing query, rights already applied (see rights.ts). */
export interface CallListQuery {
  deviceId?: string
  /** Calls that rang this resident (busy and DND legs excluded). */
  residentId?: string
  householdNumber?: string
  status?: CallStatus
  endReason?: EndReasonName
  /** start_time ≥ since. */
  since?: number
  /** start_time < until. */
  until?: number
  limit: number
  /** Continue after this call (from the previous page's cursor). */
  after?: CallPosition
}

export interface CallListPage {
  sessions: CallSession[]
  /** Where the next page starts; null when the listing is complete. */
  next: CallPosition | null
}

/** What a walked index does not already guarantee. */
export interface ResidualFilter {
  deviceId?: string
  residentId?: string
  householdNumber?: string
  status?: CallStatus
  endReason?: EndReasonName
}

export interface ListingPlan {
  index: string
  residual: ResidualFilter
}

const ALL_INDEX = 'all'
const ACTIVE_INDEX = 'active'
const deviceIndex = (id: string): string => `device:${id}`
const residentIndex = (id: string): string => `resident:${id}`
const householdIndex = (n: string): string => `household:${n}`
const endReasonIndex = (r: string): string => `end_reason:${r}`

/** The indexes a session belongs to; a store keeps each index equal to this over its sessions. */
export function indexesOf (session: CallSession): string[] {
  const names = [ALL_INDEX, deviceIndex(session.device_device_id)]
  if (session.household_number !== null) names.push(householdIndex(session.household_number))
  for (const leg of session.legs) if (!UNRUNG_LEG_STATES.includes(leg.state)) names.push(residentIndex(leg.resident_id))
  if (session.status !== 'ended') names.push(ACTIVE_INDEX)
  else if (session.end_reason !== null) names.push(endReasonIndex(session.end_reason))
  return names
}

/**
 * The smallest index that holds every answer: the few active calls for a live
 * status, else one party's calls, else an end reason, else every call.
 */
export function planListing (query: CallListQuery): ListingPlan {
  const { deviceId, residentId, householdNumber, status, endReason } = query
  const residual: ResidualFilter = {
    ...(deviceId === undefined ? {} : { deviceId }),
    ...(residentId === undefined ? {} : { residentId }),
    ...(householdNumber === undefined ? {} : { householdNumber }),
    ...(status === undefined ? {} : { status }),
    ...(endReason === undefined ? {} : { endReason })
  }
  const without = (...keys: Array<keyof ResidualFilter>): ResidualFilter => {
    const rest = { ...residual }
    for (const key of keys) delete rest[key]
    return rest
  }
  if (status === 'ringing' || status === 'connected') return { index: ACTIVE_INDEX, residual }
  if (residentId !== undefined) return { index: residentIndex(residentId), residual: without('residentId') }
  if (deviceId !== undefined) return { index: deviceIndex(deviceId), residual: without('deviceId') }
  if (householdNumber !== undefined) return { index: householdIndex(householdNumber), residual: without('householdNumber') }
  if (endReason !== undefined) {
    const rest = without('endReason')
    if (rest.status === 'ended') delete rest.status
    return { index: endReasonIndex(endReason), residual: rest }
  }
  return { index: ALL_INDEX, residual }
}

export function matchesResidual (session: CallSession, filter: ResidualFilter): boolean {
  if (filter.deviceId !== undefined && session.device_device_id !== filter.deviceId) return false
  if (filter.householdNumber !== undefined && session.household_number !== filter.householdNumber) return false
  if (filter.status !== undefined && session.status !== filter.status) return false
  if (filter.endReason !== undefined && session.end_reason !== filter.endReason) return false
  if (filter.residentId !== undefined && !session.legs.some((l) => l.resident_id === filter.residentId && !UNRUNG_LEG_STATES.includes(l.state))) return false
  return true
}

export const hasResidual = (filter: ResidualFilter): boolean => Object.keys(filter).length > 0

export const positionOf = (session: CallSession): CallPosition => ({ startTime: session.start_time, callId: session.call_id })

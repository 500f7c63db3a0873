import { Type, type Static } from 'typebox'
import { CallStatusSchema, END_REASONS } from '../calls/session'
import { ID_PATTERN } from '../identity'
import { decodeCursor } from './cursor'
import type { CallListQuery } from './listing'

/** The query string of `GET /api/calls`; every value bounded. */

const DEFAULT_PAGE = 50
const MAX_PAGE = 200

const Id = Type.String({ pattern: ID_PATTERN })
/** Up to the largest JavaScript date. */
const Ms = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 })

export const CallListQuerySchema = Type.Object({
  device_id: Type.Optional(Id),
  resident_id: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'the calls that rang this resident (busy and DND legs excluded)' })),
  household_number: Type.Optional(Id),
  status: Type.Optional(CallStatusSchema),
  end_reason: Type.Optional(Type.Enum(END_REASONS)),
  since: Type.Optional(Type.Integer({ ...Ms, description: 'start_time ≥ since (ms since epoch)' })),
  until: Type.Optional(Type.Integer({ ...Ms, description: 'start_time < until (ms since epoch)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE, description: 'items per page' })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' }))
}, { additionalProperties: false })

export type CallListQueryString = Static<typeof CallListQuerySchema>

const NUMERIC = ['since', 'until', 'limit'] as const

/**
 * Query strings carry text; the numeric fields become numbers when they are
 * plain digits, so that validation judges the value and names the field
 * (`limit must be <= 200`, `since must be integer`).
 */
export function numbersOfQuery (query: Record<string, unknown>): void {
  for (const field of NUMERIC) {
    const value = query[field]
    if (typeof value === 'string' && /^\d{1,16}$/.test(value)) query[field] = Number(value)
  }
}

/** The validated query string as a store query (rights not applied yet). */
export function listQueryOf (query: CallListQueryString): CallListQuery {
  return {
    ...(query.device_id === undefined ? {} : { deviceId: query.device_id }),
    ...(query.resident_id === undefined ? {} : { residentId: query.resident_id }),
    ...(query.household_number === undefined ? {} : { householdNumber: query.household_number }),
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.end_reason === undefined ? {} : { endReason: query.end_reason }),
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
    ...(query.cursor === undefined ? {} : { after: decodeCursor(query.cursor) }),
    limit: query.limit ?? DEFAULT_PAGE
  }
}

import { Type, type Static } from 'typebox'
import { CallViewSchema, viewOf } from '../calls/view'
import type { CallSession } from '../calls/session'
import type { Identity } from '../identity'
import { isMissedBy } from './missed'

const { tencen_rtc: _trtc, rtc: _rtc, ...recordProperties } = CallViewSchema.properties

/** A listed call: the session as its parties see it, never with media credentials. */
export const CallRecordSchema = Type.Object({
  ...recordProperties,
  missed: Type.Optional(Type.Boolean({ description: 'for a resident only: the call ended unanswered and this resident did not reject it' }))
})

export const CallRecordPageSchema = Type.Object({
  items: Type.Array(CallRecordSchema, { description: 'newest first' }),
  next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as cursor for the next page; null when the listing is complete (a page may hold fewer than limit items before that)' })
})

export type CallRecord = Static<typeof CallRecordSchema>

export function recordOf (session: CallSession, reader: Identity): CallRecord {
  const view = viewOf(session, null)
  return reader.kind === 'resident' ? { ...view, missed: isMissedBy(session, reader.id) } : view
}

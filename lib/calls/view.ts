import { Type, type Static } from 'typebox'
import type { CallCredentials } from '../credentials'
import { RtcSchema, TencentRtcSchema } from '../credentials/provider'
import { CallSessionSchema, type CallSession } from './session'

const { version: _version, deadlines: _deadlines, ...wireProperties } = CallSessionSchema.properties

/** The session as clients see it: no store bookkeeping, plus the reader's own media credentials. */
export const CallViewSchema = Type.Object({
  ...wireProperties,
  tencen_rtc: Type.Optional(TencentRtcSchema),
  rtc: Type.Optional(RtcSchema)
})

export type CallView = Static<typeof CallViewSchema>

export function viewOf (session: CallSession, credentials: CallCredentials | null): CallView {
  const { version: _version, deadlines: _deadlines, ...wire } = session
  return credentials === null ? wire : { ...wire, ...credentials }
}

const { history: _history, history_dropped: _dropped, ...summaryProperties } = wireProperties

/** What an event carries of the session: everything but `history`, so its size does not grow with the call. */
export const CallSummarySchema = Type.Object(summaryProperties)

export type CallSummary = Static<typeof CallSummarySchema>

export function summaryOf (session: CallSession): CallSummary {
  const { version: _version, deadlines: _deadlines, history: _h, history_dropped: _d, ...summary } = session
  return summary
}

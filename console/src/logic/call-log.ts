import type { CallView } from './wire'

/** The call log's filters, as the form holds them (empty string: no filter). */
export interface CallFilters {
  device_id: string
  resident_id: string
  household_number: string
  status: string
  end_reason: string
  /** `datetime-local` values, in the browser's time zone. */
  since: string
  until: string
}

export const noFilters: CallFilters = { device_id: '', resident_id: '', household_number: '', status: '', end_reason: '', since: '', until: '' }

/** One page of `GET /api/calls`. */
export const PAGE_SIZE = 50

function toMs (local: string): number | null {
  if (local === '') return null
  const ms = new Date(local).getTime()
  return Number.isNaN(ms) ? null : ms
}

/** The query string of `GET /api/calls` for these filters and an optional cursor. */
export function callsQuery (filters: CallFilters, cursor: string | null, limit = PAGE_SIZE): string {
  const query = new URLSearchParams()
  for (const key of ['device_id', 'resident_id', 'household_number', 'status', 'end_reason'] as const) {
    const value = filters[key].trim()
    if (value !== '') query.set(key, value)
  }
  const since = toMs(filters.since)
  const until = toMs(filters.until)
  if (since !== null) query.set('since', String(since))
  if (until !== null) query.set('until', String(until))
  query.set('limit', String(limit))
  if (cursor !== null) query.set('cursor', cursor)
  return query.toString()
}

/** Whether a call seen live belongs in a log showing these filters (same rules as the server's). */
export function matchesFilters (call: CallView, filters: CallFilters): boolean {
  const f = (value: string): string => value.trim()
  if (f(filters.device_id) !== '' && call.device_device_id !== f(filters.device_id)) return false
  if (f(filters.resident_id) !== '' && !call.target_resident_ids.includes(f(filters.resident_id))) return false
  if (f(filters.household_number) !== '' && call.household_number !== f(filters.household_number)) return false
  if (filters.status !== '' && call.status !== filters.status) return false
  if (filters.end_reason !== '' && call.end_reason !== filters.end_reason) return false
  const since = toMs(filters.since)
  const until = toMs(filters.until)
  if (since !== null && call.start_time < since) return false
  if (until !== null && call.start_time > until) return false
  return true
}

/** Live-ended calls first (those matching), then the fetched pages, each call once, newest first. */
export function mergeLog (live: readonly CallView[], fetched: readonly CallView[], filters: CallFilters): CallView[] {
  const byId = new Map<string, CallView>()
  for (const call of [...live.filter((c) => matchesFilters(c, filters)), ...fetched]) {
    const known = byId.get(call.call_id)
    if (known === undefined || call.seq > known.seq) byId.set(call.call_id, call)
  }
  return [...byId.values()].sort((a, b) => b.start_time - a.start_time)
}

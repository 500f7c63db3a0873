import { useEffect, useState } from 'preact/hooks'
import { html } from '../html'
import { isUnavailable, type Api } from '../api'
import { callsQuery, mergeLog, noFilters, type CallFilters } from '../logic/call-log'
import { elapsed } from '../logic/live-calls'
import type { CallPage, CallView } from '../logic/wire'
import { Legs } from './legs'

type Load = { state: 'loading' } | { state: 'ready' } | { state: 'unavailable' } | { state: 'failed', message: string }

const STATUSES = ['', 'ringing', 'connected', 'ended']
const END_REASONS = ['', 'hangup', 'cancelled', 'rejected', 'timeout', 'max_duration', 'forced', 'device_offline', 'unlocked']

function time (ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toLocaleString()
}

/** A call's full history, read from the node when opened (live events carry none). */
function History ({ api, call }: { api: Api, call: CallView }) {
  const [full, setFull] = useState<CallView | null>(null)
  const [failed, setFailed] = useState<string | null>(null)
  useEffect(() => {
    api.get<CallView>(`/api/mqtt/session?call_id=${encodeURIComponent(call.call_id)}`)
      .then(setFull)
      .catch((err: Error) => setFailed(err.message))
  }, [api, call.call_id])
  const history = full?.history ?? call.history
  return html`<div class="history" id=${`history-${call.call_id}`}>
    <${Legs} call=${full ?? call} />
    ${failed === null ? null : html`<p class="error" role="alert">Could not load the full session: ${failed}</p>`}
    ${history === undefined
      ? html`<p>Loading the history…</p>`
      : html`<table>
        <caption>History of <code>${call.call_id}</code></caption>
        <thead><tr><th scope="col">seq</th><th scope="col">Action</th><th scope="col">By</th><th scope="col">Reason</th><th scope="col">Time</th></tr></thead>
        <tbody>${history.map((h) => html`<tr><td>${h.seq}</td><td>${h.action}</td><td>${h.actor}</td><td>${h.reason ?? ''}</td><td>${new Date(h.timestamp).toLocaleTimeString()}</td></tr>`)}</tbody>
      </table>`}
  </div>`
}

/** `GET /api/calls` with filters and paging, and the calls that ended while the page was open. */
export function CallLog ({ api, liveEnded }: { api: Api, liveEnded: readonly CallView[] }) {
  const [form, setForm] = useState<CallFilters>(noFilters)
  const [filters, setFilters] = useState<CallFilters>(noFilters)
  const [items, setItems] = useState<CallView[]>([])
  const [cursor, setCursor] = useState<string | null>(null)
  const [load, setLoad] = useState<Load>({ state: 'loading' })
  const [open, setOpen] = useState<string | null>(null)

  async function fetchPage (applied: CallFilters, from: string | null): Promise<void> {
    setLoad({ state: 'loading' })
    try {
      const page = await api.get<CallPage>(`/api/calls?${callsQuery(applied, from)}`)
      setItems((known) => from === null ? page.items : [...known, ...page.items])
      setCursor(page.next_cursor)
      setLoad({ state: 'ready' })
    } catch (err) {
      setLoad(isUnavailable(err) ? { state: 'unavailable' } : { state: 'failed', message: (err as Error).message })
    }
  }

  useEffect(() => { fetchPage(filters, null).catch(() => {}) }, [filters])

  function field (name: keyof CallFilters) {
    return (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value })
  }

  const rows = mergeLog(liveEnded, items, filters)
  return html`<section aria-labelledby="log-title" class="panel wide" id="call-log">
    <h2 id="log-title">Call log</h2>
    <form class="filters" aria-label="Call log filters" onSubmit=${(e: Event) => { e.preventDefault(); setFilters({ ...form }) }}>
      <label>Device <input name="device_id" value=${form.device_id} onInput=${field('device_id')} size="6" /></label>
      <label>Resident <input name="resident_id" value=${form.resident_id} onInput=${field('resident_id')} size="6" /></label>
      <label>Household <input name="household_number" value=${form.household_number} onInput=${field('household_number')} size="6" /></label>
      <label>Status <select name="status" value=${form.status} onChange=${field('status')}>${STATUSES.map((s) => html`<option value=${s}>${s === '' ? 'any' : s}</option>`)}</select></label>
      <label>End reason <select name="end_reason" value=${form.end_reason} onChange=${field('end_reason')}>${END_REASONS.map((s) => html`<option value=${s}>${s === '' ? 'any' : s}</option>`)}</select></label>
      <label>Since <input type="datetime-local" name="since" value=${form.since} onInput=${field('since')} /></label>
      <label>Until <input type="datetime-local" name="until" value=${form.until} onInput=${field('until')} /></label>
      <button type="submit">Apply</button>
      <button type="button" onClick=${() => { setForm(noFilters); setFilters({ ...noFilters }) }}>Clear</button>
    </form>
    ${load.state === 'unavailable' ? html`<p class="notice" role="note" data-testid="log-unavailable">The call history is not available on this node; calls that end while this page is open are listed below.</p>` : null}
    ${load.state === 'failed' ? html`<p class="error" role="alert">Could not load the call log: ${load.message}</p>` : null}
    <div class="table-scroll">
      <table class="log">
        <caption class="visually-hidden">Calls, newest first; choose a call to see its history</caption>
        <thead><tr><th scope="col">Started</th><th scope="col">Door</th><th scope="col">Household</th><th scope="col">Status</th><th scope="col">Outcome</th><th scope="col">Answered by</th><th scope="col">Duration</th></tr></thead>
        <tbody>
          ${rows.map((call) => html`<tr data-call-id=${call.call_id} data-status=${call.status} class=${open === call.call_id ? 'selected' : ''}>
            <td><button type="button" class="link-button" aria-expanded=${open === call.call_id} aria-controls=${`history-${call.call_id}`}
              onClick=${() => setOpen(open === call.call_id ? null : call.call_id)}>${time(call.start_time)}</button></td>
            <td>${call.device_device_id}</td>
            <td>${call.household_number ?? '—'}</td>
            <td>${call.status}</td>
            <td>${call.end_reason ?? '—'}</td>
            <td>${call.resident_id ?? '—'}</td>
            <td>${call.end_time === null ? '—' : elapsed(call.start_time, call.end_time)}</td>
          </tr>`)}
        </tbody>
      </table>
    </div>
    ${rows.length === 0 && load.state !== 'loading' ? html`<p>No call to show.</p>` : null}
    ${(() => { const selected = rows.find((c) => c.call_id === open); return selected === undefined ? null : html`<${History} api=${api} call=${selected} />` })()}
    ${cursor === null ? null : html`<button type="button" disabled=${load.state === 'loading'} onClick=${() => { fetchPage(filters, cursor).catch(() => {}) }}>Load more</button>`}
  </section>`
}

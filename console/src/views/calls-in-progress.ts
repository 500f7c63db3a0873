import { html } from '../html'
import { elapsed } from '../logic/live-calls'
import type { CallView } from '../logic/wire'
import { Legs } from './legs'

/** Calls ringing or connected now, as the events tell; `now` ticks so the durations move. */
export function CallsInProgress ({ calls, now }: { calls: readonly CallView[], now: number }) {
  return html`<section aria-labelledby="live-title" class="panel" id="calls-in-progress">
    <h2 id="live-title">Calls in progress <span class="count">${calls.length}</span></h2>
    ${calls.length === 0
      ? html`<p>No call in progress.</p>`
      : html`<ul class="cards">
        ${calls.map((call) => html`<li class=${`card call call-${call.status}`} data-call-id=${call.call_id} data-status=${call.status}>
          <p class="card-title"><strong>Door ${call.device_device_id}</strong>${call.household_number === null ? '' : ` → household ${call.household_number}`}</p>
          <p><span class=${`status status-${call.status}`}>${call.status}</span>
            <span class="elapsed" aria-label="elapsed time">${elapsed(call.start_time, now)}</span>
            ${call.answer_time === null ? null : html`<span> · talking ${elapsed(call.answer_time, now)}</span>`}</p>
          <${Legs} call=${call} />
          <p class="muted"><code>${call.call_id}</code> · seq ${call.seq}</p>
        </li>`)}
      </ul>`}
  </section>`
}

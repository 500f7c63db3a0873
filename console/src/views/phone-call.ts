import { html } from '../html'
import type { PhoneCall } from '../logic/phone-state'
import { MediaCredentialsView } from './media-credentials'

/** The softphone's current call: state, seq, parties and credentials. */
export function PhoneCallView ({ call }: { call: PhoneCall }) {
  return html`<div class="phone-call" data-call-id=${call.call_id} data-status=${call.status}>
    <dl class="facts">
      <dt>Call</dt><dd><code>${call.call_id}</code></dd>
      <dt>State</dt><dd class=${`status status-${call.status}`} data-testid="call-status">${call.status}</dd>
      <dt>Last action</dt><dd data-testid="call-action">${call.action}${call.reason === null ? '' : ` (${call.reason})`}</dd>
      <dt>seq</dt><dd data-testid="call-seq">${call.seq}</dd>
      <dt>Door</dt><dd>device ${call.device_device_id}</dd>
      <dt>Household</dt><dd>${call.household_number ?? '—'}</dd>
      <dt>Answered by</dt><dd>${call.resident_id === null ? '—' : `resident ${call.resident_id}`}</dd>
    </dl>
    <details>
      <summary>Media credentials</summary>
      <${MediaCredentialsView} credentials=${call.credentials} />
    </details>
  </div>`
}

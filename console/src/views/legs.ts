import { html } from '../html'
import type { CallView } from '../logic/wire'

/** Each target resident and the state of its leg. */
export function Legs ({ call }: { call: CallView }) {
  return html`<ul class="legs" aria-label="Legs">
    ${call.legs.map((leg) => html`<li class=${`leg leg-${leg.state}`} data-resident=${leg.resident_id} data-state=${leg.state}>
      resident ${leg.resident_id}: <strong>${leg.state}</strong>
    </li>`)}
  </ul>`
}

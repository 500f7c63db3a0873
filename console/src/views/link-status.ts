import { html } from '../html'
import type { Link } from './use-link'

const LABELS = {
  connecting: 'Connecting…',
  online: 'Live',
  reconnecting: 'Connection lost; reconnecting…',
  refused: 'Refused'
} as const

/** The MQTT connection's state, announced politely to screen readers. */
export function LinkStatus ({ link }: { link: Link }) {
  return html`<p class=${`link link-${link.state}`} role="status" data-link=${link.state}>
    MQTT: ${LABELS[link.state]}${link.detail === undefined ? '' : ` ${link.detail}`}
  </p>`
}

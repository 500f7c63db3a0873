import { html } from '../html'

/** One line of the softphone's protocol log. */
export interface LogEntry {
  at: number
  direction: 'in' | 'out'
  topic: string
  body: string
  /** Why a received message changed nothing (stale, expired, ...). */
  ignored?: string
}

/** Entries kept; older ones scroll away. */
export const MAX_LOG_ENTRIES = 100

export function appendLog (log: readonly LogEntry[], entry: LogEntry): LogEntry[] {
  return [entry, ...log].slice(0, MAX_LOG_ENTRIES)
}

/** Every message this identity sent and received, newest first. */
export function ProtocolLog ({ log }: { log: readonly LogEntry[] }) {
  return html`<section aria-labelledby="protocol-title" class="panel">
    <h2 id="protocol-title">Messages</h2>
    <ol class="protocol" role="log" aria-label="MQTT messages, newest first">
      ${log.map((e) => html`<li class=${`msg msg-${e.direction}${e.ignored === undefined ? '' : ' msg-ignored'}`} data-topic=${e.topic}>
        <span class="msg-head">${e.direction === 'in' ? '←' : '→'} <code>${e.topic}</code> <time>${new Date(e.at).toLocaleTimeString()}</time>
          ${e.ignored === undefined ? null : html`<strong class="ignored">ignored (${e.ignored})</strong>`}</span>
        <pre>${e.body}</pre>
      </li>`)}
    </ol>
  </section>`
}

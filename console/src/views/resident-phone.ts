import { useRef, useState } from 'preact/hooks'
import { html } from '../html'
import type { Credentials } from '../api'
import { idlePhone, receiveControl, receiveInvite, type PhoneState } from '../logic/phone-state'
import { parseJson, type ControlMessage, type InviteMessage } from '../logic/wire'
import { useLink } from './use-link'
import { LinkStatus } from './link-status'
import { appendLog, ProtocolLog, type LogEntry } from './protocol-log'
import { PhoneCallView } from './phone-call'

interface Props {
  credentials: Credentials
  residentId: string
}

type ResidentAction = 'answered' | 'rejected' | 'decline_all' | 'unlock' | 'extend' | 'hangup'

/** A resident's app in the browser: the incoming call with Answer, Decline (for me or the household), Unlock (from the preview too), Extend and Hang up. */
export function ResidentPhone ({ credentials, residentId }: Props) {
  const [phone, setPhone] = useState<PhoneState>(idlePhone)
  // Messages may arrive faster than renders: each one is applied to the latest state, not the rendered one.
  const current = useRef<PhoneState>(idlePhone)
  const [log, setLog] = useState<LogEntry[]>([])
  const [error, setError] = useState<string | null>(null)
  const inviteTopic = `users/${residentId}/calls/incoming`
  const controlTopic = `users/${residentId}/calls/control`
  const topics = [inviteTopic, controlTopic, `users/${residentId}/calls/error`, `users/${residentId}/system`, 'system/#']

  const link = useLink(credentials, topics, (topic, payload) => {
    const body = new TextDecoder().decode(payload)
    const message = parseJson(payload)
    let ignored: string | undefined
    if (message !== null && (topic === inviteTopic || topic === controlTopic)) {
      const verdict = topic === inviteTopic
        ? receiveInvite(current.current, message as unknown as InviteMessage, Date.now())
        : receiveControl(current.current, message as unknown as ControlMessage)
      if (verdict.applied) setError(null)
      else ignored = verdict.why
      current.current = verdict.phone
      setPhone(verdict.phone)
    } else if (topic.endsWith('/calls/error') && message !== null) {
      setError(String(message.message ?? message.error))
    }
    setLog((l) => appendLog(l, { at: Date.now(), direction: 'in', topic, body, ...(ignored === undefined ? {} : { ignored }) }))
  })

  function act (action: ResidentAction): void {
    if (phone.call === null) return
    const topic = `users/${residentId}/calls/action`
    const message = { call_id: phone.call.call_id, action }
    if (!link.publish(topic, message)) {
      setError('Not connected: wait for the connection to come back.')
      return
    }
    setError(null)
    setLog((l) => appendLog(l, { at: Date.now(), direction: 'out', topic, body: JSON.stringify(message) }))
  }

  const call = phone.call
  const ringing = call?.status === 'ringing'
  const mine = call?.status === 'connected' && call.resident_id === residentId
  return html`<div class="phone">
    <${LinkStatus} link=${link} />
    ${error === null ? null : html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="call-title" class="panel">
      <h2 id="call-title">${ringing ? 'Incoming call' : 'Call'}</h2>
      ${call === null
        ? html`<p>Waiting for a call…</p>`
        : html`${ringing ? html`<p class="ringing" role="alert">Door ${call.device_device_id} is ringing${call.household_number === null ? '' : ` (household ${call.household_number})`}</p>` : null}
          ${mine && call.endsAt !== null ? html`<p class="ending-soon" role="alert" data-testid="ending-soon">The call ends at ${new Date(call.endsAt).toLocaleTimeString()}</p>` : null}
          ${call.unlockResult === null ? null : html`<p class="unlock" data-testid="unlock-result">${call.unlockResult.ok ? 'The door opened' : 'The door did not open'}${call.unlockResult.door === null ? '' : ` (${call.unlockResult.door})`}</p>`}
          <${PhoneCallView} call=${call} />
          <div class="actions">
            <button type="button" class="primary" disabled=${!ringing} onClick=${() => act('answered')}>Answer</button>
            <button type="button" disabled=${!ringing} onClick=${() => act('rejected')}>Decline</button>
            <button type="button" disabled=${!ringing} onClick=${() => act('decline_all')} title="Stops the ring for the whole household">Decline for all</button>
            <button type="button" disabled=${!ringing && !mine} onClick=${() => act('unlock')} title="From the preview too, where the resident may">Unlock</button>
            <button type="button" disabled=${!mine || call.endsAt === null} onClick=${() => act('extend')}>Extend</button>
            <button type="button" class="danger" disabled=${!mine} onClick=${() => act('hangup')}>Hang up</button>
          </div>`}
    </section>
    <${ProtocolLog} log=${log} />
  </div>`
}

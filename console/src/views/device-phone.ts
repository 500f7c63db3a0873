import { useRef, useState } from 'preact/hooks'
import { html } from '../html'
import type { Credentials } from '../api'
import { idlePhone, receiveControl, type PhoneState } from '../logic/phone-state'
import { parseJson, type ControlMessage } from '../logic/wire'
import { useLink } from './use-link'
import { LinkStatus } from './link-status'
import { appendLog, ProtocolLog, type LogEntry } from './protocol-log'
import { PhoneCallView } from './phone-call'

interface Props {
  credentials: Credentials
  deviceId: string
}

type Target = 'household' | 'resident'

/** A door panel in the browser: rings a household or one resident, cancels, hangs up, shows `unlock`. */
export function DevicePhone ({ credentials, deviceId }: Props) {
  const [phone, setPhone] = useState<PhoneState>(idlePhone)
  // Messages may arrive faster than renders: each one is applied to the latest state, not the rendered one.
  const current = useRef<PhoneState>(idlePhone)
  const [log, setLog] = useState<LogEntry[]>([])
  const [target, setTarget] = useState<Target>('household')
  const [targetId, setTargetId] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [unlockedAt, setUnlockedAt] = useState<number | null>(null)
  const controlTopic = `devices/${deviceId}/calls/control`
  const topics = [controlTopic, `devices/${deviceId}/calls/error`, `devices/${deviceId}/system`, 'system/#']

  const link = useLink(credentials, topics, (topic, payload) => {
    const body = new TextDecoder().decode(payload)
    const message = parseJson(payload)
    let ignored: string | undefined
    if (topic === controlTopic && message !== null) {
      const verdict = receiveControl(current.current, message as unknown as ControlMessage)
      if (verdict.applied) {
        if (verdict.phone.call?.action === 'unlock') setUnlockedAt(Date.now())
        else if (verdict.phone.call?.call_id !== current.current.call?.call_id) setUnlockedAt(null)
        setError(null)
      } else {
        ignored = verdict.why
      }
      current.current = verdict.phone
      setPhone(verdict.phone)
    } else if (topic.endsWith('/calls/error') && message !== null) {
      setError(String(message.message ?? message.error))
    }
    setLog((l) => appendLog(l, { at: Date.now(), direction: 'in', topic, body, ...(ignored === undefined ? {} : { ignored }) }))
  })

  function send (topic: string, message: Record<string, unknown>): void {
    if (!link.publish(topic, message)) {
      setError('Not connected: wait for the connection to come back.')
      return
    }
    setLog((l) => appendLog(l, { at: Date.now(), direction: 'out', topic, body: JSON.stringify(message) }))
  }

  function ring (event: Event): void {
    event.preventDefault()
    const id = targetId.trim()
    setError(null)
    const request: Record<string, unknown> = { request_id: crypto.randomUUID().slice(0, 8) }
    if (id !== '') request[target === 'household' ? 'household_number' : 'target_resident_id'] = id
    send(`calls/request/${deviceId}`, request)
  }

  function act (action: 'cancelled' | 'hangup'): void {
    if (phone.call === null) return
    send(`devices/${deviceId}/calls/action`, { call_id: phone.call.call_id, action })
  }

  /** The door's report on the latest unlock, passed on to the resident who unlocked. */
  function reportUnlock (ok: boolean): void {
    if (phone.call === null) return
    send(`devices/${deviceId}/calls/action`, { call_id: phone.call.call_id, action: 'unlock_result', ok })
  }

  const call = phone.call
  const active = call !== null && call.status !== 'ended'
  return html`<div class="phone">
    <${LinkStatus} link=${link} />
    <section aria-labelledby="ring-title" class="panel">
      <h2 id="ring-title">Ring</h2>
      <form onSubmit=${ring} class="ring-form">
        <fieldset>
          <legend>Whom to ring</legend>
          <label><input type="radio" name="target" value="household" checked=${target === 'household'} onChange=${() => setTarget('household')} /> A household</label>
          <label><input type="radio" name="target" value="resident" checked=${target === 'resident'} onChange=${() => setTarget('resident')} /> One resident</label>
        </fieldset>
        <label for="target-id">${target === 'household' ? 'Household number' : 'Resident id'}</label>
        <input id="target-id" name="target_id" value=${targetId} onInput=${(e: Event) => setTargetId((e.target as HTMLInputElement).value)}
          placeholder=${target === 'household' ? 'every household of this door when empty' : 'for example 2'} autocomplete="off" />
        <button type="submit" disabled=${active || link.state !== 'online'}>Ring</button>
      </form>
    </section>
    ${error === null ? null : html`<p class="error" role="alert">${error}</p>`}
    <section aria-labelledby="call-title" class="panel">
      <h2 id="call-title">Call</h2>
      ${unlockedAt === null ? null : html`<p class="unlock" role="alert" data-testid="unlock">Door unlocked at ${new Date(unlockedAt).toLocaleTimeString()}${call !== null && call.unlocks > 1 ? ` (${call.unlocks} times)` : ''}</p>`}
      ${call === null
        ? html`<p>No call yet.</p>`
        : html`<${PhoneCallView} call=${call} />
          <div class="actions">
            <button type="button" disabled=${call.status !== 'ringing'} onClick=${() => act('cancelled')}>Cancel</button>
            <button type="button" class="danger" disabled=${call.status !== 'connected'} onClick=${() => act('hangup')}>Hang up</button>
            <button type="button" disabled=${call.unlocks === 0} onClick=${() => reportUnlock(true)}>Report: door opened</button>
            <button type="button" disabled=${call.unlocks === 0} onClick=${() => reportUnlock(false)}>Report: door stuck</button>
          </div>`}
    </section>
    <${ProtocolLog} log=${log} />
  </div>`
}

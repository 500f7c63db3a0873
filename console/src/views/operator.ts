import { useEffect, useState } from 'preact/hooks'
import { html } from '../html'
import { isUnavailable, type Api, type Credentials } from '../api'
import { applyEvent, applySession, emptyLiveCalls, type LiveCalls } from '../logic/live-calls'
import { parseJson, type CallEvent, type CallPage, type DeviceStatus, type DirectoryView } from '../logic/wire'
import { useLink } from './use-link'
import { LinkStatus } from './link-status'
import { CallsInProgress } from './calls-in-progress'
import { Devices } from './devices'
import { CallLog } from './call-log'
import { DayChartPanel } from './day-chart'
import { DirectoryPanel, type DirectoryLoad } from './directory'

interface Props {
  api: Api
  credentials: Credentials
}

const TOPICS = ['calls/+/events', 'devices/+/status']

function neverSeen (deviceId: string): DeviceStatus {
  return { device_id: deviceId, online: false, battery: null, properties: {}, last_seen: null }
}

/**
 * A service's view: live calls and devices from MQTT (events and retained
 * statuses, no polling), the call log and the 24-hour chart from the HTTP
 * call records, and the directory.
 */
export function Operator ({ api, credentials }: Props) {
  const [live, setLive] = useState<LiveCalls>(emptyLiveCalls)
  const [devices, setDevices] = useState<ReadonlyMap<string, DeviceStatus>>(new Map())
  const [directory, setDirectory] = useState<DirectoryLoad>({ state: 'loading' })
  const [now, setNow] = useState(Date.now())

  const link = useLink(credentials, TOPICS, (topic, payload) => {
    const message = parseJson(payload)
    if (message === null) return
    if (topic.startsWith('calls/')) {
      setLive((state) => applyEvent(state, message as unknown as CallEvent))
    } else {
      const status = message as unknown as DeviceStatus
      setDevices((known) => new Map(known).set(status.device_id, status))
    }
  })

  // Calls already in progress when the page opened; from then on the events keep the list.
  useEffect(() => {
    for (const status of ['ringing', 'connected']) {
      api.get<CallPage>(`/api/calls?status=${status}&limit=200`)
        .then((page) => setLive((state) => page.items.reduce(applySession, state)))
        .catch(() => {})
    }
  }, [api])

  function loadDirectory (): void {
    api.get<DirectoryView>('/api/admin/directory')
      .then((found) => {
        setDirectory({ state: 'ready', directory: found })
        setDevices((known) => {
          const next = new Map(known)
          for (const d of found.devices) if (!next.has(d.id)) next.set(d.id, neverSeen(d.id))
          return next
        })
      })
      .catch((err: Error) => setDirectory(isUnavailable(err) ? { state: 'unavailable' } : { state: 'failed', message: err.message }))
  }
  useEffect(loadDirectory, [api])

  // A clock for the elapsed times on screen, not a poll: nothing is fetched.
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(timer)
  }, [])

  return html`<div class="operator">
    <${LinkStatus} link=${link} />
    <div class="grid">
      <${CallsInProgress} calls=${[...live.active.values()]} now=${now} />
      <${Devices} devices=${devices} />
      <${CallLog} api=${api} liveEnded=${live.ended} />
      <${DayChartPanel} api=${api} liveEnded=${live.ended} />
      <${DirectoryPanel} api=${api} load=${directory} reload=${loadDirectory} />
    </div>
  </div>`
}

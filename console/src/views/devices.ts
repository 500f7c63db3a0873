import { useState } from 'preact/hooks'
import { html } from '../html'
import type { DeviceStatus } from '../logic/wire'

type Show = 'all' | 'online' | 'offline'

function lastSeen (at: number | null): string {
  return at === null ? 'never' : new Date(at).toLocaleString()
}

/** Every door heard of (retained `devices/+/status`, plus the directory's), with a search and an online filter. */
export function Devices ({ devices }: { devices: ReadonlyMap<string, DeviceStatus> }) {
  const [search, setSearch] = useState('')
  const [show, setShow] = useState<Show>('all')
  const wanted = search.trim().toLowerCase()
  const rows = [...devices.values()]
    .filter((d) => show === 'all' || (show === 'online') === d.online)
    .filter((d) => wanted === '' || d.device_id.toLowerCase().includes(wanted) || JSON.stringify(d.properties).toLowerCase().includes(wanted))
    .sort((a, b) => Number(a.online) - Number(b.online) || a.device_id.localeCompare(b.device_id))
  const offline = [...devices.values()].filter((d) => !d.online).length
  return html`<section aria-labelledby="devices-title" class="panel" id="devices">
    <h2 id="devices-title">Devices <span class="count">${devices.size}</span>${offline === 0 ? null : html` <span class="count offline">${offline} offline</span>`}</h2>
    <div class="filters" role="search">
      <label>Search <input type="search" value=${search} onInput=${(e: Event) => setSearch((e.target as HTMLInputElement).value)} placeholder="device id or property" /></label>
      <label>Show <select value=${show} onChange=${(e: Event) => setShow((e.target as HTMLSelectElement).value as Show)}>
        <option value="all">all</option><option value="online">online</option><option value="offline">offline</option>
      </select></label>
    </div>
    <table class="devices">
      <caption class="visually-hidden">Devices, offline first</caption>
      <thead><tr><th scope="col">Device</th><th scope="col">State</th><th scope="col">Battery</th><th scope="col">Last seen</th></tr></thead>
      <tbody>
        ${rows.map((d) => html`<tr class=${d.online ? 'online' : 'offline'} data-device=${d.device_id} data-online=${String(d.online)}>
          <th scope="row">${d.device_id}</th>
          <td><span class="badge">${d.online ? 'online' : 'offline'}</span></td>
          <td>${d.battery === null ? '—' : `${d.battery} %`}</td>
          <td>${lastSeen(d.last_seen)}</td>
        </tr>`)}
      </tbody>
    </table>
    ${rows.length === 0 ? html`<p>No device matches.</p>` : null}
  </section>`
}

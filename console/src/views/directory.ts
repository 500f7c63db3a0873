import { useState } from 'preact/hooks'
import { html } from '../html'
import type { Api } from '../api'
import type { DirectoryView } from '../logic/wire'

export type DirectoryLoad =
  | { state: 'loading' }
  | { state: 'ready', directory: DirectoryView }
  | { state: 'unavailable' }
  | { state: 'failed', message: string }

interface Props {
  api: Api
  load: DirectoryLoad
  reload: () => void
}

function householdBody (household: DirectoryView['households'][number], residents: string[]) {
  return { residents, ...(household.policy === undefined ? {} : { policy: household.policy }) }
}

/** Households and their residents; add a resident to a household, take one out, delete one. */
export function DirectoryPanel ({ api, load, reload }: Props) {
  const [newId, setNewId] = useState('')
  const [newSecret, setNewSecret] = useState('')
  const [newHousehold, setNewHousehold] = useState('')
  const [message, setMessage] = useState<{ ok: boolean, text: string } | null>(null)

  async function run (what: string, steps: () => Promise<void>): Promise<void> {
    setMessage(null)
    try {
      await steps()
      setMessage({ ok: true, text: what })
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message })
    }
    reload()
  }

  if (load.state !== 'ready') {
    return html`<section aria-labelledby="directory-title" class="panel wide" id="directory">
      <h2 id="directory-title">Directory</h2>
      ${load.state === 'loading' ? html`<p>Loading…</p>` : null}
      ${load.state === 'unavailable' ? html`<p class="notice" role="note" data-testid="directory-unavailable">Directory administration is not available on this node.</p>` : null}
      ${load.state === 'failed' ? html`<p class="error" role="alert">Could not load the directory: ${load.message}</p>` : null}
    </section>`
  }
  const directory = load.directory

  function addResident (event: Event): void {
    event.preventDefault()
    const id = newId.trim()
    const household = directory.households.find((h) => h.number === newHousehold)
    if (id === '' || household === undefined) {
      setMessage({ ok: false, text: 'Give the resident an id and choose a household.' })
      return
    }
    run(`Resident ${id} added to household ${household.number}.`, async () => {
      await api.put(`/api/admin/residents/${encodeURIComponent(id)}`, newSecret === '' ? {} : { secret: newSecret })
      if (!household.residents.includes(id)) {
        await api.put(`/api/admin/households/${encodeURIComponent(household.number)}`, householdBody(household, [...household.residents, id]))
      }
      setNewId('')
      setNewSecret('')
    }).catch(() => {})
  }

  function takeOut (household: DirectoryView['households'][number], residentId: string): void {
    run(`Resident ${residentId} taken out of household ${household.number}.`, async () => {
      await api.put(`/api/admin/households/${encodeURIComponent(household.number)}`, householdBody(household, household.residents.filter((r) => r !== residentId)))
    }).catch(() => {})
  }

  function remove (residentId: string): void {
    if (!window.confirm(`Delete resident ${residentId}? Its ringing calls end and it can no longer sign in.`)) return
    run(`Resident ${residentId} deleted.`, async () => {
      await api.delete(`/api/admin/residents/${encodeURIComponent(residentId)}`)
    }).catch(() => {})
  }

  return html`<section aria-labelledby="directory-title" class="panel wide" id="directory">
    <h2 id="directory-title">Directory</h2>
    ${message === null ? null : html`<p class=${message.ok ? 'ok' : 'error'} role=${message.ok ? 'status' : 'alert'}>${message.text}</p>`}
    <div class="table-scroll">
      <table>
        <caption class="visually-hidden">Households and their residents</caption>
        <thead><tr><th scope="col">Household</th><th scope="col">Doors</th><th scope="col">Residents</th></tr></thead>
        <tbody>
          ${directory.households.map((h) => html`<tr data-household=${h.number}>
            <th scope="row">${h.number}</th>
            <td>${directory.devices.filter((d) => d.households.includes(h.number)).map((d) => d.id).join(', ') || '—'}</td>
            <td><ul class="residents">${h.residents.map((r) => html`<li data-resident=${r}>
              ${r}
              <button type="button" class="small" aria-label=${`Take resident ${r} out of household ${h.number}`} onClick=${() => takeOut(h, r)}>Take out</button>
              <button type="button" class="small danger" aria-label=${`Delete resident ${r}`} onClick=${() => remove(r)}>Delete</button>
            </li>`)}</ul></td>
          </tr>`)}
        </tbody>
      </table>
    </div>
    <form class="filters" aria-label="Add a resident" onSubmit=${addResident}>
      <label>Resident id <input name="resident_id" value=${newId} required pattern="[A-Za-z0-9_\\-]{1,64}" onInput=${(e: Event) => setNewId((e.target as HTMLInputElement).value)} /></label>
      <label>Secret <input type="password" name="secret" value=${newSecret} autocomplete="new-password" onInput=${(e: Event) => setNewSecret((e.target as HTMLInputElement).value)} /></label>
      <label>Household <select name="household" value=${newHousehold} required onChange=${(e: Event) => setNewHousehold((e.target as HTMLSelectElement).value)}>
        <option value="">choose…</option>
        ${directory.households.map((h) => html`<option value=${h.number}>${h.number}</option>`)}
      </select></label>
      <button type="submit">Add resident</button>
    </form>
  </section>`
}

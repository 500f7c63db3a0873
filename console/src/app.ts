import { useState } from 'preact/hooks'
import { html } from './html'
import { SignIn, type SignedIn } from './views/sign-in'
import { Operator } from './views/operator'
import { DevicePhone } from './views/device-phone'
import { ResidentPhone } from './views/resident-phone'

const TITLES = { operator: 'Operator', device: 'Door softphone', resident: 'Resident softphone' } as const

/** Sign-in, then the view for the identity's kind. Signing out forgets the credentials. */
export function App () {
  const [session, setSession] = useState<SignedIn | null>(null)
  if (session === null) return html`<${SignIn} onSignedIn=${setSession} />`
  const { identity, credentials, api } = session
  return html`<div class="shell" data-view=${identity.role}>
    <header class="top">
      <h1>${TITLES[identity.role]} <span class="who">${identity.name}</span></h1>
      <button type="button" onClick=${() => setSession(null)}>Sign out</button>
    </header>
    <main>
      ${identity.role === 'operator' ? html`<${Operator} api=${api} credentials=${credentials} />` : null}
      ${identity.role === 'device' ? html`<${DevicePhone} credentials=${credentials} deviceId=${identity.id} />` : null}
      ${identity.role === 'resident' ? html`<${ResidentPhone} credentials=${credentials} residentId=${identity.id} />` : null}
    </main>
  </div>`
}

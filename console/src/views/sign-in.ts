import { useState } from 'preact/hooks'
import { html } from '../html'
import { ApiError, checkCredentials, createApi, type Api, type Credentials } from '../api'
import { parseIdentityName, type SignedInIdentity } from '../logic/identity'

export interface SignedIn {
  identity: SignedInIdentity
  credentials: Credentials
  api: Api
}

function explain (err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return 'Wrong identity name or secret.'
  if (err instanceof ApiError && err.status === 429) return 'Too many attempts; wait a moment and try again.'
  if (err instanceof ApiError) return err.message
  return 'Sign-in failed; try again.'
}

/** Identity name and secret (or token), checked with the node before anything else is shown. */
export function SignIn ({ onSignedIn }: { onSignedIn: (session: SignedIn) => void }) {
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  async function submit (event: Event): Promise<void> {
    event.preventDefault()
    const form = new FormData(event.currentTarget as HTMLFormElement)
    const credentials = { username: String(form.get('username') ?? '').trim(), password: String(form.get('password') ?? '') }
    const identity = parseIdentityName(credentials.username)
    if (typeof identity === 'string') {
      setError(identity)
      return
    }
    setBusy(true)
    setError(null)
    const api = createApi(credentials)
    try {
      await checkCredentials(api)
      onSignedIn({ identity, credentials, api })
    } catch (err) {
      setError(explain(err))
      setBusy(false)
    }
  }

  return html`<main class="sign-in">
    <h1>Intercom console</h1>
    <form method="post" action="#" onSubmit=${(e: Event) => { submit(e).catch(() => {}) }} aria-describedby="sign-in-help">
      <p id="sign-in-help">Sign in as a service to watch calls and devices, or as a device or a resident to use a softphone.</p>
      <label for="username">Identity name</label>
      <input id="username" name="username" autocomplete="username" required placeholder="service/ops, device/1, resident/2" autocapitalize="off" spellcheck=${false} />
      <label for="password">Secret or token</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      ${error === null ? null : html`<p class="error" role="alert" id="sign-in-error">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`
}

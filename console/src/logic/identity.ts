/** The identity typed into the sign-in form, and which view it gets. */

export type ConsoleRole = 'operator' | 'device' | 'resident'

export interface SignedInIdentity {
  /** `service/ops`, `device/1`, `resident/2`. */
  name: string
  id: string
  role: ConsoleRole
}

const ROLES: Record<string, ConsoleRole> = { service: 'operator', device: 'device', resident: 'resident' }
const ID = /^[A-Za-z0-9_-]{1,64}$/

/** The identity named `kind/id`, or a message saying what is wrong with the name. */
export function parseIdentityName (name: string): SignedInIdentity | string {
  const slash = name.indexOf('/')
  const kind = name.slice(0, slash)
  const id = name.slice(slash + 1)
  if (slash < 0 || !ID.test(id)) return 'Enter an identity name such as service/ops, device/1 or resident/2.'
  const role = ROLES[kind]
  if (role === undefined) {
    return kind === 'client' ? 'Integration clients have no console view; sign in as a service, a device or a resident.' : `Unknown identity kind "${kind}"; use service/, device/ or resident/.`
  }
  return { name, id, role }
}

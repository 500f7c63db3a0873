/** The four kinds of identity of the directory, and their names (`device/<id>`, ...). */
export type IdentityKind = 'device' | 'resident' | 'service' | 'client'

export interface Identity {
  readonly kind: IdentityKind
  /** Device or resident id, or service or client name. */
  readonly id: string
  /** `<kind>/<id>`: what MQTT usernames, `ended_by` and system targets use. */
  readonly name: string
}

export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$'
const ID_RE = new RegExp(ID_PATTERN)
const KINDS: ReadonlySet<string> = new Set<IdentityKind>(['device', 'resident', 'service', 'client'])

export function isValidId (id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id)
}

export function identity (kind: IdentityKind, id: string): Identity {
  return { kind, id, name: `${kind}/${id}` }
}

/** Parses `<kind>/<id>`; null when the kind is unknown or the id malformed. */
export function parseIdentityName (name: string): Identity | null {
  const slash = name.indexOf('/')
  if (slash < 0) return null
  const kind = name.slice(0, slash)
  const id = name.slice(slash + 1)
  if (!KINDS.has(kind) || !isValidId(id)) return null
  return identity(kind as IdentityKind, id)
}

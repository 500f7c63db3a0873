import { IntercomError } from '../errors'
import { DirectoryError, MEDIA_USER_ID_MAX, validateDirectory } from './load'
import type { DirectoryFile } from './schema'

/** The four kinds of entry the admin routes manage one by one. */
export type EntryKind = 'devices' | 'households' | 'residents' | 'clients'

/** What a change did, by name: `device/<id>`, `resident/<id>`, `service/<name>`, `client/<name>`, `household/<number>`. */
export interface DirectoryDiff {
  added: string[]
  removed: string[]
  changed: string[]
  /** Identities whose secret or topic rights changed: their open connections must go. */
  rekeyed: string[]
}

type AnyEntry = Record<string, unknown>

const KEY_FIELD: Record<keyof DirectoryFile, string> = { devices: 'id', households: 'number', residents: 'id', services: 'name', clients: 'name' }
const NAME_PREFIX: Record<keyof DirectoryFile, string> = { devices: 'device', households: 'household', residents: 'resident', services: 'service', clients: 'client' }
const SECRET_FIELD: Partial<Record<keyof DirectoryFile, string>> = { devices: 'secret', residents: 'secret', services: 'token', clients: 'secret' }
const SECTIONS = Object.keys(KEY_FIELD) as Array<keyof DirectoryFile>

function entriesOf (file: DirectoryFile, section: keyof DirectoryFile): AnyEntry[] {
  return file[section] as AnyEntry[]
}

/** The name of an entry in diffs and `deleted`: `device/1`, `household/101`. */
export function entryName (section: keyof DirectoryFile, key: string): string {
  return `${NAME_PREFIX[section]}/${key}`
}

/** Rights that a live connection holds on to: a client's topic filters. */
function rightsOf (section: keyof DirectoryFile, entry: AnyEntry): string {
  return section === 'clients' ? JSON.stringify([entry.publish, entry.subscribe]) : ''
}

/** JSON with object keys sorted: the same entry compares equal whatever order its fields came in. */
function canonical (value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v))
}

/** What changed from `before` to `after`, entry by entry. */
export function diffDirectories (before: DirectoryFile, after: DirectoryFile): DirectoryDiff {
  const diff: DirectoryDiff = { added: [], removed: [], changed: [], rekeyed: [] }
  for (const section of SECTIONS) {
    const key = KEY_FIELD[section]
    const secret = SECRET_FIELD[section]
    const old = new Map(entriesOf(before, section).map((e) => [String(e[key]), e]))
    const seen = new Set<string>()
    for (const entry of entriesOf(after, section)) {
      const id = String(entry[key])
      const name = entryName(section, id)
      seen.add(id)
      const previous = old.get(id)
      if (previous === undefined) {
        diff.added.push(name)
        continue
      }
      // Most entries are the very same object, or the same text: the canonical form is for the rest.
      const same = previous === entry || JSON.stringify(previous) === JSON.stringify(entry) || canonical(previous) === canonical(entry)
      if (!same) diff.changed.push(name)
      if ((secret !== undefined && previous[secret] !== entry[secret]) || rightsOf(section, previous) !== rightsOf(section, entry)) {
        diff.rekeyed.push(name)
      }
    }
    for (const id of old.keys()) if (!seen.has(id)) diff.removed.push(entryName(section, id))
  }
  return diff
}

/** A replacement entry without a secret keeps the secret its identity has now. */
export function keepCurrentSecrets (current: DirectoryFile, next: DirectoryFile): DirectoryFile {
  const result = { ...next }
  for (const section of SECTIONS) {
    const secret = SECRET_FIELD[section]
    if (secret === undefined) continue
    const key = KEY_FIELD[section]
    const old = new Map(entriesOf(current, section).map((e) => [String(e[key]), e]))
    const merged = entriesOf(next, section).map((entry) => {
      if (entry[secret] !== undefined) return entry
      const kept = old.get(String(entry[key]))?.[secret]
      return kept === undefined ? entry : { ...entry, [secret]: kept }
    })
    Object.assign(result, { [section]: merged })
  }
  return result
}

/** The directory as it may be shown: no secret, no token, not even hashed. */
export function withoutSecrets (file: DirectoryFile): DirectoryFile {
  const result = { ...file }
  for (const section of SECTIONS) {
    const secret = SECRET_FIELD[section]
    if (secret === undefined) continue
    Object.assign(result, {
      [section]: entriesOf(file, section).map((entry) => {
        const { [secret]: _omitted, ...rest } = entry
        return rest
      })
    })
  }
  return result
}

function invalid (message: string): IntercomError {
  return new IntercomError('invalid_request', message)
}

/** A whole replacement, checked as the file is; a failure is a 400 naming the entry and field. */
export function validateReplacement (body: unknown): DirectoryFile {
  try {
    return validateDirectory('in the request', body)
  } catch (err) {
    if (err instanceof DirectoryError) throw invalid(`directory ${err.detail}`)
    throw err
  }
}

/** The references of one entry to others, checked before anything else. */
function checkReferences (file: DirectoryFile, kind: EntryKind, key: string, entry: AnyEntry): void {
  if (kind === 'devices' || kind === 'residents') {
    const userId = `${NAME_PREFIX[kind]}_${key}`
    if (userId.length > MEDIA_USER_ID_MAX) {
      throw invalid(`${NAME_PREFIX[kind]} id "${key}" is too long: its media user id ${userId} would exceed ${MEDIA_USER_ID_MAX} characters; use at most ${MEDIA_USER_ID_MAX - NAME_PREFIX[kind].length - 1}`)
    }
  }
  const refs = kind === 'devices'
    ? { field: 'households', known: new Set(file.households.map((h) => h.number)), what: 'household' }
    : kind === 'households'
      ? { field: 'residents', known: new Set(file.residents.map((r) => r.id)), what: 'resident' }
      : null
  if (refs === null) return
  const named = entry[refs.field] as string[]
  named.forEach((ref, i) => {
    if (!refs.known.has(ref)) {
      throw invalid(`${refs.field}[${i}] names ${refs.what} "${ref}", which does not exist; create it first with PUT /api/admin/${refs.field}/${ref}`)
    }
  })
}

/**
 * The directory with one entry created or replaced (the key comes from the
 * path). A body without a secret keeps the entry's current one.
 */
export function putEntry (file: DirectoryFile, kind: EntryKind, key: string, body: AnyEntry): { file: DirectoryFile, entry: AnyEntry } {
  const keyField = KEY_FIELD[kind]
  const secret = SECRET_FIELD[kind]
  const entries = entriesOf(file, kind)
  const index = entries.findIndex((e) => e[keyField] === key)
  const existing = entries[index]
  let entry: AnyEntry = { [keyField]: key, ...body }
  if (secret !== undefined && entry[secret] === undefined && existing?.[secret] !== undefined) {
    entry = { ...entry, [secret]: existing[secret] }
  }
  checkReferences(file, kind, key, entry)
  const updated = index >= 0 ? entries.map((e, i) => (i === index ? entry : e)) : [...entries, entry]
  const next = { ...file, [kind]: updated }
  return { file: validateReplacement(next), entry }
}

/**
 * The directory without one entry, or null when there is none. References go
 * with it: a removed resident leaves its households, a removed household its devices.
 */
export function deleteEntry (file: DirectoryFile, kind: EntryKind, key: string): DirectoryFile | null {
  const keyField = KEY_FIELD[kind]
  const entries = entriesOf(file, kind)
  if (!entries.some((e) => e[keyField] === key)) return null
  const next: DirectoryFile = { ...file, [kind]: entries.filter((e) => e[keyField] !== key) }
  if (kind === 'residents') next.households = next.households.map((h) => (h.residents.includes(key) ? { ...h, residents: h.residents.filter((r) => r !== key) } : h))
  if (kind === 'households') next.devices = next.devices.map((d) => (d.households.includes(key) ? { ...d, households: d.households.filter((n) => n !== key) } : d))
  return next
}

/** Where the secret of an entry kind lives (`secret`, or `token` for services). */
export function secretField (section: keyof DirectoryFile): string | undefined {
  return SECRET_FIELD[section]
}

export function keyField (section: keyof DirectoryFile): string {
  return KEY_FIELD[section]
}

export const DIRECTORY_SECTIONS: ReadonlyArray<keyof DirectoryFile> = SECTIONS

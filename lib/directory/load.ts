import { readFileSync } from 'node:fs'
import { Compile } from 'typebox/compile'
import { isValidFilter } from '../topics/filters'
import { Directory } from './directory'
import { DirectorySchema, type DirectoryFile } from './schema'
import { checkHashedSecret, isHashedSecret } from './secrets'

export class DirectoryError extends Error {
  /** What is wrong, naming the entry and field, without the source. */
  readonly detail: string

  constructor (file: string, detail: string) {
    super(`directory ${file}: ${detail}`)
    this.name = 'DirectoryError'
    this.detail = detail
  }
}

/** TRTC refuses user ids longer than this; media user ids are `device_<id>` and `resident_<id>`. */
export const MEDIA_USER_ID_MAX = 32

const validator = Compile(DirectorySchema)

/** `/devices/0/id` → `devices[0].id`: how a person reads an entry's place. */
function entryPath (pointer: string): string {
  return pointer.split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '') || '(top level)'
}

function checkUnique (file: string, kind: string, values: string[]): void {
  const seen = new Set<string>()
  values.forEach((value, i) => {
    if (seen.has(value)) throw new DirectoryError(file, `${kind}[${i}] repeats "${value}"; ids must be unique`)
    seen.add(value)
  })
}

/** Checks what a schema cannot: references between entries, hashes, filters. */
export function checkDirectory (file: string, data: DirectoryFile): void {
  checkUnique(file, 'devices', data.devices.map((d) => d.id))
  checkUnique(file, 'households', data.households.map((h) => h.number))
  checkUnique(file, 'residents', data.residents.map((r) => r.id))
  checkUnique(file, 'services', data.services.map((s) => s.name))
  checkUnique(file, 'clients', data.clients.map((c) => c.name))
  checkUnique(file, 'service tokens', data.services.flatMap((s) => (s.token === undefined ? [] : [s.token])))
  for (const [kind, entries] of [['device', data.devices], ['resident', data.residents]] as const) {
    entries.forEach((e, i) => {
      const userId = `${kind}_${e.id}`
      if (userId.length > MEDIA_USER_ID_MAX) {
        throw new DirectoryError(file, `${kind}s[${i}].id "${e.id}" is too long: its media user id ${userId} would exceed ${MEDIA_USER_ID_MAX} characters; use at most ${MEDIA_USER_ID_MAX - kind.length - 1}`)
      }
    })
  }
  const households = new Set(data.households.map((h) => h.number))
  const residents = new Set(data.residents.map((r) => r.id))
  data.devices.forEach((d, i) => d.households.forEach((n, j) => {
    if (!households.has(n)) throw new DirectoryError(file, `devices[${i}].households[${j}] names household "${n}", which is not in households`)
  }))
  data.households.forEach((h, i) => h.residents.forEach((r, j) => {
    if (!residents.has(r)) throw new DirectoryError(file, `households[${i}].residents[${j}] names resident "${r}", which is not in residents`)
  }))
  const secrets: Array<[string, string | undefined]> = [
    ...data.devices.map((d, i): [string, string | undefined] => [`devices[${i}].secret`, d.secret]),
    ...data.residents.map((r, i): [string, string | undefined] => [`residents[${i}].secret`, r.secret]),
    ...data.services.map((s, i): [string, string | undefined] => [`services[${i}].token`, s.token]),
    ...data.clients.map((c, i): [string, string | undefined] => [`clients[${i}].secret`, c.secret])
  ]
  for (const [where, secret] of secrets) {
    if (secret === undefined || !isHashedSecret(secret)) continue
    try {
      checkHashedSecret(secret)
    } catch (err) {
      throw new DirectoryError(file, `${where}: ${(err as Error).message}`)
    }
  }
  data.clients.forEach((c, i) => {
    for (const side of ['publish', 'subscribe'] as const) {
      c[side].forEach((f, j) => {
        if (!isValidFilter(f) || f.startsWith('$')) {
          throw new DirectoryError(file, `clients[${i}].${side}[${j}] "${f}" is not a valid MQTT topic filter (no $ topics; + and # only as whole levels, # last)`)
        }
      })
    }
  })
}

/**
 * Validates parsed directory data, filling in defaults (in place: pass data of
 * your own); errors name the source and the offending entry.
 */
export function validateDirectory (source: string, raw: unknown): DirectoryFile {
  const withDefaults = validator.Default(raw)
  if (!validator.Check(withDefaults)) {
    const first = validator.Errors(withDefaults)[0]
    const where = first ? entryPath(first.instancePath) : '(top level)'
    // TypeBox reports an unknown field as "schema is false".
    const message = first?.message === 'schema is false' ? 'is not a known field' : first?.message ?? 'is invalid'
    throw new DirectoryError(source, `${where} ${message}`)
  }
  checkDirectory(source, withDefaults)
  return withDefaults
}

/** Parses and validates directory JSON text; errors name the file and the offending entry. */
export function parseDirectoryFile (file: string, text: string): DirectoryFile {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new DirectoryError(file, `not valid JSON (${(err as Error).message})`)
  }
  return validateDirectory(file, raw)
}

export function parseDirectory (file: string, text: string): Directory {
  return new Directory(parseDirectoryFile(file, text))
}

/** Reads and validates the directory file. */
export function readDirectoryFile (file: string): DirectoryFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new DirectoryError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set INTERCOM_DIRECTORY to a readable JSON file`)
  }
  return parseDirectoryFile(file, text)
}

export function loadDirectory (file: string): Directory {
  return new Directory(readDirectoryFile(file))
}

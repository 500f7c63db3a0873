import type { Logger } from 'pino'
import { IntercomError } from '../errors'
import { deleteEntry, DIRECTORY_SECTIONS, diffDirectories, entryName, keepCurrentSecrets, keyField, putEntry, secretField, withoutSecrets, type EntryKind } from './admin'
import { Directory, type DirectoryChange } from './directory'
import type { DirectoryFile } from './schema'
import { hashSecret, isHashedSecret } from './secrets'
import type { DirectoryStore } from './store'

/** What a replacement changes, as the admin route reports it. */
export interface ReplaceResult { added: string[], removed: string[], changed: string[] }

/** Ids of entries a change on this node removed: their calls are ended once, by this node. */
export interface Removed { devices: string[], residents: string[] }

export interface LiveDirectoryOptions {
  store: DirectoryStore
  logger: Logger
  onRemoved: (removed: Removed) => Promise<void>
}

/** A write that lost a race re-reads and tries again, this many times. */
const MAX_ATTEMPTS = 5
/** Clear secrets hashed at once: scrypt is slow and memory-hungry on purpose. */
const HASH_CONCURRENCY = 4

type Entry = Record<string, unknown>

/**
 * The running directory and how it changes: every change is saved in the
 * store first, then put in place; changes made by other nodes are picked up
 * from the store. Changes are applied one at a time, in version order.
 */
export class LiveDirectory {
  readonly directory: Directory
  readonly #options: LiveDirectoryOptions
  #queue: Promise<unknown> = Promise.resolve()
  #refreshing = false

  private constructor (initial: { file: DirectoryFile, version: number }, options: LiveDirectoryOptions) {
    this.directory = new Directory(initial.file, initial.version)
    this.#options = options
  }

  static async start (options: LiveDirectoryOptions): Promise<LiveDirectory> {
    const live = new LiveDirectory(await options.store.load(), options)
    options.store.watch((version) => live.#noticed(version))
    return live
  }

  /** The whole directory without secrets. */
  export (): DirectoryFile {
    return withoutSecrets(this.directory.data)
  }

  /** Replaces the whole directory (already validated); entries without a secret keep theirs. */
  async replace (body: DirectoryFile, dryRun: boolean): Promise<ReplaceResult> {
    const resolved = await this.#resolveSecrets(body)
    if (dryRun) return publicDiff(this.directory.data, keepCurrentSecrets(this.directory.data, resolved))
    const { change: { diff: { added, removed, changed } } } = await this.#update((current) => keepCurrentSecrets(current, resolved))
    return { added, removed, changed }
  }

  /** Creates or replaces one entry; the entry as stored, without its secret. */
  async put (kind: EntryKind, key: string, body: Entry): Promise<Entry> {
    const [resolved] = (await this.#resolveSecrets({ ...emptyFile(), [kind]: [{ ...body, [keyField(kind)]: key }] }))[kind] as Entry[]
    const { [keyField(kind)]: _key, ...fields } = resolved ?? body
    let stored: Entry = {}
    await this.#update((current) => {
      const { file, entry } = putEntry(current, kind, key, fields)
      stored = entry
      return file
    })
    const secret = secretField(kind)
    if (secret === undefined) return stored
    const { [secret]: _secret, ...shown } = stored
    return shown
  }

  /** Deletes one entry and the references to it; its name, or a 404. */
  async remove (kind: EntryKind, key: string): Promise<string> {
    await this.#update((current) => {
      const next = deleteEntry(current, kind, key)
      if (next === null) throw new IntercomError('not_found', `no ${entryName(kind, key)} in the directory; GET /api/admin/directory lists them`)
      return next
    })
    return entryName(kind, key)
  }

  /** Reads the store again (the file, for a node alone) and applies what changed. */
  async reload (): Promise<DirectoryChange> {
    return await this.#serially(async () => {
      const stored = await this.#options.store.load()
      const change = this.#apply(stored.file, stored.version)
      await this.#removed(change)
      return change
    })
  }

  #serially<T> (task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task)
    this.#queue = run.catch(() => {})
    return run
  }

  async #update (mutate: (current: DirectoryFile) => DirectoryFile): Promise<{ change: DirectoryChange }> {
    return await this.#serially(async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const before = this.directory.data
        const after = mutate(before)
        const version = await this.#options.store.save(after, this.directory.version)
        if (version !== null) {
          const change = this.#apply(after, version)
          await this.#removed(change)
          return { change }
        }
        // Another node wrote first: build on its version.
        const stored = await this.#options.store.load()
        this.#apply(stored.file, stored.version)
      }
      throw new IntercomError('service_unavailable', 'the directory is changing too fast on other nodes; retry')
    })
  }

  #apply (file: DirectoryFile, version: number): DirectoryChange {
    const change = this.directory.replace(file, version)
    const { added, removed, changed } = change.diff
    if (added.length + removed.length + changed.length > 0) {
      this.#options.logger.info({ version, added: added.length, removed: removed.length, changed: changed.length }, 'directory changed')
    }
    return change
  }

  async #removed (change: DirectoryChange): Promise<void> {
    const { removed } = change.diff
    const ids = (prefix: string): string[] => removed.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length))
    const gone = { devices: ids('device/'), residents: ids('resident/') }
    if (gone.devices.length + gone.residents.length === 0) return
    await this.#options.onRemoved(gone).catch((err: unknown) => this.#options.logger.error({ err, ...gone }, 'could not end the calls of removed entries'))
  }

  /** Another node may have written: catch up once, however many notices arrive meanwhile. */
  #noticed (version: number): void {
    if (!(version > this.directory.version) || this.#refreshing) return
    this.#refreshing = true
    this.#serially(async () => {
      this.#refreshing = false
      const stored = await this.#options.store.load()
      if (stored.version > this.directory.version) this.#apply(stored.file, stored.version)
    }).catch((err: unknown) => {
      this.#refreshing = false
      this.#options.logger.warn({ err }, 'could not read a newer directory; retrying at the next check')
    })
  }

  /**
   * Clear secrets become hashes, except one that the identity has now: that
   * one keeps its stored form, so sending it again re-keys nobody.
   */
  async #resolveSecrets (file: DirectoryFile): Promise<DirectoryFile> {
    const result: DirectoryFile = { ...file }
    for (const section of DIRECTORY_SECTIONS) {
      const secret = secretField(section)
      if (secret === undefined) continue
      const entries = file[section] as Entry[]
      const resolved: Entry[] = []
      for (let i = 0; i < entries.length; i += HASH_CONCURRENCY) {
        resolved.push(...await Promise.all(entries.slice(i, i + HASH_CONCURRENCY).map(async (entry) => {
          const clear = entry[secret]
          if (typeof clear !== 'string' || isHashedSecret(clear)) return entry
          const name = entryName(section, String(entry[keyField(section)]))
          const stored = this.directory.storedSecret(name)
          const kept = stored !== undefined && (await this.directory.authenticate(name, clear)) !== null
          return { ...entry, [secret]: kept ? stored : await hashSecret(clear) }
        })))
      }
      Object.assign(result, { [section]: resolved })
    }
    return result
  }
}

function emptyFile (): DirectoryFile {
  return { devices: [], households: [], residents: [], services: [], clients: [] }
}

function publicDiff (before: DirectoryFile, after: DirectoryFile): ReplaceResult {
  const { added, removed, changed } = diffDirectories(before, after)
  return { added, removed, changed }
}

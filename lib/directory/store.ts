import type { DirectoryFile } from './schema'

export interface StoredDirectory {
  readonly file: DirectoryFile
  readonly version: number
}

/**
 * Where the live directory is kept: the directory file for a node alone, Redis
 * for a cluster. Versions rise by one with every write.
 */
export interface DirectoryStore {
  /** Where the source of truth is, for logs. */
  readonly description: string
  /** The stored directory (seeded from the directory file when the store holds none). */
  load (): Promise<StoredDirectory>
  /** Writes `file` if the stored version is still `expected`: the new version, or null when another write came first. */
  save (file: DirectoryFile, expected: number): Promise<number | null>
  /** Calls `onNewer` when another node may have written a newer version (cluster only). */
  watch (onNewer: (version: number) => void): void
  close (): Promise<void>
}

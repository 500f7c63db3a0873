import { open, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { IntercomError } from '../errors'
import { readDirectoryFile } from './load'
import type { DirectoryFile } from './schema'
import type { DirectoryStore } from './store'

/** Writes the whole file beside the old one, flushes it, then renames it over: a crash leaves the old or the new file, never half of one. */
export async function writeFileAtomically (file: string, text: string): Promise<void> {
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`)
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, file)
  } catch (err) {
    await unlink(temporary).catch(() => {})
    throw err
  }
}

/**
 * A node alone keeps its directory in the directory file itself: every change
 * is written back, so it survives a restart. The version counts changes since start.
 */
export function createFileDirectoryStore (file: string): DirectoryStore {
  let version = 0
  return {
    description: `the directory file ${file}`,
    async load () {
      const data = readDirectoryFile(file)
      version++
      return { file: data, version }
    },
    async save (data: DirectoryFile, expected: number) {
      if (expected !== version) return null
      try {
        await writeFileAtomically(file, `${JSON.stringify(data, null, 2)}\n`)
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
        throw new IntercomError('internal', `the directory file ${file} cannot be written (${reason}); nothing was changed: make the file and its folder writable by the node`)
      }
      version++
      return version
    },
    watch: () => {},
    close: async () => {}
  }
}

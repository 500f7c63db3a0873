import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestClient } from '../helpers/mqtt'
import { request, type HttpResult } from '../helpers/http'
import { DEMO_DIRECTORY } from '../helpers/node'

interface Teardown { teardown (fn: () => unknown): void }

/** A writable copy of the demo directory: a node alone writes its changes back to it. */
export function directoryCopy (t: Teardown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-directory-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'directory.json')
  copyFileSync(DEMO_DIRECTORY, file)
  return file
}

/** An admin request as the demo service. */
export function admin (base: string, method: string, route: string, body?: unknown): Promise<HttpResult> {
  return request(base, method, route, { as: 'service/ops', ...(body === undefined ? {} : { body }) })
}

/** Resolves when the client's connection closes; rejects after `timeoutMs`. */
export function closed (client: TestClient, timeoutMs = 5000): Promise<void> {
  if (!client.client.connected) return Promise.resolve()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs)
    client.client.once('close', () => { clearTimeout(timer); resolve() })
  })
}

/** Retries `attempt` until it resolves, or rethrows its last error at the deadline. */
export async function within<T> (ms: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await attempt()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

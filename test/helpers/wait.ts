import { randomUUID } from 'node:crypto'
import { filterMatches } from '../../lib/topics/filters'
import type { TestClient } from './mqtt'

export interface UntilOptions {
  /** What the test waits for, named in the failure. */
  what: string
  /** Longest wait; generous, because a loaded machine is slow, not wrong. */
  timeoutMs?: number
  /** Pause between two checks. */
  everyMs?: number
}

/**
 * Resolves with the first truthy result of `check`, polled until `timeoutMs`;
 * then fails naming what it waited for and the last result or error.
 */
export async function until<T> (check: () => T | Promise<T>, options: UntilOptions): Promise<NonNullable<T>> {
  const { what, timeoutMs = 10_000, everyMs = 10 } = options
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const result = await check()
      if (result !== undefined && result !== null && result !== false && result !== '' && result !== 0) return result as NonNullable<T>
      last = result
    } catch (err) {
      last = err
    }
    if (Date.now() >= deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; last check gave ${last instanceof Error ? last.message : JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * Proves that everything the broker sent these clients before now has arrived,
 * so a test may then check that something was NOT sent: each client subscribes
 * to a fresh `system/` marker topic, `via` (a service) publishes one marker, and
 * the broker delivers it to each client after whatever it queued for it
 * earlier. The marker is removed from the clients' received messages.
 */
export async function flush (via: TestClient, ...clients: TestClient[]): Promise<void> {
  const topic = `system/flush-${randomUUID()}`
  const levels = topic.split('/')
  const added: TestClient[] = []
  for (const client of clients) {
    if (added.includes(client) || client.filters.some((f) => filterMatches(f.split('/'), levels))) continue
    const [granted] = await client.subscribe(topic, 1)
    if (granted !== 1) throw new Error(`flush: ${client.client.options.username ?? 'a client'} may not read ${topic}`)
    added.push(client)
  }
  await via.publish(topic, { flush: true }, 1)
  for (const client of clients) await client.waitFor((m) => m.topic === topic, 10_000)
  for (const client of added) {
    await new Promise<void>((resolve, reject) => client.client.unsubscribe(topic, (err) => (err ? reject(err) : resolve())))
    client.filters.splice(client.filters.indexOf(topic), 1)
  }
  for (const client of clients) {
    for (let at = client.messages.findIndex((m) => m.topic === topic); at >= 0; at = client.messages.findIndex((m) => m.topic === topic)) client.messages.splice(at, 1)
  }
}

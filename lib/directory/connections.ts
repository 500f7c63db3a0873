import type { Aedes, Client } from 'aedes'
import type { ClientContexts } from '../broker/client-context'

/**
 * Closes this node's MQTT connections of the named identities: removed or
 * re-keyed ones must sign in again, and their old credentials no longer work.
 * Returns how many were closed.
 */
export function closeConnectionsOf (broker: Aedes, contexts: ClientContexts, names: ReadonlySet<string>): number {
  if (names.size === 0) return 0
  // Aedes keeps its connected clients by id; the field is not in its typings.
  const clients = (broker as unknown as { clients?: Record<string, Client> }).clients ?? {}
  let closed = 0
  for (const client of Object.values(clients)) {
    const name = contexts.get(client)?.identity.name
    if (name === undefined || !names.has(name)) continue
    client.close()
    closed++
  }
  return closed
}

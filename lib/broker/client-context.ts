import type { Client } from 'aedes'
import type { Identity } from '../identity'
import type { TopicRights } from '../topics/rights'

export interface OutgoingQueue {
  /** QoS 1 messages forwarded while the socket was full. */
  backlog: number
  /** QoS 0 messages dropped for this connection. */
  dropped: number
  /** Messages and bytes forwarded in the current turn of the event loop (not in the socket's buffer yet). */
  turn: number
  turnMessages: number
  turnBytes: number
}

/** What the broker knows about an authenticated connection. */
export interface ClientContext {
  readonly identity: Identity
  readonly rights: TopicRights
  /** Unique per connection: a reconnect with the same client id gets a new one. */
  readonly connectionId: string
  /** Filters granted to this connection (restored ones included), to cap their number. */
  readonly filters: Set<string>
  /** This connection's outgoing queue, bounded in authorizeForward (see slow-clients.ts). */
  readonly outgoing: OutgoingQueue
  /** Requests of one connection are handled one after the other, in arrival order. */
  queue: Promise<void>
}

/** Connection → context, owned by one broker; entries go with their client. */
export class ClientContexts {
  private readonly contexts = new WeakMap<Client, ClientContext>()
  private readonly listeners = new Set<(client: Client, context: ClientContext) => void>()

  /** Records a connection at authentication, before Aedes closes an older one with the same client id. */
  set (client: Client, context: ClientContext): void {
    this.contexts.set(client, context)
    for (const listener of this.listeners) listener(client, context)
  }

  /** Hears of every authenticated connection; returns how to stop. */
  onAuthenticated (listener: (client: Client, context: ClientContext) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get (client: Client): ClientContext | undefined {
    return this.contexts.get(client)
  }
}

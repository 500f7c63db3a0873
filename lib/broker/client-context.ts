import type { Client } from 'aedes'
import type { Identity } from '../identity'
import type { TopicRights } from '../topics/rights'

/** What the broker knows about an authenticated connection. */
export interface ClientContext {
  readonly identity: Identity
  readonly rights: TopicRights
  /** Requests of one connection are handled one after the other, in arrival order. */
  queue: Promise<void>
}

/** Connection → context, owned by one broker; entries go with their client. */
export class ClientContexts {
  private readonly contexts = new WeakMap<Client, ClientContext>()

  set (client: Client, context: ClientContext): void {
    this.contexts.set(client, context)
  }

  get (client: Client): ClientContext | undefined {
    return this.contexts.get(client)
  }
}

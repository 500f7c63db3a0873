import { Aedes, type Client } from 'aedes'
import type { Logger } from 'pino'
import type { TokenVerifier } from '../auth/tokens'
import type { Directory } from '../directory/directory'
import type { SessionOwners } from '../stores/session-owners'
import { ClientContexts } from './client-context'
import { createHooks, type RefusalNotifier, type RequestHandler } from './hooks'

export interface BrokerOptions {
  /** Unique per node of a cluster. */
  id: string
  directory: Directory
  /** Sign-in tokens, when configured. */
  tokens?: TokenVerifier | null
  logger: Logger
  handleRequest: RequestHandler
  notifyRefusal: RefusalNotifier
  sessionOwners: SessionOwners
  /** aedes persistence and mqemitter; in-memory ones when absent. */
  persistence?: unknown
  mq?: unknown
  /** How often nodes of a cluster announce they are alive (ms). */
  heartbeatInterval?: number
}

export interface IntercomBroker {
  aedes: Aedes
  contexts: ClientContexts
}

/** The embedded Aedes broker with the product's hooks in place. */
export async function createBroker (options: BrokerOptions): Promise<IntercomBroker> {
  const contexts = new ClientContexts()
  let aedes: Aedes | null = null
  const hooks = createHooks({
    // Aedes keeps its connected clients by id; the field is not in its typings.
    findClient: (clientId) => (aedes as unknown as { clients?: Record<string, Client> } | null)?.clients?.[clientId],
    directory: options.directory,
    tokens: options.tokens ?? null,
    contexts,
    logger: options.logger,
    handleRequest: options.handleRequest,
    notifyRefusal: options.notifyRefusal,
    sessionOwners: options.sessionOwners
  })
  aedes = await Aedes.createBroker({
    id: options.id,
    persistence: options.persistence,
    mq: options.mq,
    // Only when set: an explicit undefined would replace Aedes' default and make it beat every millisecond.
    ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }),
    ...hooks
  })
  aedes.on('clientError', (client, err) => {
    options.logger.debug({ clientId: client.id, err: err.message }, 'client error')
  })
  aedes.on('connectionError', (client, err) => {
    options.logger.debug({ clientId: client.id, err: err.message }, 'connection error')
  })
  return { aedes, contexts }
}

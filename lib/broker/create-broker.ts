import { Aedes } from 'aedes'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/authenticator'
import type { Directory } from '../directory/directory'
import { ClientContexts } from './client-context'
import { createHooks, type RefusalNotifier, type RequestHandler } from './hooks'

export interface BrokerOptions {
  /** Unique per node of a cluster. */
  id: string
  directory: Directory
  authenticator: Authenticator
  logger: Logger
  handleRequest: RequestHandler
  notifyRefusal: RefusalNotifier
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
  const hooks = createHooks({
    directory: options.directory,
    authenticator: options.authenticator,
    contexts,
    logger: options.logger,
    handleRequest: options.handleRequest,
    notifyRefusal: options.notifyRefusal
  })
  const aedes = await Aedes.createBroker({
    id: options.id,
    persistence: options.persistence,
    mq: options.mq,
    // Only when set: an explicit undefined would replace Aedes' default and make it beat every millisecond.
    ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }),
    // Ids are scoped to the identity (client-ids.ts); the 3.1 length rule is checked on the id the client sent.
    maxClientsIdLength: Number.MAX_SAFE_INTEGER,
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

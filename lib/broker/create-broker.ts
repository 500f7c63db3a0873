import { Aedes } from 'aedes'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/authenticator'
import type { Directory } from '../directory/directory'
import type { RetainedQuota } from '../limits/retained-quota'
import { ClientContexts } from './client-context'
import { createHooks, type RefusalNotifier, type RequestHandler } from './hooks'
import { releaseOverdueDeliveries } from './release-overdue'
import { createSlowClientCounts, type OutgoingQueueLimits, type SlowClientCounts } from './slow-clients'

/**
 * Messages in flight through the broker at once (Aedes' default is 100).
 * A delivery waiting on one client's drain holds its place: with a small
 * bound, one stalled subscriber froze every delivery. Slow clients' own
 * queues are bounded instead (slow-clients.ts).
 */
const IN_FLIGHT_MESSAGES = 100_000

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
  /** A connection without a CONNECT by then is closed. */
  connectTimeoutMs: number
  /** Longest keep-alive served (s): 0 and longer are served as this. */
  maxKeepaliveSeconds: number
  /** Subscriptions of one connection; more filters are refused. */
  maxSubscriptions: number
  outgoingLimits: OutgoingQueueLimits
  /** Bounds what clients leave retained. */
  retainedQuota: RetainedQuota
  /** How often nodes of a cluster announce they are alive (ms). */
  heartbeatInterval?: number
}

export interface IntercomBroker {
  aedes: Aedes
  contexts: ClientContexts
  slowClients: SlowClientCounts
}

/** The embedded Aedes broker with the product's hooks in place. */
export async function createBroker (options: BrokerOptions): Promise<IntercomBroker> {
  const contexts = new ClientContexts()
  const slowClients = createSlowClientCounts()
  const hooks = createHooks({
    directory: options.directory,
    authenticator: options.authenticator,
    contexts,
    logger: options.logger,
    handleRequest: options.handleRequest,
    notifyRefusal: options.notifyRefusal,
    maxKeepaliveSeconds: options.maxKeepaliveSeconds,
    maxSubscriptions: options.maxSubscriptions,
    outgoingLimits: options.outgoingLimits,
    retainedQuota: options.retainedQuota,
    slowClients
  })
  const aedes = await Aedes.createBroker({
    id: options.id,
    persistence: options.persistence,
    mq: options.mq,
    connectTimeout: options.connectTimeoutMs,
    concurrency: IN_FLIGHT_MESSAGES,
    // Only when set: an explicit undefined would replace Aedes' default and make it beat every millisecond.
    ...(options.heartbeatInterval === undefined ? {} : { heartbeatInterval: options.heartbeatInterval }),
    // Ids are scoped to the identity (client-ids.ts); the 3.1 length rule is checked on the id the client sent.
    maxClientsIdLength: Number.MAX_SAFE_INTEGER,
    ...hooks
  })
  releaseOverdueDeliveries(aedes)
  aedes.on('unsubscribe', (filters, client) => {
    const granted = contexts.get(client)?.filters
    if (granted !== undefined) for (const filter of filters) granted.delete(filter)
  })
  aedes.on('clientError', (client, err) => {
    options.logger.debug({ clientId: client.id, err: err.message }, 'client error')
  })
  aedes.on('connectionError', (client, err) => {
    options.logger.debug({ clientId: client.id, err: err.message }, 'connection error')
  })
  return { aedes, contexts, slowClients }
}

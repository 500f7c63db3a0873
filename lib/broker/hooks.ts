import { randomUUID } from 'node:crypto'
import type { AedesOptions, Client } from 'aedes'
import type { Logger } from 'pino'
import { signIn, type TokenVerifier } from '../auth/tokens'
import type { Directory } from '../directory/directory'
import type { SessionOwners } from '../stores/session-owners'
import type { Identity } from '../identity'
import { compileRights, type RequestKind, type TopicRights } from '../topics/rights'
import { DISCARD_TOPIC } from '../topics/names'
import type { ClientContext, ClientContexts } from './client-context'

/** Handles one MQTT request (a publish on a request topic); never throws. */
export type RequestHandler = (context: ClientContext, request: RequestKind, payload: Buffer) => Promise<void>

/** Tells a refused device or resident why its publish went nowhere; never throws. */
export type RefusalNotifier = (context: ClientContext, topic: string) => void

export interface HookOptions {
  directory: Directory
  /** Sign-in tokens, when configured. */
  tokens?: TokenVerifier | null
  contexts: ClientContexts
  logger: Logger
  handleRequest: RequestHandler
  notifyRefusal: RefusalNotifier
  /** The connected client with this id on this node, if any. */
  findClient: (clientId: string) => Client | undefined
  sessionOwners: SessionOwners
}

type Hooks = Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>>

const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_CREDENTIALS: 4, NOT_AUTHORIZED: 5 } as const

function refusal (returnCode: number, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode })
}

/**
 * Turns a publish into one nobody receives: MQTT 3.1.1 has no negative
 * PUBACK, and an error from authorizePublish would disconnect the client.
 * The QoS 1 publish is still acknowledged; nothing is delivered or retained.
 */
function discard (packet: { topic: string, retain: boolean, payload: Buffer | string }): void {
  packet.topic = DISCARD_TOPIC
  packet.retain = false
  packet.payload = Buffer.alloc(0)
}

/**
 * The Aedes hooks that decide who may connect, publish and subscribe
 * (CONTRACT §2), and that hand request topics to the call logic.
 */
export function createHooks (options: HookOptions): Hooks {
  const { directory, tokens = null, contexts, logger, handleRequest, notifyRefusal, findClient, sessionOwners } = options
  // MQTT-3.1.3-8: a zero-length client id needs a clean session.
  const emptyIdWithSession = new WeakSet<Client>()
  // Rights depend on the identity alone: every connection of one identity shares them.
  const rightsByIdentity = new Map<string, TopicRights>()
  directory.onChange(() => rightsByIdentity.clear())
  const rightsOf = (identity: Identity): TopicRights => {
    let rights = rightsByIdentity.get(identity.name)
    if (rights === undefined) {
      rights = compileRights(identity, directory)
      rightsByIdentity.set(identity.name, rights)
    }
    return rights
  }

  return {
    preConnect (client, packet, callback) {
      if (packet.clientId === '' && !packet.clean) emptyIdWithSession.add(client)
      callback(null, true)
    },

    authenticate (client, username, password, callback) {
      if (emptyIdWithSession.has(client)) {
        callback(refusal(CONNACK.IDENTIFIER_REJECTED, 'a client without an id must ask for a clean session'), null)
        return
      }
      if (username === undefined || username === '' || password === undefined) {
        callback(refusal(CONNACK.NOT_AUTHORIZED, 'anonymous connections are not allowed'), null)
        return
      }
      signIn(directory, tokens, username, password.toString('utf8')).then((signedIn) => {
        if (signedIn === null) {
          callback(refusal(CONNACK.BAD_CREDENTIALS, 'bad username or password'), null)
          return
        }
        const { identity, expiresAt } = signedIn
        // A session takeover is for the same identity only: nobody can kick another identity off
        // by reusing its client id, nor take over or wipe its persistent session.
        const holder = findClient(client.id)
        const holderIdentity = holder === undefined || holder === client ? undefined : contexts.get(holder)?.identity
        if (holderIdentity !== undefined && holderIdentity.name !== identity.name) {
          callback(refusal(CONNACK.IDENTIFIER_REJECTED, `client id ${client.id} is in use by another identity`), null)
          return
        }
        return sessionOwners.claim(client.id, identity.name, !client.clean).then((mayUse) => {
          if (!mayUse) {
            callback(refusal(CONNACK.IDENTIFIER_REJECTED, `client id ${client.id} belongs to another identity's session`), null)
            return
          }
          contexts.set(client, { identity, rights: rightsOf(identity), connectionId: randomUUID(), queue: Promise.resolve(), ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }) })
          callback(null, true)
        })
      }).catch((err: unknown) => {
        logger.error({ err }, 'authentication failed unexpectedly')
        callback(refusal(CONNACK.SERVER_UNAVAILABLE, 'authentication is unavailable; retry'), null)
      })
    },

    authorizePublish (client, packet, callback) {
      // Publishes of the server itself do not come through here.
      const context = client === null ? undefined : contexts.get(client)
      if (context === undefined) {
        discard(packet)
        callback(null)
        return
      }
      const verdict = context.rights.publish(packet.topic)
      if (verdict.verdict === 'forward') {
        callback(null)
        return
      }
      if (verdict.verdict === 'deny') {
        logger.debug({ identity: context.identity.name, topic: packet.topic }, 'publish refused')
        notifyRefusal(context, packet.topic)
        discard(packet)
        callback(null)
        return
      }
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
      discard(packet)
      // Acknowledge once handled, in order: a client's next request sees the effect of this one.
      const handled = context.queue.then(() => handleRequest(context, verdict.request, payload))
      context.queue = handled
      handled.then(() => callback(null), () => callback(null))
    },

    authorizeSubscribe (client, subscription, callback) {
      const context = contexts.get(client)
      if (context === undefined || !context.rights.subscribe(subscription.topic)) {
        logger.debug({ identity: context?.identity.name, filter: subscription.topic }, 'subscription refused')
        // null refuses this one filter (SUBACK 0x80) and keeps the connection.
        callback(null, null)
        return
      }
      callback(null, subscription)
    },

    authorizeForward (client, packet) {
      const context = contexts.get(client)
      if (context === undefined || !context.rights.receive(packet.topic)) return null
      return packet
    }
  }
}

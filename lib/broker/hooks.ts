import { randomUUID } from 'node:crypto'
import type { Writable } from 'node:stream'
import type { AedesOptions, Client } from 'aedes'
import type { Logger } from 'pino'
import type { Authenticator } from '../auth/authenticator'
import { mqttOrigin } from '../auth/mqtt-origin'
import type { Directory } from '../directory/directory'
import type { Identity } from '../identity'
import type { RetainedQuota } from '../limits/retained-quota'
import { compileRights, type RequestKind, type TopicRights } from '../topics/rights'
import { DISCARD_TOPIC } from '../topics/names'
import type { ClientContext, ClientContexts } from './client-context'
import { MQTT31_MAX_CLIENT_ID, scopedClientId } from './client-ids'
import { forwardDecision, slowPastBytes, type OutgoingQueueLimits, type SlowClientCounts } from './slow-clients'

/** Handles one MQTT request (a publish on a request topic); never throws. */
export type RequestHandler = (context: ClientContext, request: RequestKind, payload: Buffer) => Promise<void>

/** Tells a refused device or resident why its publish went nowhere; never throws. */
export type RefusalNotifier = (context: ClientContext, reason: string) => void

export interface HookOptions {
  directory: Directory
  authenticator: Authenticator
  contexts: ClientContexts
  logger: Logger
  handleRequest: RequestHandler
  notifyRefusal: RefusalNotifier
  /** Longest keep-alive served (s). */
  maxKeepaliveSeconds: number
  /** Subscriptions of one connection. */
  maxSubscriptions: number
  outgoingLimits: OutgoingQueueLimits
  /** Counted as slow clients are dropped or disconnected. */
  slowClients: SlowClientCounts
  /** Bounds what clients leave retained. */
  retainedQuota: RetainedQuota
}

type Hooks = Required<Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>>

const CONNACK = { IDENTIFIER_REJECTED: 2, SERVER_UNAVAILABLE: 3, BAD_CREDENTIALS: 4, NOT_AUTHORIZED: 5 } as const
/** A throttled sign-in is not told whether its secret was right. */
const SIGN_IN_REFUSAL = { bad_credentials: CONNACK.BAD_CREDENTIALS, throttled: CONNACK.NOT_AUTHORIZED, busy: CONNACK.SERVER_UNAVAILABLE } as const

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
 * (the rights table), and that hand request topics to the call logic.
 */
export function createHooks (options: HookOptions): Hooks {
  const { directory, authenticator, contexts, logger, handleRequest, notifyRefusal, retainedQuota } = options
  // Client ids refused at CONNECT (CONNACK 0x02), answered once authentication runs.
  const refusedIds = new WeakMap<Client, string>()
  // Rights depend on the identity alone: every connection of one identity shares them.
  const rightsByIdentity = new Map<string, TopicRights>()
  directory.onChange(() => rightsByIdentity.clear())
  const bufferBytes = slowPastBytes(options.outgoingLimits)
  // A counter that moves once per turn of the event loop while messages are forwarded.
  let turn = 0
  let turnScheduled = false
  const nextTurn = (): void => { turn++; turnScheduled = false }
  const currentTurn = (): number => {
    if (!turnScheduled) {
      turnScheduled = true
      setImmediate(nextTurn)
    }
    return turn
  }
  // Set while Aedes delivers through a client's QoS 0 path: authorizeForward sees the published
  // packet, before Aedes lowers its QoS to the subscription's.
  let deliveringAtQos0 = false
  const markQos0Deliveries = (client: Client): void => {
    const aedesClient = client as unknown as { deliver0: (packet: unknown, cb: () => void) => void }
    const deliver0 = aedesClient.deliver0
    // Subscriptions take the client's deliver0 when made (restored ones too, after authentication).
    aedesClient.deliver0 = (packet, cb) => {
      deliveringAtQos0 = true
      try {
        deliver0(packet, cb)
      } finally {
        deliveringAtQos0 = false
      }
    }
  }
  // Made once, not per publish: most publishes are forwarded and never need it.
  const refusePublish = (context: ClientContext, packet: Parameters<Hooks['authorizePublish']>[1], callback: (err: Error | null) => void, reason: string): void => {
    logger.debug({ identity: context.identity.name, topic: packet.topic, reason }, 'publish refused')
    notifyRefusal(context, reason)
    discard(packet)
    callback(null)
  }
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
      // A server-side maximum, so a silent client with keep-alive 0 (none) cannot stay online for ever.
      // Aedes' keepaliveLimit would refuse with return code 6, which MQTT 3.1.1 does not have.
      const keepalive = packet.keepalive ?? 0
      if (keepalive === 0 || keepalive > options.maxKeepaliveSeconds) packet.keepalive = options.maxKeepaliveSeconds
      if (packet.clientId === '') {
        // MQTT-3.1.3-8. A zero-length id with a clean session gets Aedes' `aedes_<uuid>`, which has no scope and no collision.
        if (!packet.clean) refusedIds.set(client, 'a client without an id must ask for a clean session')
      } else if (packet.protocolVersion === 3 && packet.clientId.length > MQTT31_MAX_CLIENT_ID) {
        refusedIds.set(client, `an MQTT 3.1 client id has at most ${MQTT31_MAX_CLIENT_ID} characters`)
      } else if (typeof packet.username === 'string') {
        // Before Aedes sets client.id from it: the id is the identity's own from the start.
        // An unauthenticated username goes no further than authentication.
        packet.clientId = scopedClientId(packet.username, packet.clientId)
      }
      callback(null, true)
    },

    authenticate (client, username, password, callback) {
      const idRefusal = refusedIds.get(client)
      if (idRefusal !== undefined) {
        callback(refusal(CONNACK.IDENTIFIER_REJECTED, idRefusal), null)
        return
      }
      if (username === undefined || username === '' || password === undefined) {
        callback(refusal(CONNACK.NOT_AUTHORIZED, 'anonymous connections are not allowed'), null)
        return
      }
      // A reconnect storm leaves closed connections behind in the sign-in queue: their checks are dropped unrun.
      const closed = new AbortController()
      const abort = (): void => closed.abort()
      const conn = client.conn as unknown as Writable
      if (conn.destroyed) abort()
      else conn.once('close', abort)
      authenticator.authenticate({ username, credential: password.toString('utf8'), ...mqttOrigin(client), signal: closed.signal }).finally(() => {
        conn.off('close', abort)
      }).then((signIn) => {
        if (!signIn.ok) {
          callback(refusal(SIGN_IN_REFUSAL[signIn.reason], signIn.message), null)
          return
        }
        const { identity, expiresAt } = signIn
        markQos0Deliveries(client)
        contexts.set(client, { identity, rights: rightsOf(identity), connectionId: randomUUID(), filters: new Set(), outgoing: { backlog: 0, dropped: 0, turn: -1, turnMessages: 0, turnBytes: 0 }, queue: Promise.resolve(), ...(expiresAt === undefined ? {} : { tokenExpiresAt: expiresAt }) })
        callback(null, true)
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
        if (!packet.retain) {
          callback(null)
          return
        }
        retainedQuota.claim(context.identity.name, packet.topic, packet.payload.length).then((retained) => {
          if (retained.verdict === 'refuse') refusePublish(context, packet, callback, retained.reason)
          else callback(null)
        }, (err: unknown) => {
          logger.warn({ err, identity: context.identity.name, topic: packet.topic }, 'retained publish dropped: its quota could not be checked')
          refusePublish(context, packet, callback, 'the retained quota could not be checked; retry')
        })
        return
      }
      if (verdict.verdict === 'deny') {
        refusePublish(context, packet, callback, `${context.identity.name} may not publish on ${packet.topic}`)
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
      const filter = subscription.topic
      // Checked first: past the cap, a refusal costs nothing more.
      const full = context !== undefined && !context.filters.has(filter) && context.filters.size >= options.maxSubscriptions
      if (context === undefined || full || !context.rights.subscribe(filter)) {
        logger.debug({ identity: context?.identity.name, filter, full }, 'subscription refused')
        // null refuses this one filter (SUBACK 0x80) and keeps the connection.
        callback(null, null)
        return
      }
      context.filters.add(filter)
      callback(null, subscription)
    },

    authorizeForward (client, packet) {
      const context = contexts.get(client)
      if (context === undefined || !context.rights.receive(packet.topic)) return null
      const conn = client.conn as unknown as Writable
      // Disconnected already (deliveries handed over before that still arrive): counted and logged once.
      if (conn.destroyed) return null
      const outgoing = context.outgoing
      // Aedes writes a forwarded message on the next turn of the event loop: what was forwarded
      // in this turn is not in the socket's buffer yet, so it is counted here.
      const now = currentTurn()
      if (outgoing.turn !== now) {
        outgoing.turn = now
        outgoing.turnMessages = 0
        outgoing.turnBytes = 0
      }
      // Payload, topic and at most 16 bytes of MQTT header.
      const size = packet.payload.length + packet.topic.length + 16
      const queuedBytes = conn.writableLength + outgoing.turnBytes
      const decision = forwardDecision({
        // The QoS the client gets it at: the lower of the packet's and its subscription's.
        qos: deliveringAtQos0 ? 0 : packet.qos,
        size,
        queuedBytes,
        bufferBytes,
        turnMessages: outgoing.turnMessages,
        backlog: outgoing.backlog
      }, options.outgoingLimits)
      switch (decision) {
        case 'forward':
        case 'queue':
          if (decision === 'forward') outgoing.backlog = 0
          else outgoing.backlog++
          outgoing.turnMessages++
          outgoing.turnBytes += size
          return packet
        case 'drop':
          if (outgoing.dropped++ === 0) logger.warn({ identity: context.identity.name, clientId: client.id }, 'slow MQTT client: dropping its QoS 0 messages while its socket buffer is full')
          options.slowClients.droppedQos0++
          return null
        case 'disconnect':
          logger.warn({ identity: context.identity.name, clientId: client.id, bytes: queuedBytes, queued: outgoing.backlog, droppedQos0: outgoing.dropped }, 'slow MQTT client disconnected: outgoing queue past its bounds')
          options.slowClients.disconnected++
          conn.destroy()
          return null
      }
    }
  }
}

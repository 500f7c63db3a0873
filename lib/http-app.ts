import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import envelope, { handleClientError } from '../plugins/envelope'
import docs from '../plugins/docs'
import auth from '../plugins/auth'
import health from '../plugins/health'
import mqttWebSocket from '../plugins/mqtt-websocket'
import type { Aedes } from 'aedes'
import type { Directory } from './directory/directory'
import type { ConnectionGate } from './limits/connection-gate'

export interface HttpAppOptions {
  logger: Logger
  directory: Directory
  broker: Aedes
  bodyLimit: number
  mqttPackets: { maxPacketBytes: number, maxConnectBytes: number, maxFiltersPerSubscribe: number }
  /** Buffer of an MQTT over WebSocket connection's stream. */
  mqttSocketBufferBytes: number
  /** A connection idle for idleMs is closed, and so is one whose request is not in within requestMs. */
  timeouts: { idleMs: number, requestMs: number }
  /** Connection caps shared with the MQTT listeners. */
  connectionGate: ConnectionGate
  version: string
  health: () => Record<string, unknown>
  /** The product's routes, registered after auth and docs. */
  routes: (app: FastifyInstance) => Promise<void>
}

/** The Fastify sidecar: envelope, docs, auth, health, MQTT over WebSocket, then the routes. */
export async function buildHttpApp (options: HttpAppOptions) {
  const app = Fastify({
    // Per-request logs would cost more than the requests; warnings and errors still show.
    loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }),
    bodyLimit: options.bodyLimit,
    // A body shorter than its Content-Length, or headers sent byte by byte, cannot hold a socket.
    connectionTimeout: options.timeouts.idleMs,
    keepAliveTimeout: options.timeouts.idleMs,
    requestTimeout: options.timeouts.requestMs,
    clientErrorHandler: handleClientError,
    http: { requestTimeout: options.timeouts.requestMs, headersTimeout: options.timeouts.requestMs, connectionsCheckingInterval: Math.min(5000, options.timeouts.requestMs) },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  options.connectionGate.guard(app.server)
  await app.register(envelope)
  await app.register(docs, { version: options.version })
  await app.register(auth, { directory: options.directory })
  await app.register(health, { status: options.health })
  await app.register(mqttWebSocket, { broker: options.broker, packets: options.mqttPackets, socketBufferBytes: options.mqttSocketBufferBytes, logger: options.logger })
  await app.register(options.routes)
  return app
}

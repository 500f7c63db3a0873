import type { SecureContextOptions } from 'node:tls'
import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import envelope, { handleClientError } from '../plugins/envelope'
import docs from '../plugins/docs'
import auth from '../plugins/auth'
import cors from '../plugins/cors'
import health from '../plugins/health'
import metrics from '../plugins/metrics'
import mqttWebSocket from '../plugins/mqtt-websocket'
import webConsole from '../plugins/console'
import type { Aedes } from 'aedes'
import type { Authenticator } from './auth/authenticator'
import type { ConnectionGate } from './limits/connection-gate'
import type { Readiness } from './observability/readiness'

export interface HttpAppOptions {
  logger: Logger
  authenticator: Authenticator
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
  readiness: () => Readiness
  /** `GET /metrics`; omitted when metrics are off. */
  metrics?: { registry: Registry, token?: string }
  /** Browser origins allowed by CORS; none: no CORS headers at all. */
  corsOrigins: readonly string[]
  /** Serve HTTPS (and WSS on `/mqtt`) with this certificate instead of plain HTTP. */
  https?: SecureContextOptions
  /** The product's routes, registered after auth and docs. */
  routes: (app: FastifyInstance) => Promise<void>
}

/** The Fastify sidecar: envelope, CORS, docs, auth, health, metrics, MQTT over WebSocket, then the routes. */
export async function buildHttpApp (options: HttpAppOptions) {
  // A body shorter than its Content-Length, or headers sent byte by byte, cannot hold a socket.
  const serverTimeouts = { requestTimeout: options.timeouts.requestMs, headersTimeout: options.timeouts.requestMs, connectionsCheckingInterval: Math.min(5000, options.timeouts.requestMs) }
  const fastifyOptions = {
    // Fastify's own request logging: one line when a request comes in, one with status and time when it is answered.
    loggerInstance: options.logger.child({ component: 'http' }),
    bodyLimit: options.bodyLimit,
    connectionTimeout: options.timeouts.idleMs,
    keepAliveTimeout: options.timeouts.idleMs,
    requestTimeout: options.timeouts.requestMs,
    clientErrorHandler: handleClientError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...(options.https === undefined ? { http: serverTimeouts } : { https: { ...options.https, ...serverTimeouts } })
  }
  // Typed as the plain HTTP instance also when it serves HTTPS: no plugin touches the raw server.
  const app = (Fastify(fastifyOptions as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance).withTypeProvider<TypeBoxTypeProvider>()
  options.connectionGate.guard(app.server)
  await app.register(envelope)
  if (options.corsOrigins.length > 0) await app.register(cors, { origins: options.corsOrigins })
  await app.register(docs, { version: options.version })
  await app.register(auth, { authenticator: options.authenticator })
  await app.register(health, { status: options.health, readiness: options.readiness })
  if (options.metrics !== undefined) await app.register(metrics, options.metrics)
  await app.register(mqttWebSocket, { broker: options.broker, packets: options.mqttPackets, socketBufferBytes: options.mqttSocketBufferBytes, logger: options.logger })
  await app.register(webConsole)
  await app.register(options.routes)
  return app
}

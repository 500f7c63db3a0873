import type { SecureContextOptions } from 'node:tls'
import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import envelope from '../plugins/envelope'
import docs from '../plugins/docs'
import auth from '../plugins/auth'
import cors from '../plugins/cors'
import health from '../plugins/health'
import metrics from '../plugins/metrics'
import mqttWebSocket from '../plugins/mqtt-websocket'
import webConsole from '../plugins/console'
import type { Aedes } from 'aedes'
import type { Authenticator } from './auth/authenticator'
import type { Readiness } from './observability/readiness'

export interface HttpAppOptions {
  logger: Logger
  authenticator: Authenticator
  broker: Aedes
  bodyLimit: number
  mqttMaxPacketBytes: number
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
  // Typed as the plain HTTP instance also when it serves HTTPS: no plugin touches the raw server.
  const app = (Fastify({
    // Fastify's own request logging: one line when a request comes in, one with status and time when it is answered.
    loggerInstance: options.logger.child({ component: 'http' }),
    https: options.https ?? null,
    bodyLimit: options.bodyLimit,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } }
  }) as unknown as FastifyInstance).withTypeProvider<TypeBoxTypeProvider>()
  await app.register(envelope)
  if (options.corsOrigins.length > 0) await app.register(cors, { origins: options.corsOrigins })
  await app.register(docs, { version: options.version })
  await app.register(auth, { authenticator: options.authenticator })
  await app.register(health, { status: options.health, readiness: options.readiness })
  if (options.metrics !== undefined) await app.register(metrics, options.metrics)
  await app.register(mqttWebSocket, { broker: options.broker, maxPacketBytes: options.mqttMaxPacketBytes, logger: options.logger })
  await app.register(webConsole)
  await app.register(options.routes)
  return app
}

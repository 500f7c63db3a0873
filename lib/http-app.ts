import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Logger } from 'pino'
import envelope from '../plugins/envelope'
import docs from '../plugins/docs'
import auth from '../plugins/auth'
import health from '../plugins/health'
import mqttWebSocket from '../plugins/mqtt-websocket'
import webConsole from '../plugins/console'
import type { Aedes } from 'aedes'
import type { Directory } from './directory/directory'

export interface HttpAppOptions {
  logger: Logger
  directory: Directory
  broker: Aedes
  bodyLimit: number
  mqttMaxPacketBytes: number
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
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  await app.register(envelope)
  await app.register(docs, { version: options.version })
  await app.register(auth, { directory: options.directory })
  await app.register(health, { status: options.health })
  await app.register(mqttWebSocket, { broker: options.broker, maxPacketBytes: options.mqttMaxPacketBytes, logger: options.logger })
  await app.register(webConsole)
  await app.register(options.routes)
  return app
}

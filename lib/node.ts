import { randomBytes } from 'node:crypto'
import type { Server } from 'node:net'
import pino, { type Logger } from 'pino'
import type { Config } from '../config/env'
import { createBroker } from './broker/create-broker'
import { closeServer, listenMqtt, listenMqtts } from './broker/listeners'
import { createPublisher } from './broker/publisher'
import { sendErrorReply } from './broker/error-replies'
import { createRequestRouter } from './broker/requests'
import { loadDirectory } from './directory/load'
import { IntercomError } from './errors'
import { buildHttpApp } from './http-app'

export interface NodeOptions {
  config: Config
  logger?: Logger
}

export interface IntercomNode {
  readonly id: string
  readonly ports: { mqtt: number, http: number, mqtts?: number }
  close (): Promise<void>
}

const VERSION: string = (require('../../package.json') as { version: string }).version

/** Starts one node: broker, listeners and HTTP sidecar, wired to the call logic. */
export async function startNode (options: NodeOptions): Promise<IntercomNode> {
  const { config } = options
  const logger = options.logger ?? pino({ level: config.LOG_LEVEL })
  const id = config.NODE_ID ?? `node-${randomBytes(4).toString('hex')}`
  const directory = loadDirectory(config.INTERCOM_DIRECTORY)

  const broker = await createBroker({
    id,
    directory,
    logger,
    handleRequest: (context, kind, payload) => requests.handle(context, kind, payload),
    notifyRefusal: (context, topic) => {
      sendErrorReply(publisher, context.identity, new IntercomError('forbidden', `${context.identity.name} may not publish on ${topic}`))
        .catch((err: unknown) => logger.warn({ err }, 'could not send a refusal'))
    }
  })
  const publisher = createPublisher(broker.aedes)
  const requests = createRequestRouter({ publisher, logger, maxPayloadBytes: config.MAX_PAYLOAD_BYTES })

  const servers: Server[] = []
  const mqtt = await listenMqtt(broker.aedes, config.MQTT_PORT, config.HOST)
  servers.push(mqtt.server)
  let mqttsPort: number | undefined
  if (config.MQTTS_PORT !== undefined && config.TLS_CERT !== undefined && config.TLS_KEY !== undefined) {
    const mqtts = await listenMqtts(broker.aedes, config.MQTTS_PORT, config.HOST, { cert: config.TLS_CERT, key: config.TLS_KEY })
    servers.push(mqtts.server)
    mqttsPort = mqtts.port
  }

  const http = await buildHttpApp({
    logger,
    directory,
    broker: broker.aedes,
    bodyLimit: config.MAX_PAYLOAD_BYTES,
    version: VERSION,
    health: () => ({ node: id, version: VERSION, clients: broker.aedes.connectedClients }),
    routes: async () => {}
  })
  await http.listen({ port: config.HTTP_PORT, host: config.HOST })
  const httpPort = http.server.address()
  const ports = {
    mqtt: mqtt.port,
    http: typeof httpPort === 'object' && httpPort !== null ? httpPort.port : config.HTTP_PORT,
    ...(mqttsPort === undefined ? {} : { mqtts: mqttsPort })
  }
  logger.info({ node: id, ports }, `intercom-broker listening: mqtt ${ports.mqtt}, http+ws ${ports.http}${mqttsPort === undefined ? '' : `, mqtts ${mqttsPort}`}`)

  let closing: Promise<void> | null = null
  async function close (): Promise<void> {
    for (const server of servers) server.close()
    await new Promise<void>((resolve) => broker.aedes.close(() => resolve()))
    await Promise.all(servers.map(closeServer))
    await http.close()
  }
  return {
    id,
    ports,
    close: () => (closing ??= close())
  }
}

import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { createWebSocketStream } from 'ws'
import type { Aedes } from 'aedes'
import type {} from '@fastify/swagger'
import type { Logger } from 'pino'
import { guardPacketSize } from '../lib/broker/packet-size-guard'

export interface MqttWebSocketOptions {
  broker: Aedes
  /** Largest MQTT packet accepted; also bounds a WebSocket message. */
  maxPacketBytes: number
  logger: Logger
}

/** MQTT over WebSocket on `/mqtt`, handled by the same embedded broker. */
async function mqttWebSocket (app: FastifyInstance, options: MqttWebSocketOptions): Promise<void> {
  // A WebSocket message holds at most a few packets' worth.
  await app.register(websocket, { options: { maxPayload: options.maxPacketBytes + 1024 } })
  app.get('/mqtt', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const stream = createWebSocketStream(socket)
    stream.on('error', () => socket.terminate())
    guardPacketSize(stream, options.maxPacketBytes, (reason) => options.logger.warn({ reason }, 'MQTT over WebSocket closed: packet too large'))
    options.broker.handle(stream, request.raw)
  })
}

export default fp(mqttWebSocket, { name: 'intercom-mqtt-websocket', fastify: '5.x' })

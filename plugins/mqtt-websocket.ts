import fp from 'fastify-plugin'
import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { createWebSocketStream } from 'ws'
import type { Aedes } from 'aedes'
import type {} from '@fastify/swagger'

export interface MqttWebSocketOptions {
  broker: Aedes
  /** Largest WebSocket message accepted, in bytes. */
  maxPayload: number
}

/** MQTT over WebSocket on `/mqtt`, handled by the same embedded broker. */
async function mqttWebSocket (app: FastifyInstance, options: MqttWebSocketOptions): Promise<void> {
  await app.register(websocket, { options: { maxPayload: options.maxPayload } })
  app.get('/mqtt', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const stream = createWebSocketStream(socket)
    stream.on('error', () => socket.terminate())
    options.broker.handle(stream, request.raw)
  })
}

export default fp(mqttWebSocket, { name: 'intercom-mqtt-websocket', fastify: '5.x' })

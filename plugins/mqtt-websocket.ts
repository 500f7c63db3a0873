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
  /** Largest MQTT packet accepted (the largest also bounds a WebSocket message), and the pre-login CONNECT's. */
  packets: { maxPacketBytes: number, maxConnectBytes: number, maxFiltersPerSubscribe: number }
  /** The stream's write buffer: QoS 0 past it is dropped, so the broker never waits on one client's drain. */
  socketBufferBytes: number
  logger: Logger
}

/** MQTT over WebSocket on `/mqtt`, handled by the same embedded broker. */
async function mqttWebSocket (app: FastifyInstance, options: MqttWebSocketOptions): Promise<void> {
  // A WebSocket message holds at most a few packets' worth.
  await app.register(websocket, {
    options: { maxPayload: options.packets.maxPacketBytes + 1024 },
    // A client breaking the WebSocket protocol (an oversized frame...) is worth one line, not a stack trace.
    errorHandler: (error: Error & { code?: string }, socket) => {
      if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) {
        options.logger.warn({ reason: error.message, code: error.code }, 'MQTT over WebSocket closed: WebSocket protocol error')
      } else {
        options.logger.error({ err: error }, 'MQTT over WebSocket failed')
      }
      socket.terminate()
    }
  })
  app.get('/mqtt', { websocket: true, schema: { hide: true } }, (socket, request) => {
    const stream = createWebSocketStream(socket, { writableHighWaterMark: options.socketBufferBytes })
    stream.on('error', () => socket.terminate())
    guardPacketSize(stream, {
      ...options.packets,
      onProblem: (problem) => {
        if (problem.kind === 'protocol_level') options.logger.debug({ reason: problem.reason }, 'MQTT over WebSocket refused: protocol level')
        else options.logger.warn({ reason: problem.reason }, 'MQTT over WebSocket closed: packet too large, malformed or a SUBSCRIBE flood')
      }
    })
    options.broker.handle(stream, request.raw)
  })
}

export default fp(mqttWebSocket, { name: 'intercom-mqtt-websocket', fastify: '5.x' })

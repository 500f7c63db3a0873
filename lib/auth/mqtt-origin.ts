import type { Client } from 'aedes'
import type { Transport } from './authenticator'

/** The door an MQTT client came through (a WebSocket has its upgrade request) and its source address. */
export function mqttOrigin (client: Client): { transport: Transport, address: string } {
  if (client.req !== undefined) return { transport: 'ws', address: client.req.socket.remoteAddress ?? '' }
  return { transport: 'mqtt', address: (client.conn as { remoteAddress?: string }).remoteAddress ?? '' }
}

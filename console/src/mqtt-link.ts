import mqtt, { type MqttClient } from 'mqtt'
import type { Credentials } from './api'

/** What the connection banner shows. */
export type LinkState = 'connecting' | 'online' | 'reconnecting' | 'refused'

export interface LinkOptions {
  credentials: Credentials
  onState: (state: LinkState, detail?: string) => void
}

/** MQTT over WebSocket on the page's own node (`/mqtt` on the HTTP port). */
export function mqttUrl (location: Location): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/mqtt`
}

/**
 * Connects as the signed-in identity. mqtt.js reconnects by itself; a
 * refused CONNACK (bad credentials) stops it, since retrying cannot help.
 */
export function connectLink ({ credentials, onState }: LinkOptions): MqttClient {
  const client = mqtt.connect(mqttUrl(window.location), {
    username: credentials.username,
    password: credentials.password,
    clientId: `console-${crypto.randomUUID().slice(0, 8)}`,
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 2000,
    connectTimeout: 10_000
  })
  onState('connecting')
  client.on('connect', () => onState('online'))
  client.on('reconnect', () => onState('reconnecting'))
  client.on('offline', () => onState('reconnecting'))
  client.on('error', (err: Error & { code?: number }) => {
    if (err.code === 4 || err.code === 5) {
      client.end(true)
      onState('refused', 'The node refused these credentials.')
    }
  })
  return client
}

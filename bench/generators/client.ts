import net from 'node:net'
import { MqttClient } from 'mqtt'
import type { Target } from './protocol'

export interface ClientOptions {
  clientId: string
  localAddress?: string
  keepalive?: number
}

/** An mqtt.js client on a loopback socket with Nagle off (mqtt.js leaves it on). */
export function createClient (target: Target, options: ClientOptions): MqttClient {
  const stream = (): net.Socket => net.connect({ port: target.port, host: '127.0.0.1', localAddress: options.localAddress, noDelay: true })
  return new MqttClient(stream, {
    clientId: options.clientId,
    username: target.username,
    password: target.password,
    protocolVersion: 4,
    clean: true,
    keepalive: options.keepalive ?? 60,
    reconnectPeriod: 0,
    connectTimeout: 30_000
  })
}

/** Resolves at CONNACK; rejects on refusal, error or close before it. */
export function connected (client: MqttClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err?: Error): void => {
      client.off('connect', ok)
      reject(err ?? new Error('connection closed before CONNACK'))
    }
    const ok = (): void => {
      client.off('error', fail)
      client.off('close', fail)
      resolve()
    }
    client.once('connect', ok)
    client.once('error', fail)
    client.once('close', fail)
  })
}

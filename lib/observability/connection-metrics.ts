import type { Aedes, Client } from 'aedes'
import type { ClientContexts } from '../broker/client-context'
import type { NodeMetrics } from './metrics'

/**
 * Keeps `intercom_mqtt_connections` by identity kind: up when the broker has
 * accepted a connection, down when it goes. Each connection is counted once,
 * also when a takeover reports it gone twice.
 */
export function countMqttConnections (broker: Aedes, contexts: ClientContexts, metrics: NodeMetrics): void {
  const counted = new WeakMap<Client, string>()
  broker.on('clientReady', (client) => {
    const context = contexts.get(client)
    if (context === undefined || counted.has(client)) return
    counted.set(client, context.identity.kind)
    metrics.mqttConnections.inc({ kind: context.identity.kind })
  })
  broker.on('clientDisconnect', (client) => {
    const kind = counted.get(client)
    if (kind === undefined) return
    counted.delete(client)
    metrics.mqttConnections.dec({ kind })
  })
}

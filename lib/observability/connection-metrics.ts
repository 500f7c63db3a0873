import type { Aedes, Client } from 'aedes'
import { Counter } from 'prom-client'
import type { ClientContexts } from '../broker/client-context'
import type { SlowClientCounts } from '../broker/slow-clients'
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

/**
 * `intercom_mqtt_slow_client_*`: what the broker's bounds did to clients
 * that read too slowly, from the broker's own counts at each scrape.
 */
export function countSlowClients (counts: SlowClientCounts, metrics: NodeMetrics): void {
  const seen = { droppedQos0: 0, disconnected: 0 }
  const dropped: Counter = new Counter({
    name: 'intercom_mqtt_slow_client_dropped_total',
    help: 'QoS 0 messages not sent to a client whose socket buffer was full',
    registers: [metrics.registry],
    collect: () => {
      dropped.inc(counts.droppedQos0 - seen.droppedQos0)
      seen.droppedQos0 = counts.droppedQos0
    }
  })
  const disconnected: Counter = new Counter({
    name: 'intercom_mqtt_slow_client_disconnects_total',
    help: 'Clients disconnected because their outgoing queue passed its bounds',
    registers: [metrics.registry],
    collect: () => {
      disconnected.inc(counts.disconnected - seen.disconnected)
      seen.disconnected = counts.disconnected
    }
  })
}

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

/** A counter that follows a count kept elsewhere, by the amount it moved since the last scrape. */
function followCount (metrics: NodeMetrics, name: string, help: string, read: () => number): void {
  let seen = 0
  const counter: Counter = new Counter({
    name,
    help,
    registers: [metrics.registry],
    collect: () => {
      const now = read()
      counter.inc(now - seen)
      seen = now
    }
  })
}

/**
 * `intercom_mqtt_slow_client_*`: what the broker's bounds did to clients
 * that read too slowly, from the broker's own counts at each scrape.
 */
export function countSlowClients (counts: SlowClientCounts, metrics: NodeMetrics): void {
  followCount(metrics, 'intercom_mqtt_slow_client_dropped_total', 'QoS 0 messages not sent to a client whose socket buffer was full', () => counts.droppedQos0)
  followCount(metrics, 'intercom_mqtt_slow_client_disconnects_total', 'Clients disconnected because their outgoing queue passed its bounds', () => counts.disconnected)
}

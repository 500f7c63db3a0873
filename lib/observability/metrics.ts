import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { IdentityKind } from '../identity'

export interface MetricsOptions {
  /** Whether Redis answers right now; omitted when the node keeps its state in memory. */
  redisUp?: () => boolean
}

/** The metrics of one node, in a registry of its own: two nodes in one process never mix counts. */
export interface NodeMetrics {
  readonly registry: Registry
  readonly mqttConnections: Gauge<'kind'>
  readonly callsStarted: Counter<'provider' | 'door'>
  readonly callsEnded: Counter<'end_reason'>
  readonly callSetupSeconds: Histogram
  readonly callAnswerSeconds: Histogram
}

const IDENTITY_KINDS: readonly IdentityKind[] = ['device', 'resident', 'service', 'client']

export function createMetrics (options: MetricsOptions = {}): NodeMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const mqttConnections = new Gauge({
    name: 'intercom_mqtt_connections',
    help: 'Open authenticated MQTT connections (TCP, TLS and WebSocket) by identity kind',
    labelNames: ['kind'],
    registers: [registry]
  })
  // Every kind shows from the start, also at zero, so a dashboard never sees a missing series.
  for (const kind of IDENTITY_KINDS) mqttConnections.set({ kind }, 0)
  const callsStarted = new Counter({
    name: 'intercom_calls_started_total',
    help: 'Calls that rang, by media provider and by the door the request came through (http or mqtt)',
    labelNames: ['provider', 'door'],
    registers: [registry]
  })
  const callsEnded = new Counter({
    name: 'intercom_calls_ended_total',
    help: 'Calls that ended, by end_reason',
    labelNames: ['end_reason'],
    registers: [registry]
  })
  const callSetupSeconds = new Histogram({
    name: 'intercom_call_setup_seconds',
    help: 'From a call request reaching this node to its last invite published',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry]
  })
  const callAnswerSeconds = new Histogram({
    name: 'intercom_call_answer_seconds',
    help: 'From the start of a call to its answer',
    buckets: [1, 2, 3, 5, 8, 13, 20, 30, 45, 60],
    registers: [registry]
  })
  const { redisUp } = options
  if (redisUp !== undefined) {
    const gauge: Gauge = new Gauge({
      name: 'intercom_redis_up',
      help: '1 while the connection to Redis for call state is ready, else 0',
      registers: [registry],
      collect: () => gauge.set(redisUp() ? 1 : 0)
    })
  }
  return { registry, mqttConnections, callsStarted, callsEnded, callSetupSeconds, callAnswerSeconds }
}

import type { CallMix } from './call-directory'
import type { Percentiles } from '../report/stats'

/** Where and as whom a generator connects. */
export interface Target {
  port: number
  username: string
  password: string
}

export interface RawSpec extends Target {
  qos: 0 | 1
  subscribers: number
  /** `throughput`: as fast as a window of in-flight messages allows; `rate`: a fixed number per second. */
  mode: 'throughput' | 'rate'
  warmupMs: number
  measureMs: number
  /** Published messages not yet delivered to every subscriber, at most. */
  window: number
  /** Published messages per second in `rate` mode. */
  rate: number
  payloadBytes: number
  topic: string
}

export interface RawResult {
  /** Counted inside the measured window only. */
  published: number
  delivered: number
  seconds: number
  /** Deliveries given up on after a stall (QoS 0 may drop). */
  lost: number
  /** Publish → delivery, every delivery of the window (`rate` mode only). */
  latency: Percentiles | null
}

export interface ConnectSpec extends Target {
  count: number
  /** A loopback source address of its own, so that ephemeral ports do not run short. */
  localAddress: string
  /** Connections being opened at once. */
  concurrency: number
  idPrefix: string
  keepalive: number
  /** Client i signs in as identities[i % length] instead of the target's username and password. */
  identities?: Array<{ username: string, password: string }>
}

export interface ConnectResult {
  connected: number
  failed: number
  firstError: string | null
}

export interface CallsSpec {
  mqttPort: number
  httpPort: number
  /** Indices of the devices this generator drives; their residents come with them. */
  devices: number[]
  /** Residents stay offline (reached by push, if at all): a call is set up at the device's `ringing`. */
  residentsOffline?: boolean
  /** Households of the directory's mix; a sequential one is set up at its first resident's invite. */
  mix?: CallMix
}

/** How a call is started: `POST /api/mqtt/call` or `calls/request/D`. The rest of a call is MQTT either way. */
export type CallTransport = 'http' | 'mqtt'

export interface CallStep {
  transport: CallTransport
  /** `rate`: open loop, calls started per second; `cycles`: closed loop, each device calls again once its call ended. */
  mode: 'rate' | 'cycles'
  /** Calls per second this generator starts (`rate`). */
  rate: number
  /** Devices cycling at once (`cycles`). */
  concurrency: number
  warmupMs: number
  measureMs: number
}

export interface CallsResult {
  seconds: number
  /** Calls started inside the measured window. */
  started: number
  /** Calls (`rate`) or cycles (`cycles`) that ended inside the window. */
  ended: number
  /** `rate`: request → last invite, per call started in the window; `cycles`: request → last end message, per cycle ended in it. In ms. */
  samples: number[]
  /** Refusals and calls that never completed, by error code. */
  failures: Record<string, number>
  /** Devices passed over because their previous call had not ended yet. */
  skippedBusy: number
  /** Messages that matched no call in progress. */
  stray: number
}

export interface StormSpec {
  /** The nodes' MQTT ports; client i starts on ports[i % ports.length]. */
  ports: number[]
  username: string
  password: string
  topicRoot: string
  /** Global index of this process's first client, and how many it holds. */
  firstIndex: number
  count: number
  localAddress: string
  /** Connections being opened at once at the start. */
  concurrency: number
  idPrefix: string
}

export interface StormClientsResult {
  clients: number
  /** Connected when the report was asked for. */
  up: number
  /** Clients that lost their connection after the mark. */
  dropsAfterMark: number
  /** Connection attempts made since the mark. */
  attemptsAfterMark: number
  /** Ms from the mark to each reconnection (CONNACK) of those. */
  backAfterMark: number[]
  /** CONNACKs refusing a connection (busy sign-ins and the like), since the start. */
  refusals: number
  /** Expected sequence numbers a client never received. */
  lost: number
  /** Deliveries of a sequence number a client had already received. */
  duplicates: number
  /** Deliveries of sequence numbers nobody published to that client. */
  unexpected: number
}

export interface FloodSpec extends Target {
  /** QoS of the flood and of the stalled subscriber's subscription. */
  qos: 0 | 1
  /** Whether a subscriber to the flood stops reading; without, the flood has no subscriber. */
  stalled: boolean
  rate: number
  payloadBytes: number
  topic: string
}

/** What generators tell the runner: phase marks (the runner samples the broker then) and results. */
export type GeneratorMessage =
  | { type: 'ready' }
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'raw-result', result: RawResult }
  | { type: 'connected', result: ConnectResult }
  | { type: 'calls-result', result: CallsResult }
  | { type: 'flood-result', published: number }
  | { type: 'routed' }
  | { type: 'published' }
  | { type: 'storm-result', result: StormClientsResult }
  | { type: 'closed' }
  | { type: 'error', message: string }

/** What the runner tells generators. */
export type RunnerMessage =
  | { type: 'raw', spec: RawSpec }
  | { type: 'connect', spec: ConnectSpec }
  | { type: 'calls-connect', spec: CallsSpec }
  | { type: 'calls-step', step: CallStep }
  | { type: 'flood-start', spec: FloodSpec }
  | { type: 'storm-connect', spec: StormSpec }
  /** From now on dropped clients reconnect to `port`; reconnections are timed from `markAt` (Date.now()). */
  | { type: 'storm-route', port: number, markAt: number }
  /** One QoS 1 message with payload `seq` to each listed client's topic, published on `port`. */
  | { type: 'storm-publish', port: number, indices: number[], seq: number }
  | { type: 'storm-report', expectedSeqs: number[] }
  | { type: 'go' }
  | { type: 'close' }

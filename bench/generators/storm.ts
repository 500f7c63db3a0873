import net from 'node:net'
import { MqttClient } from 'mqtt'
import { send, serve } from './child'
import type { StormClientsResult, StormSpec } from './protocol'

/** Firmware-like back-off: "full jitter", a random wait up to base × 2^attempt, capped. */
const BACKOFF = { baseMs: 1000, capMs: 30_000 }
const CONNECT_TIMEOUT_MS = 10_000

interface Client {
  readonly index: number
  readonly mqtt: MqttClient
  /** Consecutive failed attempts since the connection was last up. */
  attempts: number
  /** Date.now() when it last lost its connection; null while up. */
  downAt: number | null
  reconnectPending: boolean
  /** Payload (sequence number) → times received. */
  readonly received: Map<number, number>
}

let spec: StormSpec | null = null
/** Where a dropped client reconnects (its own node until told): the runner moves it like a load balancer taking a node out. */
let route: number | null = null
let closing = false
/** Date.now() of the runner's mark; reconnections are timed from it. */
let markAt = Number.POSITIVE_INFINITY
const clients: Client[] = []
/** Milliseconds from the mark to each CONNACK that followed a drop after the mark. */
let backAfterMark: number[] = []
let dropsAfterMark = 0
let attemptsAfterMark = 0
let refusals = 0

const topicOf = (index: number): string => `${spec?.topicRoot ?? 'bench'}/storm/${index}`

function backoff (attempt: number): number {
  return Math.random() * Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** attempt)
}

function createStormClient (s: StormSpec, index: number, port: number): Client {
  let target = port
  const mqtt = new MqttClient(() => net.connect({ port: target, host: '127.0.0.1', localAddress: s.localAddress, noDelay: true }), {
    clientId: `${s.idPrefix}-${index}`,
    username: s.username,
    password: s.password,
    protocolVersion: 4,
    // A persistent session: its subscription and queued QoS 1 messages wait in Redis while it is away.
    clean: false,
    // A resumed session keeps its subscription; resubscribing would hide a lost one.
    resubscribe: false,
    keepalive: 60,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS
  })
  const client: Client = { index, mqtt, attempts: 0, downAt: null, reconnectPending: false, received: new Map() }
  mqtt.on('message', (_topic, payload) => {
    const seq = Number(payload.toString())
    client.received.set(seq, (client.received.get(seq) ?? 0) + 1)
  })
  mqtt.on('error', (err: Error & { code?: number }) => { if (typeof err.code === 'number') refusals++ })
  mqtt.on('connect', () => {
    client.attempts = 0
    if (client.downAt !== null && client.downAt >= markAt) backAfterMark.push(Date.now() - markAt)
    client.downAt = null
  })
  mqtt.on('close', () => {
    if (closing || client.reconnectPending) return
    if (client.downAt === null) {
      client.downAt = Date.now()
      if (client.downAt >= markAt) dropsAfterMark++
    }
    client.reconnectPending = true
    setTimeout(() => {
      client.reconnectPending = false
      if (closing) return
      target = route ?? port
      client.attempts++
      if (Date.now() >= markAt) attemptsAfterMark++
      mqtt.reconnect()
    }, backoff(client.attempts))
  })
  return client
}

/** Connects this process's share, each to its home node, subscribed at QoS 1 to its own topic. */
async function connectAll (s: StormSpec): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < s.count) {
      const index = s.firstIndex + next++
      const client = createStormClient(s, index, s.ports[index % s.ports.length] as number)
      clients.push(client)
      // A refused sign-in (busy) is retried with back-off like any drop.
      await new Promise<void>((resolve) => client.mqtt.once('connect', () => resolve()))
      const granted = await client.mqtt.subscribeAsync(topicOf(index), { qos: 1 })
      if (granted[0]?.qos !== 1) throw new Error(`storm client ${index}: subscription refused (${JSON.stringify(granted)})`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(s.concurrency, s.count) }, lane))
}

/** One QoS 1 message carrying `seq` to each listed client's topic, through a publisher of its own; resolves when every PUBACK is in. */
async function publishTo (s: StormSpec, port: number, indices: number[], seq: number): Promise<void> {
  const publisher = new MqttClient(() => net.connect({ port, host: '127.0.0.1', localAddress: s.localAddress, noDelay: true }), {
    clientId: `${s.idPrefix}-publisher-${seq}`,
    username: s.username,
    password: s.password,
    protocolVersion: 4,
    clean: true,
    // In the middle of a storm its own sign-in may be refused as busy or time out: it retries like the others.
    reconnectPeriod: 1000,
    connectTimeout: 30_000
  })
  publisher.on('error', () => {})
  await new Promise<void>((resolve) => publisher.once('connect', () => resolve()))
  const window = 500
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < indices.length) await publisher.publishAsync(topicOf(indices[next++] as number), String(seq), { qos: 1 })
  }
  await Promise.all(Array.from({ length: window }, lane))
  await publisher.endAsync()
}

function result (expectedSeqs: number[]): StormClientsResult {
  let lost = 0
  let duplicates = 0
  let unexpected = 0
  for (const c of clients) {
    for (const seq of expectedSeqs) if (!c.received.has(seq)) lost++
    for (const [seq, n] of c.received) {
      if (!expectedSeqs.includes(seq)) unexpected += n
      else duplicates += n - 1
    }
  }
  return {
    clients: clients.length,
    up: clients.filter((c) => c.downAt === null).length,
    dropsAfterMark,
    attemptsAfterMark,
    backAfterMark,
    refusals,
    lost,
    duplicates,
    unexpected
  }
}

serve(async (message) => {
  switch (message.type) {
    case 'storm-connect':
      spec = message.spec
      await connectAll(spec)
      await send({ type: 'ready' })
      return
    case 'storm-route':
      route = message.port
      markAt = message.markAt
      backAfterMark = []
      dropsAfterMark = 0
      attemptsAfterMark = 0
      await send({ type: 'routed' })
      return
    case 'storm-publish':
      if (spec === null) throw new Error('storm generator: "storm-publish" before "storm-connect"')
      await publishTo(spec, message.port, message.indices, message.seq)
      await send({ type: 'published' })
      return
    case 'storm-report':
      await send({ type: 'storm-result', result: result(message.expectedSeqs) })
      return
    case 'close':
      closing = true
      for (const c of clients) c.mqtt.stream.destroy()
      await send({ type: 'closed' })
      process.exit(0)
      break
    default:
      throw new Error(`storm generator: unexpected "${message.type}"`)
  }
})

import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { SECRETS } from './node'

interface Teardown { teardown (fn: () => unknown): void }

export interface Received {
  topic: string
  payload: Buffer
  json: Record<string, unknown>
  retain: boolean
}

/** A connected client plus everything it receives, in order. */
export interface TestClient {
  client: MqttClient
  messages: Received[]
  /** Filters granted so far, in order. */
  filters: string[]
  subscribe (filter: string | string[], qos?: 0 | 1): Promise<number[]>
  publish (topic: string, message: unknown, qos?: 0 | 1): Promise<void>
  /** Resolves with the first received message (past or future) that matches. */
  waitFor (match: (m: Received) => boolean, timeoutMs?: number): Promise<Received>
  /** Messages on one topic, payloads parsed. */
  on (topic: string): Array<Record<string, unknown>>
  end (): Promise<void>
}

/** Longest wait for a SUBACK or PUBACK: a lost acknowledgement fails the test with where it was lost, not a file timeout. */
const ACK_TIMEOUT_MS = 20_000

function withinAck<T> (what: string, acked: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ACK_TIMEOUT_MS} ms`)), ACK_TIMEOUT_MS)
  })
  return Promise.race([acked, late]).finally(() => clearTimeout(timer))
}

function parse (payload: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(payload.toString('utf8')) as Record<string, unknown>
  } catch {
    return {}
  }
}

/** Connects as an identity (demo secret unless given); rejects with the CONNACK error. */
export function connect (t: Teardown, url: string, username: string | null, options: IClientOptions & { secret?: string } = {}): Promise<TestClient> {
  const { secret, ...rest } = options
  const client = mqtt.connect(url, {
    reconnectPeriod: 0,
    connectTimeout: 15_000,
    protocolVersion: 4,
    ...(username === null ? {} : { username, password: secret ?? SECRETS[username] ?? '' }),
    ...rest
  })
  const messages: Received[] = []
  const waiters: Array<{ match: (m: Received) => boolean, resolve: (m: Received) => void }> = []
  client.on('message', (topic, payload, packet) => {
    const received = { topic, payload, json: parse(payload), retain: packet.retain }
    messages.push(received)
    for (const w of [...waiters]) {
      if (w.match(received)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(received)
      }
    }
  })
  const filters: string[] = []
  const wrapper: TestClient = {
    client,
    messages,
    filters,
    // mqtt.js turns a refused filter (0x80) into an error; a test wants the grant.
    subscribe: (filter, qos = 1) => withinAck(`SUBACK for ${String(filter)}`, new Promise((resolve, reject) => {
      // mqtt.js reports a refused filter (0x80) as an error with that code; one filter at a time here.
      client.subscribe(filter, { qos }, (err, grants) => {
        if (err !== null && err !== undefined && /^Subscribe error/.test(err.message)) resolve([0x80])
        else if (err) reject(err)
        else {
          for (const g of grants ?? []) if (g.qos !== 0x80) filters.push(g.topic)
          resolve((grants ?? []).map((g) => g.qos))
        }
      })
    })),
    publish: (topic, message, qos = 1) => withinAck(`PUBACK for ${topic}`, client.publishAsync(topic, typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message), { qos }).then(() => undefined)),
    waitFor: (match, timeoutMs = 5000) => {
      const found = messages.find(match)
      if (found) return Promise.resolve(found)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => [m.topic, m.json]))}`)), timeoutMs)
        waiters.push({ match, resolve: (m) => { clearTimeout(timer); resolve(m) } })
      })
    },
    on: (topic) => messages.filter((m) => m.topic === topic).map((m) => m.json),
    end: () => client.endAsync(true)
  }
  t.teardown(() => client.endAsync(true))
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(wrapper))
    client.once('error', (err) => { client.end(true); reject(err) })
    client.once('close', () => reject(new Error('connection closed before CONNACK')))
  })
}

/**
 * A bounded pause, only for what nothing marks (a timer that must not fire);
 * each use says why. To let messages arrive, use `flush` or `until` (wait.ts).
 */
export function settle (ms = 150): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function lengthPrefixed (value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  const length = Buffer.alloc(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}

/** A CONNECT built byte by byte: the libraries will not write an invalid one. */
function connectPacket (fields: { clientId: string, clean: boolean, username?: string, password?: string }): Buffer {
  const flags = (fields.username === undefined ? 0 : 0x80) | (fields.password === undefined ? 0 : 0x40) | (fields.clean ? 0x02 : 0)
  const body = Buffer.concat([
    lengthPrefixed('MQTT'), Buffer.from([4, flags, 0, 30]),
    lengthPrefixed(fields.clientId),
    ...(fields.username === undefined ? [] : [lengthPrefixed(fields.username)]),
    ...(fields.password === undefined ? [] : [lengthPrefixed(fields.password)])
  ])
  if (body.length > 127) throw new Error('test CONNECT too long for a one-byte length')
  return Buffer.concat([Buffer.from([0x10, body.length]), body])
}

/**
 * Sends one raw CONNECT (for cases mqtt.js refuses to produce) and resolves
 * with the CONNACK return code, or null when the server closed without one.
 */
export async function rawConnect (port: number, fields: { clientId: string, clean: boolean, username?: string, password?: string }): Promise<number | null> {
  const net = await import('node:net')
  const mqttPacket = await import('mqtt-packet')
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const parser = mqttPacket.parser()
    let code: number | null = null
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') code = packet.returnCode ?? null
      socket.end()
    })
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(code))
    socket.write(connectPacket(fields))
  })
}

import net from 'node:net'
import t from 'tap'
import { ConnectionCounts } from '../../lib/limits/connection-gate'
import { connect, settle } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

interface RawSocket { socket: net.Socket, closed: Promise<void>, received: Buffer[] }

/** A raw TCP connection and a promise of its close; it does not wait for the connect. */
function openSocket (t: { teardown (fn: () => unknown): void }, port: number): RawSocket {
  const socket = net.connect(port, '127.0.0.1')
  const received: Buffer[] = []
  socket.on('data', (chunk) => received.push(chunk))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  // The node waits for open connections when it closes.
  t.teardown(() => socket.destroy())
  return { socket, closed, received }
}

/** A raw TCP connection, connected. */
async function rawSocket (t: { teardown (fn: () => unknown): void }, port: number): Promise<RawSocket> {
  const raw = openSocket(t, port)
  await new Promise<void>((resolve, reject) => {
    raw.socket.once('connect', () => resolve())
    raw.socket.once('error', reject)
  })
  return raw
}

/** Resolves with the ms until `closed`, or rejects when it takes longer than `withinMs`. */
async function closesWithin (closed: Promise<void>, withinMs: number): Promise<number> {
  const start = Date.now()
  let timer: NodeJS.Timeout | undefined
  await Promise.race([closed, new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error(`still open after ${withinMs} ms`)), withinMs) })])
  clearTimeout(timer)
  return Date.now() - start
}

t.test('connection counts cap the total and each source address', async (t) => {
  const counts = new ConnectionCounts({ maxTotal: 3, maxPerAddress: 2 })
  t.equal(counts.open('a'), null)
  t.equal(counts.open('a'), null)
  t.equal(counts.open('a'), 'address_full', 'the third from one address')
  t.equal(counts.open('b'), null)
  t.equal(counts.open('c'), 'node_full', 'the fourth in all')
  counts.close('a')
  t.equal(counts.open('c'), null, 'a closed connection frees its place')
  counts.close('unknown')
  t.equal(counts.total, 3)
})

t.test('an HTTP body shorter than its Content-Length does not hold the socket', async (t) => {
  for (const [variable, env] of [
    ['HTTP_REQUEST_TIMEOUT_MS', { HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_IDLE_TIMEOUT_MS: '600000' }],
    ['HTTP_IDLE_TIMEOUT_MS', { HTTP_REQUEST_TIMEOUT_MS: '600000', HTTP_IDLE_TIMEOUT_MS: '1000' }]
  ] as const) {
    const { node } = await startTestNode(t, env)
    const { socket, closed } = await rawSocket(t, node.ports.http)
    socket.write('POST /api/mqtt/call HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"device')
    // Generous for a loaded machine; without the timeout the socket stays open for good.
    await closesWithin(closed, 20_000)
    t.pass(`closed by ${variable}`)
  }
})

t.test('connections past the per-address cap are closed at accept, on MQTT and HTTP alike', async (t) => {
  const { node, mqttUrl, httpUrl } = await startTestNode(t, { MAX_CONNECTIONS_PER_ADDRESS: '3', MQTT_CONNECT_TIMEOUT_MS: '600000' })
  const held = [await rawSocket(t, node.ports.mqtt), await rawSocket(t, node.ports.mqtt), await rawSocket(t, node.ports.http)]
  const extra = openSocket(t, node.ports.mqtt)
  await closesWithin(extra.closed, 10_000)
  t.same(extra.received, [], 'the fourth MQTT connection is closed without a byte')
  await t.rejects(fetch(`${httpUrl}/health`), 'and so is a fourth connection over HTTP')
  t.notOk(held.some((h) => h.socket.destroyed), 'the first three stay open')

  for (const h of held) h.socket.destroy()
  await Promise.all(held.map((h) => h.closed))
  // The node notices the closes on its side a moment later.
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await connect(t, mqttUrl, 'device/1')
      t.ok(client.client.connected, 'closed connections free their places')
      break
    } catch (err) {
      if (attempt >= 50) throw err
    }
  }
})

t.test('a CONNECT over MQTT_MAX_CONNECT_BYTES closes the connection; later packets may be larger', async (t) => {
  const { mqttUrl } = await startTestNode(t, { MQTT_MAX_CONNECT_BYTES: '1024' })
  await t.rejects(connect(t, mqttUrl, 'device/1', { secret: 'x'.repeat(2000) }), /closed before CONNACK/)
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.publish('system/big', { text: 'y'.repeat(2000) })
  t.pass('a 2 kB publish after login is fine')
})

t.test('a connection that sends no CONNECT is closed after MQTT_CONNECT_TIMEOUT_MS', async (t) => {
  const { node } = await startTestNode(t, { MQTT_CONNECT_TIMEOUT_MS: '500' })
  const { closed } = await rawSocket(t, node.ports.mqtt)
  await closesWithin(closed, 20_000)
  t.pass('closed')
})

t.test('a silent client with keep-alive 0 goes after 1.5 times MQTT_MAX_KEEPALIVE_S', async (t) => {
  const { mqttUrl } = await startTestNode(t, { MQTT_MAX_KEEPALIVE_S: '1' })
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.subscribe('devices/1/status')
  const door = await connect(t, mqttUrl, 'device/1', { keepalive: 0 })
  await ops.waitFor((m) => m.topic === 'devices/1/status' && m.json.online === true)
  const closed = new Promise<void>((resolve) => door.client.once('close', () => resolve()))
  await closesWithin(closed, 20_000)
  await ops.waitFor((m) => m.topic === 'devices/1/status' && m.json.online === false, 10_000)
  t.pass('the node dropped it and the device is offline')
})

t.test('protocol level 99 gets CONNACK 0x01, then the connection closes', async (t) => {
  const { node } = await startTestNode(t)
  const { socket, closed, received } = await rawSocket(t, node.ports.mqtt)
  // CONNECT, protocol name "MQTT", level 99, clean session, keep-alive 30, client id "x".
  socket.write(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 99, 0x02, 0, 30, 0, 1, 0x78]))
  await closesWithin(closed, 10_000)
  t.same(Buffer.concat(received), Buffer.from([0x20, 0x02, 0x00, 0x01]))
})

t.test('MQTT over WebSocket is not cut by the HTTP idle timeout', async (t) => {
  const { wsUrl } = await startTestNode(t, { HTTP_IDLE_TIMEOUT_MS: '300' })
  const door = await connect(t, wsUrl, 'device/1', { keepalive: 60 })
  let closed = false
  door.client.once('close', () => { closed = true })
  // Nothing marks a timeout that did not fire: outlast it five times over.
  await settle(1500)
  t.notOk(closed, 'a quiet WebSocket connection outlives the HTTP idle timeout')
})

import net from 'node:net'
import { Writable } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import pino from 'pino'
import t from 'tap'
import WebSocket from 'ws'
import { loadConfig } from '../../config/env'
import { PacketSizeTracker } from '../../lib/broker/packet-size-guard'
import { startNode } from '../../lib/node'
import { openConnections, request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { DEMO_DIRECTORY, startTestNode } from '../helpers/node'
import { until } from '../helpers/wait'

/** A PUBLISH packet with a body of `size` bytes (header bytes only matter to the tracker). */
function packet (size: number): Buffer {
  const length: number[] = []
  let rest = size
  do {
    let byte = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) byte |= 0x80
    length.push(byte)
  } while (rest > 0)
  return Buffer.concat([Buffer.from([0x30, ...length]), Buffer.alloc(size, 1)])
}

t.test('the packet size tracker follows packets across chunk boundaries', async (t) => {
  const tracker = new PacketSizeTracker(1000)
  const stream = Buffer.concat([packet(0), packet(10), packet(300), packet(1000), packet(127), packet(128)])
  for (let i = 0; i < stream.length; i += 7) t.equal(tracker.inspect(stream.subarray(i, i + 7)), null)
  t.match(tracker.inspect(packet(1001)), { kind: 'too_large', reason: /1001 bytes is over the 1000-byte limit/ })
  const split = new PacketSizeTracker(1000)
  const big = packet(20000)
  t.equal(split.inspect(big.subarray(0, 2)), null, 'the length is not known yet')
  t.match(split.inspect(big.subarray(2, 4)), { reason: /20000 bytes/ })
  t.match(new PacketSizeTracker(1000).inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), { kind: 'malformed' })
})

t.test('an oversized MQTT packet closes only that connection, over TCP and WebSocket', async (t) => {
  const { mqttUrl, wsUrl, httpUrl } = await startTestNode(t, { MQTT_MAX_PACKET_BYTES: '4096' })
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.subscribe('#')
  for (const url of [mqttUrl, wsUrl]) {
    const gw = await connect(t, url, 'client/meter-gw')
    const closed = new Promise<void>((resolve) => gw.client.once('close', () => resolve()))
    gw.client.publish('meters/big', Buffer.alloc(10_000, 'x'), { qos: 0 })
    await closed
    t.pass(`${url.split(':')[0]}: the sender was disconnected`)
  }
  const small = await connect(t, mqttUrl, 'client/meter-gw')
  await small.publish('meters/small', { ok: true })
  await ops.waitFor((m) => m.topic === 'meters/small')
  t.notOk(ops.messages.some((m) => m.topic === 'meters/big'), 'the oversized message reached nobody')
  t.equal((await request(httpUrl, 'GET', '/health')).status, 200, 'the node is fine')
})

t.test('a QoS 0 flood to a subscriber that then disconnects does not hurt the node', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t)
  const sink = await connect(t, mqttUrl, 'client/meter-gw')
  await sink.subscribe('meters/#', 0)
  const source = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'flood-source' })
  const payload = Buffer.alloc(512, 'f')
  for (let i = 0; i < 20_000; i++) source.client.publish('meters/flood', payload, { qos: 0 })
  sink.client.stream.destroy()
  await until(async () => await openConnections(httpUrl, 'client') === 1, { what: 'the node to drop the flooded subscriber', timeoutMs: 30_000 })
  t.equal((await request(httpUrl, 'GET', '/health')).status, 200, 'the node still answers')
  const after = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'after-flood' })
  t.same(await after.subscribe('meters/after', 1), [1], 'and still accepts and serves connections')
})

t.test('a topic that is not valid UTF-8 is refused, not forwarded altered (MQTT-1.5.3-1)', async (t) => {
  const { node, mqttUrl } = await startTestNode(t)
  const ops = await connect(t, mqttUrl, 'service/ops')
  await ops.subscribe('#')
  const socket = net.connect(node.ports.mqtt, '127.0.0.1')
  t.teardown(() => socket.destroy())
  const parser = mqttPacket.parser()
  const connected = new Promise<void>((resolve) => parser.on('packet', (p) => { if (p.cmd === 'connack') resolve() }))
  socket.on('data', (chunk) => { parser.parse(chunk) })
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'utf8', keepalive: 30, username: 'client/meter-gw', password: Buffer.from('gw-secret') }))
  await connected
  // PUBLISH QoS 0, topic "meters/" followed by 0xff (never valid in UTF-8), payload "x".
  const topic = Buffer.concat([Buffer.from('meters/'), Buffer.from([0xff])])
  socket.write(Buffer.concat([Buffer.from([0x30, 2 + topic.length + 1, 0, topic.length]), topic, Buffer.from('x')]))
  socket.write(mqttPacket.generate({ cmd: 'publish', topic: 'meters/after', payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }))
  await ops.waitFor((m) => m.topic === 'meters/after')
  t.notOk(ops.messages.some((m) => m.topic.startsWith('meters/') && m.topic !== 'meters/after'), 'the altered topic reached nobody')
  const gw = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'utf8-sub' })
  t.same(await gw.subscribe('meters/\uFFFD'), [128], 'a filter with a replaced byte is refused')
})

t.test('an oversized WebSocket frame is logged at warn, in one line without a stack', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const destination = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done() } })
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', INTERCOM_DIRECTORY: DEMO_DIRECTORY, MQTT_MAX_PACKET_BYTES: '4096' })
  const node = await startNode({ config, logger: pino({ level: 'warn' }, destination) })
  t.teardown(() => node.close())
  const ws = new WebSocket(`ws://127.0.0.1:${node.ports.http}/mqtt`, 'mqtt')
  ws.on('error', () => {})
  await new Promise<void>((resolve) => ws.once('open', () => resolve()))
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
  ws.send(Buffer.alloc(20_000))
  await closed
  const about = lines.filter((l) => JSON.stringify(l).includes('Max payload'))
  t.equal(about.length, 1, 'one line')
  t.match(about[0], { level: 40, msg: /WebSocket protocol error/ })
  t.notOk(JSON.stringify(about[0]).includes('"stack"'), 'without a stack trace')
})

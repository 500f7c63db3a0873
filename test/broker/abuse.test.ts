import t from 'tap'
import { PacketSizeTracker } from '../../lib/broker/packet-size-guard'
import { request } from '../helpers/http'
import { connect, settle } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

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
  await settle(500)
  t.equal((await request(httpUrl, 'GET', '/health')).status, 200, 'the node still answers')
  const after = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'after-flood' })
  t.ok(after.client.connected, 'and still accepts connections')
})

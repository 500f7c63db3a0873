import t from 'tap'
import { PacketSizeTracker } from '../../lib/broker/packet-size-guard'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

/** A SUBSCRIBE packet (one-byte remaining length) with `count` filters `f/<n>`. */
function subscribePacket (count: number): Buffer {
  const filters = Array.from({ length: count }, (_, n) => {
    const name = Buffer.from(`f/${n}`)
    return Buffer.concat([Buffer.from([0, name.length]), name, Buffer.from([1])])
  })
  const body = Buffer.concat([Buffer.from([0, 7]), ...filters])
  if (body.length > 127) throw new Error('test SUBSCRIBE too long for a one-byte length')
  return Buffer.concat([Buffer.from([0x82, body.length]), body])
}

t.test('the tracker counts the filters of each SUBSCRIBE across chunk boundaries', async (t) => {
  const tracker = new PacketSizeTracker(10_000, 10_000, 3)
  const fine = Buffer.concat([subscribePacket(3), subscribePacket(1), subscribePacket(3)])
  for (let i = 0; i < fine.length; i += 5) t.equal(tracker.inspect(fine.subarray(i, i + 5)), null)
  const flood = subscribePacket(4)
  let problem = null
  for (let i = 0; i < flood.length && problem === null; i += 3) problem = tracker.inspect(flood.subarray(i, i + 3))
  t.match(problem, { kind: 'too_many_filters', reason: /more than 3 filters/ })
})

t.test('a SUBSCRIBE with more than MQTT_MAX_FILTERS_PER_SUBSCRIBE filters closes that connection', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t, { MQTT_MAX_FILTERS_PER_SUBSCRIBE: '32' })
  const ops = await connect(t, mqttUrl, 'service/ops')
  t.same(await ops.subscribe(Array.from({ length: 32 }, (_, n) => `a/${n}`)), Array(32).fill(1), '32 filters are fine')
  const closed = new Promise<void>((resolve) => ops.client.once('close', () => resolve()))
  ops.client.subscribe(Array.from({ length: 33 }, (_, n) => `b/${n}`))
  await closed
  t.pass('33 close the connection')
  t.equal((await request(httpUrl, 'GET', '/health')).status, 200, 'the node is fine')
})

t.test('subscriptions past MQTT_MAX_SUBSCRIPTIONS are refused with 0x80 and the connection kept', async (t) => {
  const { mqttUrl } = await startTestNode(t, { MQTT_MAX_SUBSCRIPTIONS: '3' })
  const ops = await connect(t, mqttUrl, 'service/ops')
  t.same(await ops.subscribe(['a/1', 'a/2']), [1, 1])
  t.same(await ops.subscribe('a/3'), [1])
  t.same(await ops.subscribe('a/4'), [0x80], 'the fourth filter is refused')
  t.same(await ops.subscribe('a/1', 0), [0], 'a held filter may be subscribed again')
  await ops.client.unsubscribeAsync('a/2')
  t.same(await ops.subscribe('a/4'), [1], 'an unsubscribe frees a place')
  t.ok(ops.client.connected, 'the connection stayed open')
  const other = await connect(t, mqttUrl, 'service/ops', { clientId: 'other' })
  t.same(await other.subscribe(['a/1', 'a/2', 'a/3']), [1, 1, 1], 'the cap is per connection')
})

t.test('the cap holds across a restored persistent session', async (t) => {
  const { mqttUrl } = await startTestNode(t, { MQTT_MAX_SUBSCRIPTIONS: '2' })
  const ops = await connect(t, mqttUrl, 'service/ops', { clientId: 'keep', clean: false })
  t.same(await ops.subscribe(['a/1', 'a/2']), [1, 1])
  await ops.end()
  const back = await connect(t, mqttUrl, 'service/ops', { clientId: 'keep', clean: false })
  t.same(await back.subscribe('a/3'), [0x80], 'restored subscriptions count')
})

import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { forwardDecision } from '../../lib/broker/slow-clients'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

/**
 * An integration client that subscribes to `meters/#` and then stops reading:
 * a raw socket, so nothing in a client library reads on its behalf.
 */
async function stalledSubscriber (port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const parser = mqttPacket.parser()
  const subscribed = new Promise<void>((resolve, reject) => {
    parser.on('packet', (packet) => {
      if (packet.cmd === 'suback') resolve()
      if (packet.cmd === 'connack' && packet.returnCode !== 0) reject(new Error(`CONNACK ${String(packet.returnCode)}`))
    })
    socket.once('close', () => reject(new Error('closed before SUBACK')))
  })
  const onData = (chunk: Buffer): void => { parser.parse(chunk) }
  socket.on('data', onData)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'stalled', keepalive: 300, username: 'client/meter-gw', password: Buffer.from('gw-secret') }))
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'meters/#', qos: 0 }] }))
  await subscribed
  socket.off('data', onData)
  socket.pause()
  return socket
}

t.test('a delivery: within the socket buffer it goes; past it QoS 0 is dropped, QoS 1 queued, then disconnect', async (t) => {
  const limits = { maxBytes: 1000, maxMessages: 3 }
  const d = { qos: 0, size: 100, queuedBytes: 0, bufferBytes: 500, turnMessages: 0, backlog: 0 }
  t.equal(forwardDecision(d, limits), 'forward')
  t.equal(forwardDecision({ ...d, turnMessages: 3 }, limits), 'drop', 'this turn\'s share is used up')
  t.equal(forwardDecision({ ...d, queuedBytes: 401 }, limits), 'drop', 'past the socket buffer')
  t.equal(forwardDecision({ ...d, qos: 1, queuedBytes: 401 }, limits), 'queue')
  t.equal(forwardDecision({ ...d, qos: 1, queuedBytes: 401, backlog: 3 }, limits), 'disconnect', 'past the message bound')
  t.equal(forwardDecision({ ...d, qos: 1, queuedBytes: 901 }, limits), 'disconnect', 'past the byte bound')
})

t.test('one stalled subscriber does not hold up another resident\'s invite', async (t) => {
  const { node, mqttUrl } = await startTestNode(t)
  const stalled = await stalledSubscriber(node.ports.mqtt)
  t.teardown(() => stalled.destroy())
  const watcher = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'watcher' })
  await watcher.subscribe('meters/last', 0)
  const resident = await connect(t, mqttUrl, 'resident/2')
  await resident.subscribe('users/2/#')
  const door = await connect(t, mqttUrl, 'device/1')
  await door.subscribe('devices/1/#')

  const source = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'source' })
  const payload = Buffer.alloc(1024, 'm')
  for (let i = 0; i < 30_000; i++) source.client.publish('meters/burst', payload, { qos: 0 })
  source.client.publish('meters/last', JSON.stringify({ done: true }), { qos: 0 })
  // The whole burst went through the broker (the watcher reads along); the stalled socket is full by now.
  // Generous for a loaded machine, yet well below the minute a stalled client used to freeze deliveries for.
  await watcher.waitFor((m) => m.topic === 'meters/last', 30_000)

  const started = Date.now()
  await door.publish('calls/request/1', { request_id: 'r1', target_resident_id: '2' })
  await resident.waitFor((m) => m.topic === 'users/2/calls/incoming', 10_000)
  t.pass(`the invite arrived in ${Date.now() - started} ms`)
  t.notOk(stalled.destroyed, 'a QoS 0 subscriber that stops reading loses messages, not its connection')
})

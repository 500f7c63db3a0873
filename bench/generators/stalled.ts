import net from 'node:net'
import { performance } from 'node:perf_hooks'
import mqttPacket from 'mqtt-packet'
import type { MqttClient } from 'mqtt'
import { send, serve } from './child'
import { connected, createClient } from './client'
import type { FloodSpec } from './protocol'

let publisher: MqttClient | null = null
let stalled: net.Socket | null = null
let pacer: NodeJS.Timeout | undefined
let published = 0

/**
 * A subscriber that signs in, subscribes, and then never reads again: its
 * socket is paused, so the kernel buffers fill and the broker's writes to it
 * stop draining, as with a hung integration or a phone behind a dead link.
 */
function stallingSubscriber (spec: FloodSpec): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port: spec.port, host: '127.0.0.1', noDelay: true })
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) reject(new Error(`stalled subscriber: CONNACK ${packet.returnCode}`))
        else socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: spec.topic, qos: spec.qos }] }))
      } else if (packet.cmd === 'suback') {
        if (packet.granted[0] !== spec.qos) reject(new Error(`stalled subscriber: SUBACK ${JSON.stringify(packet.granted)}`))
        socket.removeAllListeners('data')
        socket.pause()
        resolve(socket)
      }
    })
    socket.on('data', (chunk) => parser.parse(chunk))
    socket.once('error', reject)
    socket.on('connect', () => {
      socket.write(mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        clientId: `bench-stalled-${process.pid}`,
        username: spec.username,
        password: Buffer.from(spec.password)
      }))
    })
  })
}

/** Publishes spec.rate messages per second (1 ms pacer with catch-up) until stopped. */
function flood (client: MqttClient, spec: FloodSpec): void {
  const payload = Buffer.alloc(spec.payloadBytes, 'x')
  const start = performance.now()
  pacer = setInterval(() => {
    const due = Math.floor((performance.now() - start) * spec.rate / 1000)
    for (; published < due; published++) client.publish(spec.topic, payload, { qos: spec.qos })
  }, 1)
}

serve(async (message) => {
  switch (message.type) {
    case 'flood-start': {
      const spec = message.spec
      if (spec.stalled) stalled = await stallingSubscriber(spec)
      publisher = createClient(spec, { clientId: `bench-flood-${process.pid}` })
      await connected(publisher)
      flood(publisher, spec)
      await send({ type: 'ready' })
      return
    }
    case 'close':
      clearInterval(pacer)
      publisher?.stream.destroy()
      stalled?.destroy()
      await send({ type: 'flood-result', published })
      await send({ type: 'closed' })
      process.exit(0)
      break
    default:
      throw new Error(`stalled generator: unexpected "${message.type}"`)
  }
})

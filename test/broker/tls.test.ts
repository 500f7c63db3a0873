import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import mqttPacket from 'mqtt-packet'
import t from 'tap'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

/** A throw-away self-signed certificate for 127.0.0.1. */
function selfSigned (): { cert: string, key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

t.test('MQTT over TLS authenticates and applies the same rights', async (t) => {
  const files = selfSigned()
  const { node } = await startTestNode(t, { MQTTS_PORT: '0', TLS_CERT: files.cert, TLS_KEY: files.key })
  t.type(node.ports.mqtts, 'number', 'the TLS port is reported')
  const url = `mqtts://127.0.0.1:${node.ports.mqtts}`
  const ca = readFileSync(files.cert)
  const device = await connect(t, url, 'device/1', { ca })
  t.same(await device.subscribe('devices/1/#'), [1])
  t.same(await device.subscribe('users/2/#'), [128])
  await t.rejects(connect(t, url, 'device/1', { ca, secret: 'wrong' }), /Bad username or password/)
})

t.test('unreadable TLS files stop start-up with a clear message', async (t) => {
  await t.rejects(startTestNode(t, { MQTTS_PORT: '0', TLS_CERT: '/nonexistent/cert.pem', TLS_KEY: '/nonexistent/key.pem' }),
    /cannot read TLS_CERT\/TLS_KEY/)
})

t.test('a TLS subscriber may fall behind as far as a TCP one before its QoS 0 messages are dropped', async (t) => {
  const files = selfSigned()
  // A QoS 0 drop point (half the queue bound) far above what the loopback buffers take.
  const { node, mqttUrl } = await startTestNode(t, { MQTTS_PORT: '0', TLS_CERT: files.cert, TLS_KEY: files.key, MQTT_CLIENT_QUEUE_BYTES: String(64 * 1024 * 1024) })
  const socket = tls.connect({ port: node.ports.mqtts as number, host: '127.0.0.1', ca: readFileSync(files.cert) })
  t.teardown(() => socket.destroy())
  socket.on('error', () => {})
  const parser = mqttPacket.parser()
  const subscribed = new Promise<void>((resolve) => parser.on('packet', (packet) => { if (packet.cmd === 'suback') resolve() }))
  const onData = (chunk: Buffer): void => { parser.parse(chunk) }
  socket.on('data', onData)
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'stalled-tls', keepalive: 300, username: 'client/meter-gw', password: Buffer.from('gw-secret') }))
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'meters/#', qos: 0 }] }))
  await subscribed
  socket.off('data', onData)
  socket.pause()

  const source = await connect(t, mqttUrl, 'client/meter-gw', { clientId: 'source' })
  const payload = Buffer.alloc(16_384, 'm')
  // 24 MB: past the loopback buffers, well within the 32 MiB drop point.
  for (let i = 0; i < 1500; i++) await source.client.publishAsync('meters/burst', payload, { qos: 1 })
  const text = await (await fetch(`http://127.0.0.1:${node.ports.http}/metrics`)).text()
  t.match(text, /^intercom_mqtt_slow_client_dropped_total 0$/m, 'nothing was dropped for the TLS subscriber')
})

import net from 'node:net'
import pino from 'pino'
import t from 'tap'
import { createAuthenticator } from '../../lib/auth/authenticator'
import { createMemorySignInThrottle } from '../../lib/auth/sign-in-throttle'
import { createBroker } from '../../lib/broker/create-broker'
import { createPublisher } from '../../lib/broker/publisher'
import { loadDirectory } from '../../lib/directory/load'
import { createMemoryRetainedQuota } from '../../lib/limits/retained-quota'
import { startPresence } from '../../lib/presence/presence'
import { createStatusFeed } from '../../lib/presence/status-feed'
import { createMemoryStatusStore } from '../../lib/stores/memory-status-store'
import { request } from '../helpers/http'
import { openConnections } from '../helpers/http'
import { connect, type TestClient } from '../helpers/mqtt'
import { flush, until } from '../helpers/wait'
import { DEMO_DIRECTORY, startTestNode } from '../helpers/node'
import { silentConnection } from './helpers'

interface Teardown { teardown (fn: () => unknown): void }

/** The first status of device 1, received or to come, with this `online`. */
function statusOf (watcher: TestClient, online: boolean) {
  return watcher.waitFor((m) => m.topic === 'devices/1/status' && m.json.online === online)
}

async function watch (t: Teardown, mqttUrl: string): Promise<TestClient> {
  const watcher = await connect(t, mqttUrl, 'service/ops')
  await watcher.subscribe('devices/+/status')
  return watcher
}

t.test('a device goes online at CONNECT and offline at DISCONNECT', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const watcher = await watch(t, mqttUrl)
  const device = await connect(t, mqttUrl, 'device/1')
  t.match((await statusOf(watcher, true)).json, { device_id: '1', online: true })
  await device.client.endAsync()
  const offline = await statusOf(watcher, false)
  t.equal(offline.json.online, false)
  t.type(offline.json.last_seen, 'number')
})

t.test('a socket destroyed without DISCONNECT makes the device offline, retained', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const watcher = await watch(t, mqttUrl)
  const device = await connect(t, mqttUrl, 'device/1')
  await statusOf(watcher, true)
  device.client.stream.destroy()
  await statusOf(watcher, false)
  const late = await watch(t, mqttUrl)
  const retained = await late.waitFor((m) => m.topic === 'devices/1/status')
  t.equal(retained.retain, true)
  t.equal(retained.json.online, false, 'a late subscriber learns the device is offline')
})

t.test('presence works the same over MQTT over WebSocket', async (t) => {
  const { mqttUrl, wsUrl } = await startTestNode(t)
  const watcher = await watch(t, mqttUrl)
  const device = await connect(t, wsUrl, 'device/1')
  await statusOf(watcher, true)
  device.client.stream.destroy()
  await statusOf(watcher, false)
  t.pass('offline once the WebSocket dropped')
})

t.test('a device that stops sending PINGREQ goes offline after the keep-alive lapse', async (t) => {
  const { node, mqttUrl } = await startTestNode(t)
  const watcher = await watch(t, mqttUrl)
  const socket: net.Socket = await silentConnection(node.ports.mqtt, 'device/1', 'door-1-silent', 1)
  t.teardown(() => socket.destroy())
  await statusOf(watcher, true)
  await statusOf(watcher, false)
  t.pass('offline once the broker gave up on the silent connection')
})

t.test('a quick reconnect with the same client id (takeover) leaves the device online throughout', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  const watcher = await watch(t, mqttUrl)
  const first = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1' })
  await statusOf(watcher, true)
  const firstClosed = new Promise<void>((resolve) => first.client.once('close', () => resolve()))
  const second = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1' })
  await firstClosed
  const late = await watch(t, mqttUrl)
  t.equal((await late.waitFor((m) => m.topic === 'devices/1/status')).json.online, true, 'the retained status says online')

  await second.client.endAsync()
  await statusOf(watcher, false)
  // Statuses arrive in order: an offline from the takeover would come before the last one.
  const statuses = watcher.on('devices/1/status').map((s) => s.online)
  t.same(statuses.slice(0, -1), statuses.slice(0, -1).map(() => true), 'no offline status during the takeover')
  t.equal(statuses.at(-1), false, 'offline once the remaining connection goes')
})

t.test('two connections of one device: offline only when both are gone', async (t) => {
  const node = await startTestNode(t)
  const { mqttUrl } = node
  const watcher = await watch(t, mqttUrl)
  const a = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1-a' })
  const b = await connect(t, mqttUrl, 'device/1', { clientId: 'door-1-b' })
  await statusOf(watcher, true)
  const { httpUrl } = node
  a.client.stream.destroy()
  await until(async () => await openConnections(httpUrl, 'device') === 1, { what: 'the node to close the first connection' })
  await flush(watcher, watcher)
  t.notOk(watcher.on('devices/1/status').some((s) => s.online === false), 'still online with one connection left')
  await b.client.endAsync()
  await statusOf(watcher, false)
})

t.test('presence callbacks fire once per transition, and not at a takeover', async (t) => {
  const logger = pino({ level: 'silent' })
  const directory = loadDirectory(DEMO_DIRECTORY)
  const authenticator = createAuthenticator({
    directory,
    logger,
    throttle: createMemorySignInThrottle({ windowMs: 60_000, maxKeys: 100 }),
    limits: { failuresPerIdentity: 10, failuresPerAddress: 50, concurrentChecks: 2, maxWaitingChecks: 16, maxWaitingChecksPerAddress: 8 }
  })
  const broker = await createBroker({
    id: 'presence-test', directory, authenticator, logger, connectTimeoutMs: 10_000, maxKeepaliveSeconds: 300, maxSubscriptions: 64, outgoingLimits: { maxBytes: 1_048_576, maxMessages: 1000 }, handleRequest: async () => {}, notifyRefusal: () => {}, retainedQuota: createMemoryRetainedQuota({ maxBytes: 16_384, maxPerIdentity: 100, maxTotal: 10_000 })
  })
  const publisher = createPublisher(broker.aedes)
  const events: string[] = []
  const presence = startPresence({
    broker: broker.aedes,
    contexts: broker.contexts,
    feed: createStatusFeed({ store: createMemoryStatusStore(), publisher }),
    logger,
    onDeviceOnline: (id) => events.push(`online ${id}`),
    onDeviceOffline: (id) => events.push(`offline ${id}`)
  })
  const server = net.createServer((socket) => broker.aedes.handle(socket))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    const closed = new Promise((resolve) => server.close(resolve))
    await presence.close()
    await new Promise<void>((resolve) => broker.aedes.close(() => resolve()))
    await closed
  })
  const url = `mqtt://127.0.0.1:${(server.address() as net.AddressInfo).port}`

  const first = await connect(t, url, 'device/1', { clientId: 'door-1' })
  await connect(t, url, 'resident/2')
  const firstClosed = new Promise<void>((resolve) => first.client.once('close', () => resolve()))
  const second = await connect(t, url, 'device/1', { clientId: 'door-1' })
  await firstClosed
  second.client.stream.destroy()
  await until(() => events.includes('offline 1'), { what: 'device 1 to go offline' })
  // Events are recorded in order: any from the takeover would sit before this offline.
  t.same(events, ['online 1', 'offline 1'], 'the takeover neither went offline nor came online again')
})

t.test('a device that drops while its call rings ends the call with device_offline', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t)
  const resident = await connect(t, mqttUrl, 'resident/2')
  await resident.subscribe('users/2/#')
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/#')
  await device.publish('calls/request/1', { target_resident_id: '2' })
  const invite = await resident.waitFor((m) => m.topic === 'users/2/calls/incoming')
  device.client.stream.destroy()
  await resident.waitFor((m) => m.topic === 'users/2/calls/control' && m.json.status === 'ended')
  const session = await request(httpUrl, 'GET', `/api/mqtt/session?call_id=${String(invite.json.call_id)}`, { as: 'service/ops' })
  t.match(session.body.data, { status: 'ended', end_reason: 'device_offline' })
})

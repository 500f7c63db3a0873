import net from 'node:net'
import mqttPacket from 'mqtt-packet'
import pino from 'pino'
import t from 'tap'
import { createAuthenticator, type Authenticator, type CredentialChecker } from '../../lib/auth/authenticator'
import { createMemorySignInThrottle } from '../../lib/auth/sign-in-throttle'
import { createBroker } from '../../lib/broker/create-broker'
import { loadDirectory } from '../../lib/directory/load'
import { createMemoryRetainedQuota } from '../../lib/limits/retained-quota'
import { connect, settle } from '../helpers/mqtt'
import { DEMO_DIRECTORY, SECRETS } from '../helpers/node'

/** Resolves once `condition` holds, checked at every turn of the event loop. */
async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise(setImmediate)
}

t.test('a sign-in waiting for its check is dropped unrun once its connection closes', async (t) => {
  const logger = pino({ level: 'silent' })
  const directory = loadDirectory(DEMO_DIRECTORY)
  // One check at a time; the door's check holds the place until released.
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  const checked: string[] = []
  const checker: CredentialChecker = {
    has: (name) => directory.has(name),
    authenticate: async (name, secret) => {
      checked.push(name)
      if (name === 'device/1') await held
      return await directory.authenticate(name, secret)
    },
    authenticateToken: (token) => directory.authenticateToken(token)
  }
  const real = createAuthenticator({
    directory: checker,
    logger,
    throttle: createMemorySignInThrottle({ windowMs: 60_000, maxKeys: 100 }),
    limits: { failuresPerIdentity: 10, failuresPerAddress: 50, concurrentChecks: 1, maxWaitingChecks: 16, maxWaitingChecksPerAddress: 8 }
  })
  const attempts: string[] = []
  const authenticator: Authenticator = {
    counters: real.counters,
    authenticate: (attempt) => {
      attempts.push(attempt.username ?? '')
      return real.authenticate(attempt)
    }
  }
  const broker = await createBroker({
    id: 'abandoned-sign-in', directory, authenticator, logger, connectTimeoutMs: 10_000, maxKeepaliveSeconds: 300, maxSubscriptions: 64, outgoingLimits: { maxBytes: 1_048_576, maxMessages: 1000 }, handleRequest: async () => {}, notifyRefusal: () => {}, retainedQuota: createMemoryRetainedQuota({ maxBytes: 16_384, maxPerIdentity: 100, maxTotal: 10_000 })
  })
  const accepted: net.Socket[] = []
  const server = net.createServer((socket) => {
    accepted.push(socket)
    broker.aedes.handle(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    const closed = new Promise((resolve) => server.close(resolve))
    await new Promise<void>((resolve) => broker.aedes.close(() => resolve()))
    await closed
  })
  const port = (server.address() as net.AddressInfo).port

  const door = connect(t, `mqtt://127.0.0.1:${port}`, 'device/1')
  await until(() => checked.includes('device/1'))
  // A resident's connection that sends its CONNECT, waits behind the door's check and goes away.
  const gone = net.connect(port, '127.0.0.1')
  gone.on('error', () => {})
  gone.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'gone', keepalive: 30, username: 'resident/2', password: Buffer.from(SECRETS['resident/2'] ?? '') }))
  await until(() => attempts.includes('resident/2'))
  const closedOnServer = new Promise((resolve) => accepted[1]?.once('close', resolve))
  gone.destroy()
  await closedOnServer
  release()
  await door
  await settle()
  t.same(checked, ['device/1'], 'the closed connection\'s secret was never checked')
  t.equal(real.counters.abandoned, 1)
})

import { request as httpRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { basic, request } from '../helpers/http'
import { connect, rawConnect } from '../helpers/mqtt'
import { hashedDirectory, startLoggedNode } from './helpers'

const CONNACK = { ACCEPTED: 0, BAD_CREDENTIALS: 4, NOT_AUTHORIZED: 5 }

function mqttSignIn (port: number, username: string, password: string): Promise<number | null> {
  return rawConnect(port, { clientId: '', clean: true, username, password })
}

t.test('after N wrong secrets an identity is throttled: even the right secret is refused until the window ends', async (t) => {
  const { node, httpUrl } = await startLoggedNode(t, { SIGN_IN_FAILURES_PER_IDENTITY: '3', SIGN_IN_THROTTLE_MS: '1500' })
  const port = node.ports.mqtt
  for (let i = 0; i < 3; i++) t.equal(await mqttSignIn(port, 'device/1', 'wrong'), CONNACK.BAD_CREDENTIALS, `wrong secret ${i + 1}`)
  t.equal(await mqttSignIn(port, 'device/1', 'door-1-secret'), CONNACK.NOT_AUTHORIZED, 'the right secret is refused over MQTT while throttled')
  const throttled = await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'device/1' })
  t.equal(throttled.status, 429, 'and over HTTP')
  t.equal(throttled.body.error, 'rate_limited')
  const retryAfter = Number(throttled.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After says when (${retryAfter} s)`)
  t.equal(await mqttSignIn(port, 'resident/2', 'res-2-secret'), CONNACK.ACCEPTED, 'another identity from the same address is not affected')
  t.equal(node.authenticator.counters.throttled, 2)

  // Only the announced time can end the window: wait what the server said.
  await sleep(retryAfter * 1000)
  t.equal(await mqttSignIn(port, 'device/1', 'door-1-secret'), CONNACK.ACCEPTED, 'the right secret works after the window')
})

t.test('a successful sign-in clears the identity\'s failures', async (t) => {
  const { node } = await startLoggedNode(t, { SIGN_IN_FAILURES_PER_IDENTITY: '3' })
  const port = node.ports.mqtt
  for (let round = 0; round < 3; round++) {
    t.equal(await mqttSignIn(port, 'device/1', 'wrong'), CONNACK.BAD_CREDENTIALS)
    t.equal(await mqttSignIn(port, 'device/1', 'wrong'), CONNACK.BAD_CREDENTIALS)
    t.equal(await mqttSignIn(port, 'device/1', 'door-1-secret'), CONNACK.ACCEPTED, `round ${round + 1}: two failures then a success`)
  }
})

t.test('after N failures from one address, every name from it is throttled', async (t) => {
  const { node, httpUrl } = await startLoggedNode(t, { SIGN_IN_FAILURES_PER_ADDRESS: '4', SIGN_IN_FAILURES_PER_IDENTITY: '100' })
  const port = node.ports.mqtt
  for (const name of ['device/1', 'device/5', 'resident/3', 'nobody/x']) {
    t.equal(await mqttSignIn(port, name, 'guess'), CONNACK.BAD_CREDENTIALS, `guess for ${name}`)
  }
  t.equal(await mqttSignIn(port, 'resident/2', 'res-2-secret'), CONNACK.NOT_AUTHORIZED, 'a name never guessed is refused from that address')
  const bearer = await request(httpUrl, 'GET', '/health', {})
  t.equal(bearer.status, 200, 'routes without sign-in still answer')
  const viaHttp = await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'Bearer ops-token' })
  t.equal(viaHttp.status, 429, 'a bearer token from that address is throttled too')
})

t.test('an unknown name costs a scrypt, like a wrong secret for a hashed one', async (t) => {
  const file = await hashedDirectory('d1', 's3cret')
  const { node, httpUrl } = await startLoggedNode(t, { INTERCOM_DIRECTORY: file, SIGN_IN_FAILURES_PER_IDENTITY: '100', SIGN_IN_FAILURES_PER_ADDRESS: '100' })
  const status = (name: string, secret: string) => request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=d1', { as: basic(name, secret) })
  t.equal((await status('device/d1', 's3cret')).status, 200, 'the hashed secret signs in (and is remembered)')
  const timed = async (name: string): Promise<number> => {
    const started = process.hrtime.bigint()
    t.equal((await status(name, 'guess')).status, 401)
    return Number(process.hrtime.bigint() - started) / 1e6
  }
  const before = node.authenticator.counters.dummyHashes
  const wrong: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < 3; i++) {
    wrong.push(await timed('device/d1'))
    unknown.push(await timed(`device/nobody-${i}`))
  }
  t.equal(node.authenticator.counters.dummyHashes - before, 3, 'each unknown name ran the dummy hash, no known name did')
  // The fastest of each: the one least disturbed by a loaded machine. Without the dummy
  // hash an unknown name answers in about 1 % of a scrypt.
  const ratio = Math.min(...unknown) / Math.min(...wrong)
  t.ok(ratio > 0.3, `an unknown name takes about as long as a wrong secret (${Math.min(...unknown).toFixed(1)} ms vs ${Math.min(...wrong).toFixed(1)} ms)`)
})

t.test('a refused sign-in is logged at warn with name, transport and address, never the secret', async (t) => {
  const { node, mqttUrl, wsUrl, httpUrl, logs, rawLogs } = await startLoggedNode(t)
  const secret = 'hunter2-do-not-log'
  await t.rejects(connect(t, mqttUrl, 'device/1', { secret }), /Bad username or password/)
  await t.rejects(connect(t, wsUrl, 'resident/2', { secret }), /Bad username or password/)
  t.equal((await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: basic('service/ops', secret) })).status, 401)
  t.equal(node.authenticator.counters.refused, 3)
  const refusals = logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('sign-in refused'))
  t.same(refusals.map((l) => [l.level, l.username, l.transport, l.address]), [
    [40, 'device/1', 'mqtt', '127.0.0.1'],
    [40, 'resident/2', 'ws', '127.0.0.1'],
    [40, 'service/ops', 'http', '127.0.0.1']
  ])
  t.notOk(rawLogs.some((line) => line.includes(secret)), 'no log line holds the secret')
})

/** A wrong Basic sign-in over HTTP from another loopback address. */
function guessFrom (localAddress: string, port: number): Promise<{ status: number, retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/api/mqtt/device/status?device_id=d1', localAddress, headers: { authorization: basic('device/d1', 'guess') } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a flood of guesses does not starve a real first sign-in from elsewhere', async (t) => {
  const file = await hashedDirectory('d1', 's3cret')
  const { node } = await startLoggedNode(t, {
    INTERCOM_DIRECTORY: file,
    SIGN_IN_CONCURRENT_CHECKS: '1',
    SIGN_IN_MAX_WAITING_PER_ADDRESS: '8',
    SIGN_IN_FAILURES_PER_IDENTITY: '1000',
    SIGN_IN_FAILURES_PER_ADDRESS: '1000'
  })
  const order: string[] = []
  const flood = Array.from({ length: 40 }, () => guessFrom('127.0.0.2', node.ports.http).then((r) => { order.push('guess'); return r }))
  // Let the flood reach the gate first.
  while (node.authenticator.counters.busy === 0) await sleep(5)
  const real = mqttSignIn(node.ports.mqtt, 'device/d1', 's3cret').then((code) => { order.push('real'); return code })
  t.equal(await real, CONNACK.ACCEPTED, 'the real sign-in succeeds')
  const answers = await Promise.all(flood)
  const busy = answers.filter((a) => a.status === 503)
  // How many find the queue full depends on how fast the first checks finish, so only
  // "some were turned away, the rest checked and refused" is certain on a loaded machine.
  t.ok(busy.length > 0, `guesses beyond the queue are refused at once (${busy.length} busy)`)
  t.ok(answers.every((a) => a.status === 503 || a.status === 401), 'every other guess was checked and refused')
  t.ok(busy.every((a) => a.retryAfter === '1'), 'with Retry-After')
  t.ok(order.indexOf('real') < order.length - 1 - 2, `the real sign-in did not wait for the queued guesses (${order.join(' ')})`)
})

import { exportSPKI, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { admin, closed, directoryCopy } from '../directory/helpers'

const SECRET = 'a-test-signing-secret-of-32-chars!!'
const AUDIENCE = 'intercom-test'

type Key = Parameters<SignJWT['sign']>[0]

/** A token for `sub`, valid for `seconds` (negative: already expired). */
function token (sub: string, options: { seconds?: number, key?: Key, alg?: string, audience?: string, exp?: boolean } = {}): Promise<string> {
  let jwt = new SignJWT({}).setProtectedHeader({ alg: options.alg ?? 'HS256' }).setSubject(sub).setIssuedAt()
  if (options.exp !== false) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.seconds ?? 300))
  if (options.audience !== undefined) jwt = jwt.setAudience(options.audience)
  return jwt.sign(options.key ?? new TextEncoder().encode(SECRET))
}

function bearer (jwt: string): string {
  return `Bearer ${jwt}`
}

t.test('HS256 tokens: accepted as MQTT password and HTTP bearer; every bad token refused', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t), AUTH_JWT_SECRET: SECRET, AUTH_JWT_AUDIENCE: AUDIENCE })
  const valid = await token('resident/2', { audience: AUDIENCE })
  await t.resolves(connect(t, mqttUrl, 'resident/2', { secret: valid }), 'valid token over MQTT')
  await t.resolves(connect(t, mqttUrl, 'resident/2'), 'the secret still works')
  const service = await token('service/ops', { audience: AUDIENCE })
  t.equal((await request(httpUrl, 'GET', '/api/admin/directory', { as: bearer(service) })).status, 200, 'valid token over HTTP')
  t.equal((await request(httpUrl, 'GET', '/api/admin/directory', { as: bearer(valid) })).status, 403, 'a resident token is that resident')

  const bad: Record<string, string> = {
    expired: await token('resident/2', { audience: AUDIENCE, seconds: -10 }),
    'wrong signature': await token('resident/2', { audience: AUDIENCE, key: new TextEncoder().encode('another-secret-of-at-least-32-chars') }),
    'wrong audience': await token('resident/2', { audience: 'someone-else' }),
    'no audience': await token('resident/2'),
    'unknown sub': await token('resident/999', { audience: AUDIENCE }),
    'no exp': await token('resident/2', { audience: AUDIENCE, exp: false })
  }
  for (const [what, jwt] of Object.entries(bad)) {
    await t.rejects(connect(t, mqttUrl, 'resident/2', { secret: jwt }), /Bad username or password/, `${what}: CONNACK 4`)
    const http = await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: bearer(jwt) })
    t.match(http, { status: 401, body: { error: 'unauthorized' } }, `${what}: 401`)
  }
  await t.rejects(connect(t, mqttUrl, 'resident/3', { secret: valid }), /Bad username or password/, 'the username must be the token\'s sub')
})

t.test('a connection made with a token closes when the token expires', async (t) => {
  const { mqttUrl } = await startTestNode(t, { AUTH_JWT_SECRET: SECRET })
  const shortLived = await connect(t, mqttUrl, 'device/1', { secret: await token('device/1', { seconds: 2 }) })
  const longLived = await connect(t, mqttUrl, 'resident/2', { secret: await token('resident/2', { seconds: 600 }) })
  const withSecret = await connect(t, mqttUrl, 'resident/3')
  await closed(shortLived, 10_000)
  t.ok(longLived.client.connected, 'a token still valid keeps its connection')
  t.ok(withSecret.client.connected, 'a secret has no expiry')
})

t.test('an entry without a secret signs in only with a token', async (t) => {
  const { mqttUrl, httpUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t), AUTH_JWT_SECRET: SECRET })
  t.equal((await admin(httpUrl, 'PUT', '/api/admin/residents/app-only', {})).status, 200)
  await t.resolves(connect(t, mqttUrl, 'resident/app-only', { secret: await token('resident/app-only') }), 'connects')
  await t.rejects(connect(t, mqttUrl, 'resident/app-only', { secret: '' }), /Bad username or password/)
  await t.rejects(connect(t, mqttUrl, 'resident/app-only', { secret: 'anything' }), /Bad username or password/)
})

t.test('without a token key configured, a token is just a wrong secret', async (t) => {
  const { mqttUrl } = await startTestNode(t)
  await t.rejects(connect(t, mqttUrl, 'resident/2', { secret: await token('resident/2') }), /Bad username or password/)
})

for (const alg of ['ES256', 'RS256'] as const) {
  t.test(`${alg} tokens verify against AUTH_JWT_PUBLIC_KEY; the key decides the algorithm`, async (t) => {
    const { publicKey, privateKey } = await generateKeyPair(alg)
    const { mqttUrl } = await startTestNode(t, { AUTH_JWT_PUBLIC_KEY: await exportSPKI(publicKey) })
    await t.resolves(connect(t, mqttUrl, 'device/1', { secret: await token('device/1', { key: privateKey, alg }) }), 'connects')
    const other = await generateKeyPair(alg)
    await t.rejects(connect(t, mqttUrl, 'device/1', { secret: await token('device/1', { key: other.privateKey, alg }) }), /Bad username or password/, 'another key')
    await t.rejects(connect(t, mqttUrl, 'device/1', { secret: await token('device/1') }), /Bad username or password/, 'an HS256 token')
  })
}

import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { request } from '../helpers/http'
import { spawnNode } from '../helpers/spawn-node'
import { startFcmService } from './fcm-service'

const CLIENT_EMAIL = 'intercom@demo-project.iam.gserviceaccount.com'
const GONE = 'gone-registration-token'

t.test('FCM HTTP v1: a service-account assertion buys the bearer; invites are high-priority data messages; UNREGISTERED removes the token', async (t) => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const fcm = await startFcmService(t, { publicKey: keys.publicKey, clientEmail: CLIENT_EMAIL },
    (token) => token === GONE ? [404, '{"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}}'] : [200])
  const account = {
    type: 'service_account',
    project_id: 'demo-project',
    client_email: CLIENT_EMAIL,
    private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    token_uri: fcm.tokenUri
  }
  const node = await spawnNode(t, { NODE_EXTRA_CA_CERTS: fcm.certPath, FCM_SERVICE_ACCOUNT: JSON.stringify(account), FCM_ENDPOINT: fcm.origin, RING_TIMEOUT_MS: '20000' })
  const base = `http://127.0.0.1:${node.ports.http}`
  const add = (token: string) => request(base, 'POST', '/api/push/subscriptions', { as: 'resident/6', body: { kind: 'fcm', token } })
  t.match(await add('good-registration-token'), { status: 200, body: { data: { kind: 'fcm', resident_id: '6' } } })
  t.match(await add(GONE), { status: 200 })

  const started = await request(base, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_device_id: '5', household_number: '201' } })
  const callId = started.body.data.call_id as string
  const invite = await fcm.waitFor((m) => m.message.token === 'good-registration-token')
  t.equal(invite.bearerValid, true, 'sent with the access token the token endpoint issued')
  t.equal(invite.project, 'demo-project')
  t.ok(fcm.exchanges.length >= 1 && fcm.exchanges.every((e) => e.valid), 'the assertion was signed by the account key, for the messaging scope and this token endpoint')
  t.match(invite.message, {
    data: { type: 'call.incoming', call_id: callId, device_device_id: '5', household_number: '201', seq: '1' },
    android: { priority: 'HIGH', ttl: /^\d+s$/, collapse_key: /^[A-Za-z0-9_-]+$/ }
  })
  const ttl = Number(String(invite.message.android.ttl).replace('s', ''))
  t.ok(ttl > 0 && ttl <= 20, `TTL is the seconds left to expires_at (${ttl})`)

  await fcm.waitFor((m) => m.message.token === GONE)
  const left = async () => (await request(base, 'GET', '/api/push/subscriptions', { as: 'resident/6' })).body.data.items.length as number
  for (let n = await left(); n !== 1; n = await left()) await new Promise((resolve) => setTimeout(resolve, 50))
  t.pass('the UNREGISTERED token is removed')
  t.equal(fcm.exchanges.length, 1, 'one exchange serves both sends: the access token is cached')

  node.child.kill('SIGTERM')
  t.equal(await node.exited, 0, 'after pushes on a kept connection the node stops cleanly (no forced exit after the grace period)')
})

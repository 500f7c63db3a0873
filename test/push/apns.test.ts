import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { request } from '../helpers/http'
import { spawnNode } from '../helpers/spawn-node'
import { startApnsService } from './apns-service'

const TEAM = { keyId: 'KEY1234567', teamId: 'TEAM123456' }
const TOKEN = 'a1'.repeat(32)
const GONE = 'b2'.repeat(32)

t.test('APNs: an invite is a VoIP push, the cancellation an alert, with token auth; Unregistered removes the token', async (t) => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const apns = await startApnsService(t, { publicKey: keys.publicKey, ...TEAM }, (token) => token === GONE ? [410, 'Unregistered'] : [200])
  const node = await spawnNode(t, {
    NODE_EXTRA_CA_CERTS: apns.certPath,
    APNS_KEY_ID: TEAM.keyId,
    APNS_TEAM_ID: TEAM.teamId,
    APNS_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    APNS_BUNDLE_ID: 'com.example.intercom',
    APNS_HOST: apns.host,
    APNS_SANDBOX_HOST: apns.host,
    LOG_LEVEL: 'info'
  })
  const base = `http://127.0.0.1:${node.ports.http}`
  const add = (token: string) => request(base, 'POST', '/api/push/subscriptions', { as: 'resident/4', body: { kind: 'apns', token, environment: 'sandbox' } })
  t.match(await add(TOKEN), { status: 200, body: { data: { kind: 'apns', resident_id: '4', environment: 'sandbox' } } })
  t.match(await add(GONE), { status: 200 })

  const started = await request(base, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '4' } })
  const callId = started.body.data.call_id as string
  const invite = await apns.waitFor((p) => p.token === TOKEN && p.body.type === 'call.incoming')
  t.equal(invite.tokenValid, true, 'the provider token is an ES256 JWT of our key id and team, signed by our key')
  t.match(invite.headers, {
    'apns-push-type': 'voip',
    'apns-topic': 'com.example.intercom.voip',
    'apns-priority': '10',
    'apns-expiration': String(Math.floor(invite.body.expires_at / 1000))
  })
  t.match(invite.headers['apns-collapse-id'], /^[A-Za-z0-9_-]{1,64}$/)
  t.match(invite.body, { type: 'call.incoming', call_id: callId, device_device_id: '1', seq: 1 })

  await apns.waitFor((p) => p.token === GONE)
  const kinds = async () => (await request(base, 'GET', '/api/push/subscriptions', { as: 'resident/4' })).body.data.items.length as number
  for (let left = await kinds(); left !== 1; left = await kinds()) await new Promise((resolve) => setTimeout(resolve, 50))
  t.pass('the Unregistered token is removed')

  await request(base, 'POST', '/api/mqtt/controller/device', { as: 'device/1', body: { call_info: { call_id: callId, action: 'cancelled' } } })
  const cancelled = await apns.waitFor((p) => p.token === TOKEN && p.body.type === 'call.cancelled')
  t.match(cancelled.headers, { 'apns-push-type': 'alert', 'apns-topic': 'com.example.intercom', 'apns-collapse-id': invite.headers['apns-collapse-id'] })
  t.match(cancelled.body, { aps: { alert: {} }, type: 'call.cancelled', call_id: callId, reason: 'cancelled', seq: 2 })
  t.equal(cancelled.tokenValid, true)

  t.equal(apns.received.filter((p) => p.token === GONE).length, 1, 'a removed token gets no cancellation')

  node.child.kill('SIGTERM')
  t.equal(await node.exited, 0, 'after pushes on a kept connection the node stops cleanly (no forced exit after the grace period)')
})

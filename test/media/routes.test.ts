import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { DEMO_AGORA_APP_CERTIFICATE, DEMO_AGORA_APP_ID, DEMO_TRTC_SDK_APP_ID, DEMO_TRTC_SECRET_KEY } from '../../config/demo-credentials'
import { loadConfig } from '../../config/env'
import { startNode } from '../../lib/node'
import { request, type HttpResult } from '../helpers/http'
import { DEMO_DIRECTORY, startTestNode } from '../helpers/node'
import { verifyRtcToken } from '../helpers/verify-rtc-token'
import { verifyUserSig } from '../helpers/verify-usersig'

function forbidden (t: tap.Test, res: HttpResult, name: string): void {
  t.equal(res.status, 403, name)
  t.same(res.body, { code: 403, message: res.body.message, error: 'forbidden', data: null }, `${name}: envelope`)
}

/** A ringing one-to-one call from device 1 to resident 2; its id. */
async function ringResident2 (t: tap.Test, httpUrl: string): Promise<string> {
  const res = await request(httpUrl, 'POST', '/api/rtc/call', { as: 'device/1', body: { device_id: '1', resident_id: '2' } })
  t.equal(res.status, 200, 'the call starts')
  return res.body.data.call_id
}

t.test('POST /api/trtc/usersig: one\'s own user id, or any for a service', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const allowed: Array<[string, string]> = [
    ['device/1', 'device_1'],
    ['resident/2', 'resident_2'],
    ['service/ops', 'resident_4'],
    ['Bearer ops-token', 'anyone-at-all']
  ]
  for (const [as, userId] of allowed) {
    const res = await request(httpUrl, 'POST', '/api/trtc/usersig', { as, body: { user_id: userId } })
    t.equal(res.status, 200, `${as} for ${userId}`)
    t.same(Object.keys(res.body.data).sort(), ['expire_at', 'sdk_app_id', 'user_id', 'user_sig'])
    t.equal(res.body.data.sdk_app_id, DEMO_TRTC_SDK_APP_ID)
    t.equal(res.body.data.user_id, userId)
    const fields = verifyUserSig(res.body.data.user_sig, DEMO_TRTC_SECRET_KEY)
    t.equal(fields.identifier, userId)
    t.equal(fields.sdkAppId, DEMO_TRTC_SDK_APP_ID)
    t.equal(fields.expire, 86_400, 'the default TRTC_USERSIG_EXPIRE')
    t.ok(res.body.data.expire_at <= (fields.time + fields.expire) * 1000, 'expire_at is not later than the UserSig')
  }

  const refused: Array<[string, string]> = [
    ['device/1', 'device_5'],
    ['device/1', 'resident_2'],
    ['resident/2', 'resident_3'],
    ['resident/2', '2'],
    ['client/meter-gw', 'client_meter-gw']
  ]
  for (const [as, userId] of refused) {
    forbidden(t, await request(httpUrl, 'POST', '/api/trtc/usersig', { as, body: { user_id: userId } }), `${as} for ${userId}`)
  }
  const anonymous = await request(httpUrl, 'POST', '/api/trtc/usersig', { body: { user_id: 'device_1' } })
  t.equal(anonymous.status, 401)
})

t.test('POST /api/rtc/token: one\'s own user id in a call one is party to', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const callId = await ringResident2(t, httpUrl)

  const allowed: Array<[string, string, string]> = [
    ['device/1', 'device_1', callId],
    ['resident/2', 'resident_2', callId],
    ['service/ops', 'resident_4', callId],
    ['service/ops', 'monitor-7', 'any-channel']
  ]
  for (const [as, userId, channelId] of allowed) {
    const res = await request(httpUrl, 'POST', '/api/rtc/token', { as, body: { user_id: userId, channel_id: channelId } })
    t.equal(res.status, 200, `${as} for ${userId} in ${channelId}`)
    t.same(Object.keys(res.body.data).sort(), ['app_id', 'channel_id', 'expire_at', 'provider', 'token', 'user_id'])
    t.same({ ...res.body.data, token: null, expire_at: null }, {
      provider: 'agora', app_id: DEMO_AGORA_APP_ID, user_id: userId, channel_id: channelId, token: null, expire_at: null
    })
    const fields = verifyRtcToken(res.body.data.token, DEMO_AGORA_APP_CERTIFICATE)
    t.equal(fields.appId, DEMO_AGORA_APP_ID)
    t.equal(fields.expire, 3600, 'the default AGORA_TOKEN_EXPIRE')
    t.same(fields.services.map((s) => [s.channel, s.user]), [[channelId, userId]])
    t.ok(res.body.data.expire_at <= (fields.issueTs + fields.expire) * 1000, 'expire_at is not later than the token')
  }

  const refused: Array<[string, string, string]> = [
    ['device/1', 'device_5', callId],
    ['device/5', 'device_5', callId],
    ['resident/2', 'resident_3', callId],
    ['resident/3', 'resident_3', callId],
    ['resident/4', 'resident_4', callId],
    ['client/meter-gw', 'client_meter-gw', callId]
  ]
  for (const [as, userId, channelId] of refused) {
    forbidden(t, await request(httpUrl, 'POST', '/api/rtc/token', { as, body: { user_id: userId, channel_id: channelId } }), `${as} for ${userId}`)
  }

  const unknown = await request(httpUrl, 'POST', '/api/rtc/token', { as: 'resident/2', body: { user_id: 'resident_2', channel_id: 'call-20200101-000000000000' } })
  t.equal(unknown.status, 404, 'a channel that is no call')
  t.equal(unknown.body.error, 'call_not_found')
})

t.test('POST /api/rtc/call and /api/trtc/call: a device for itself, a service for any, never a resident', async (t) => {
  const { httpUrl } = await startTestNode(t)
  for (const [path, provider, credentials] of [['/api/trtc/call', 'trtc', 'tencen_rtc'], ['/api/rtc/call', 'rtc', 'rtc']] as const) {
    forbidden(t, await request(httpUrl, 'POST', path, { as: 'resident/2', body: { device_id: '1', resident_id: '2' } }), `${path}: a resident`)
    forbidden(t, await request(httpUrl, 'POST', path, { as: 'device/5', body: { device_id: '1', resident_id: '2' } }), `${path}: another device`)
    forbidden(t, await request(httpUrl, 'POST', path, { as: 'device/1', body: { device_id: '1', resident_id: '6' } }), `${path}: a resident of another device`)
    const missing = await request(httpUrl, 'POST', path, { as: 'service/ops', body: { device_id: '404', resident_id: '2' } })
    t.equal(missing.status, 404, `${path}: an unknown device`)

    const started = await request(httpUrl, 'POST', path, { as: 'service/ops', body: { device_id: '1', resident_id: '3' } })
    t.equal(started.status, 200, `${path}: a service`)
    const session = started.body.data
    t.equal(session.provider, provider)
    t.equal(session.status, 'ringing')
    t.equal(session.device_device_id, '1')
    t.same(session.target_resident_ids, ['3'])
    t.equal(session[credentials].user_id, 'device_1', 'the session carries the device\'s credentials')
    t.notOk(session[provider === 'trtc' ? 'rtc' : 'tencen_rtc'], 'and none of the other provider')

    const busy = await request(httpUrl, 'POST', path, { as: 'device/1', body: { device_id: '1', resident_id: '2' } })
    t.equal(busy.status, 409, `${path}: the device is busy`)
    t.equal(busy.body.error, 'device_busy')
    const end = await request(httpUrl, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: session.call_id } })
    t.equal(end.status, 200)

    const own = await request(httpUrl, 'POST', path, { as: 'device/1', body: { device_id: '1', resident_id: '2', timestamp: 1_700_000_000_000 } })
    t.equal(own.status, 200, `${path}: the device for itself`)
    t.equal(own.body.data.call_info.timestamp, 1_700_000_000_000)
    t.equal(own.body.data[credentials].user_id, 'device_1')
    await request(httpUrl, 'POST', '/api/mqtt/end-session', { as: 'device/1', body: { call_id: own.body.data.call_id } })
  }
})

t.test('400 invalid_request for bad bodies', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const cases: Array<[string, unknown, RegExp]> = [
    ['/api/trtc/usersig', {}, /user_id is required/],
    ['/api/trtc/usersig', { user_id: 7 }, /user_id must be string/],
    ['/api/trtc/usersig', { user_id: 'device/1' }, /user_id must match pattern/],
    ['/api/trtc/usersig', { user_id: '' }, /user_id must match pattern/],
    ['/api/trtc/usersig', { user_id: 'x'.repeat(65) }, /user_id must match pattern/],
    ['/api/trtc/usersig', { user_id: 'device_1', extra: 1 }, /extra is not a known field/],
    ['/api/rtc/token', { user_id: 'device_1' }, /channel_id is required/],
    ['/api/rtc/token', { channel_id: 'c' }, /user_id is required/],
    ['/api/rtc/token', { user_id: 'device_1', channel_id: 'a+b' }, /channel_id must match pattern/],
    ['/api/rtc/token', { user_id: 'device_1', channel_id: 'c'.repeat(64) }, /channel_id must match pattern/],
    ['/api/rtc/call', { device_id: '1' }, /resident_id is required/],
    ['/api/rtc/call', { resident_id: '2' }, /device_id is required/],
    ['/api/trtc/call', { device_id: '1', resident_id: '#' }, /resident_id must match pattern/],
    ['/api/trtc/call', { device_id: '1', resident_id: '2', household_number: '101' }, /household_number is not a known field/]
  ]
  for (const [path, body, message] of cases) {
    const res = await request(httpUrl, 'POST', path, { as: 'service/ops', body })
    t.equal(res.status, 400, `${path} ${JSON.stringify(body)}`)
    t.same(res.body, { code: 400, message: res.body.message, error: 'invalid_request', data: null })
    t.match(res.body.message, message)
  }
  const tooLongForTrtc = await request(httpUrl, 'POST', '/api/trtc/usersig', { as: 'service/ops', body: { user_id: 'x'.repeat(33) } })
  t.equal(tooLongForTrtc.status, 400, 'TRTC takes user ids of at most 32 characters')
  t.equal(tooLongForTrtc.body.error, 'invalid_request')
  const malformed = await request(httpUrl, 'POST', '/api/rtc/token', { as: 'service/ops', raw: '{"user_id":' })
  t.equal(malformed.status, 400)
  t.equal(malformed.body.error, 'invalid_request')
})

t.test('503 provider_not_configured without keys and without demo credentials', async (t) => {
  const { httpUrl } = await startTestNode(t, { DEMO_CREDENTIALS: 'false' })
  const cases: Array<[string, string, unknown]> = [
    ['/api/trtc/usersig', 'device/1', { user_id: 'device_1' }],
    ['/api/trtc/usersig', 'service/ops', { user_id: 'anyone' }],
    ['/api/rtc/token', 'service/ops', { user_id: 'anyone', channel_id: 'any-channel' }],
    ['/api/trtc/call', 'device/1', { device_id: '1', resident_id: '2' }],
    ['/api/rtc/call', 'service/ops', { device_id: '1', resident_id: '2' }],
    ['/api/rtc/call', 'device/1', { device_id: '1', resident_id: '2' }],
    ['/api/mqtt/call', 'device/1', { device_id: '1' }]
  ]
  for (const [path, as, body] of cases) {
    const res = await request(httpUrl, 'POST', path, { as, body })
    t.equal(res.status, 503, `${path} as ${as}`)
    t.same(res.body, { code: 503, message: res.body.message, error: 'provider_not_configured', data: null })
    t.match(res.body.message, /is not configured/)
  }
  forbidden(t, await request(httpUrl, 'POST', '/api/trtc/usersig', { as: 'device/1', body: { user_id: 'device_5' } }), 'rights still come first')
})

t.test('the configured keys sign, and the secrets appear in no response and no log line', async (t) => {
  const trtcSecret = 'trtc-secret-for-the-leak-test-3b8e1f'
  const agoraCertificate = 'c0ffee00c0ffee00c0ffee00c0ffee00'
  const agoraAppId = '0123456789abcdef0123456789abcdef'
  const lines: string[] = []
  const sink = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const config = loadConfig({
    MQTT_PORT: '0',
    HTTP_PORT: '0',
    HOST: '127.0.0.1',
    INTERCOM_DIRECTORY: DEMO_DIRECTORY,
    LOG_LEVEL: 'trace',
    TRTC_SDK_APP_ID: '1400777777',
    TRTC_SECRET_KEY: trtcSecret,
    AGORA_APP_ID: agoraAppId,
    AGORA_APP_CERTIFICATE: agoraCertificate
  })
  const node = await startNode({ config, logger: pino({ level: 'trace' }, sink) })
  t.teardown(() => node.close())
  const httpUrl = `http://127.0.0.1:${node.ports.http}`

  const responses: HttpResult[] = []
  const call = await request(httpUrl, 'POST', '/api/trtc/call', { as: 'device/1', body: { device_id: '1', resident_id: '2' } })
  responses.push(call)
  const sig = await request(httpUrl, 'POST', '/api/trtc/usersig', { as: 'resident/2', body: { user_id: 'resident_2' } })
  responses.push(sig)
  const token = await request(httpUrl, 'POST', '/api/rtc/token', { as: 'resident/2', body: { user_id: 'resident_2', channel_id: call.body.data.call_id } })
  responses.push(token)
  responses.push(await request(httpUrl, 'POST', '/api/rtc/call', { as: 'device/1', body: { device_id: '1', resident_id: '2' } }))
  responses.push(await request(httpUrl, 'POST', '/api/trtc/usersig', { as: 'service/ops', body: { user_id: 'x'.repeat(40) } }))
  responses.push(await request(httpUrl, 'POST', '/api/rtc/token', { as: 'service/ops', body: { user_id: 'u', channel_id: 'c/d' } }))
  responses.push(await request(httpUrl, 'POST', '/api/rtc/token', { as: 'resident/3', body: { user_id: 'resident_3', channel_id: call.body.data.call_id } }))

  t.equal(call.body.data.tencen_rtc.sdk_app_id, 1400777777)
  t.equal(verifyUserSig(call.body.data.tencen_rtc.user_sig, trtcSecret).identifier, 'device_1')
  t.equal(verifyUserSig(sig.body.data.user_sig, trtcSecret).sdkAppId, 1400777777)
  t.throws(() => verifyUserSig(sig.body.data.user_sig, DEMO_TRTC_SECRET_KEY), 'not signed with the demo key')
  t.equal(token.body.data.app_id, agoraAppId)
  t.equal(verifyRtcToken(token.body.data.token, agoraCertificate).appId, agoraAppId)
  t.same(responses.map((r) => r.status), [200, 200, 200, 409, 400, 400, 403])
  t.ok(lines.length > 0, 'the node logged')
  t.notOk(lines.some((line) => /DEMO media credentials/.test(line)), 'no demo warning with configured keys')

  const everything = [...responses.map((r) => JSON.stringify(r.body)), ...lines].join('\n')
  t.notOk(everything.includes(trtcSecret), 'the TRTC secret key is nowhere')
  t.notOk(everything.toLowerCase().includes(agoraCertificate), 'the Agora certificate is nowhere')
})

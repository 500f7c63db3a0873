import { inspect } from 'node:util'
import { deflateSync } from 'node:zlib'
import t from 'tap'
import { DEMO_AGORA_APP_CERTIFICATE, DEMO_AGORA_APP_ID, isDemoAgora } from '../../config/demo-credentials'
import { identity } from '../../lib/identity'
import { createCredentials, credentialOptionsFromConfig } from '../../lib/credentials'
import { createAgoraProvider } from '../../lib/credentials/agora'
import { decodeRtcToken, PRIVILEGE, RTC_SERVICE, verifyRtcToken } from '../helpers/verify-rtc-token'

const APP_ID = '5b0c3e1f2a4d6c8e9f0a1b2c3d4e5f60'
const CERTIFICATE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
const OTHER_CERTIFICATE = '0f9e8d7c6b5a49382716f5e4d3c2b1a0'
const EXPIRE = 3600
const CALL_ID = 'call-20250101-0123456789ab'

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

function provider () {
  return createAgoraProvider({ appId: APP_ID, appCertificate: CERTIFICATE, expireSeconds: EXPIRE })
}

t.test('a token names the app, channel and user, publishes, and expires as configured', async (t) => {
  const rtc = provider()
  const before = nowSeconds()
  const { token, expire_at: expireAt } = rtc.token('resident_2', CALL_ID)
  const after = nowSeconds()

  t.match(token, /^007/)
  const fields = verifyRtcToken(token, CERTIFICATE)
  t.equal(fields.appId, APP_ID)
  t.ok(fields.issueTs >= before && fields.issueTs <= after, 'issued now')
  t.equal(fields.expire, EXPIRE)
  t.equal(fields.services.length, 1)
  const [service] = fields.services
  t.equal(service?.type, RTC_SERVICE)
  t.equal(service?.channel, CALL_ID)
  t.equal(service?.user, 'resident_2')
  t.same(service?.privileges, {
    [PRIVILEGE.JOIN_CHANNEL]: EXPIRE,
    [PRIVILEGE.PUBLISH_AUDIO]: EXPIRE,
    [PRIVILEGE.PUBLISH_VIDEO]: EXPIRE,
    [PRIVILEGE.PUBLISH_DATA]: EXPIRE
  })
  t.ok(expireAt <= (fields.issueTs + fields.expire) * 1000, 'expire_at is not later than the token\'s expiry')
  t.ok(expireAt >= (before + EXPIRE) * 1000, 'expire_at is the configured lifetime from now')
  t.equal(rtc.name, 'agora')
  t.equal(rtc.appId, APP_ID)
})

t.test('forChannel gives the wire object', async (t) => {
  const given = provider().forChannel('device_1', CALL_ID)
  t.same(Object.keys(given).sort(), ['app_id', 'channel_id', 'token', 'user_id'])
  t.equal(given.app_id, APP_ID)
  t.equal(given.channel_id, CALL_ID)
  t.equal(given.user_id, 'device_1')
  t.equal(verifyRtcToken(given.token, CERTIFICATE).services[0]?.user, 'device_1')
})

t.test('an altered token fails verification', async (t) => {
  const { token } = provider().token('resident_2', CALL_ID)
  const { signingInfo } = decodeRtcToken(token)
  // A 32-byte signature that the certificate did not make.
  const content = Buffer.concat([Buffer.from([32, 0]), Buffer.alloc(32, 7), signingInfo])
  const forged = '007' + deflateSync(content).toString('base64')
  t.throws(() => verifyRtcToken(forged, CERTIFICATE), /signature mismatch/, 'a forged signature')

  const renamed = Buffer.from(signingInfo)
  const at = renamed.indexOf('resident_2')
  renamed.write('resident_3', at)
  const original = decodeRtcToken(token).signature
  const lengthPrefix = Buffer.alloc(2)
  lengthPrefix.writeUInt16LE(original.length)
  const relabelled = '007' + deflateSync(Buffer.concat([lengthPrefix, original, renamed])).toString('base64')
  t.equal(decodeRtcToken(relabelled).fields.services[0]?.user, 'resident_3')
  t.throws(() => verifyRtcToken(relabelled, CERTIFICATE), /signature mismatch/, 'another user under the same signature')
})

t.test('a token made with another certificate fails verification', async (t) => {
  const foreign = createAgoraProvider({ appId: APP_ID, appCertificate: OTHER_CERTIFICATE, expireSeconds: EXPIRE })
  t.throws(() => verifyRtcToken(provider().token('device_1', CALL_ID).token, OTHER_CERTIFICATE), /signature mismatch/)
  t.throws(() => verifyRtcToken(foreign.token('device_1', CALL_ID).token, CERTIFICATE), /signature mismatch/)
})

t.test('the certificate never leaves the provider', async (t) => {
  const rtc = provider()
  const credentials = createCredentials({ agora: { appId: APP_ID, appCertificate: CERTIFICATE, expireSeconds: EXPIRE } })
  for (const value of [rtc, credentials]) {
    t.notMatch(JSON.stringify(value), CERTIFICATE)
    t.notMatch(inspect(value, { showHidden: true, depth: Infinity, getters: true }), CERTIFICATE)
  }
  t.ok(Object.isFrozen(rtc), 'nobody can swap the methods')
  const refusals = [
    () => rtc.token('', CALL_ID),
    () => createAgoraProvider({ appId: 'not-hex', appCertificate: CERTIFICATE, expireSeconds: EXPIRE }),
    () => createAgoraProvider({ appId: APP_ID, appCertificate: CERTIFICATE + '0', expireSeconds: EXPIRE })
  ]
  for (const refuse of refusals) {
    try {
      refuse()
      t.fail('should have thrown')
    } catch (err) {
      t.notMatch(String((err as Error).message), CERTIFICATE)
      t.notMatch(String((err as Error).stack), CERTIFICATE)
    }
  }
})

t.test('users and channels Agora would refuse, or an empty account valid for anyone, are refused', async (t) => {
  const rtc = provider()
  const refused: Array<[string, string]> = [['', CALL_ID], ['a b', CALL_ID], ['x'.repeat(256), CALL_ID], ['device_1', ''], ['device_1', 'c'.repeat(64)]]
  for (const [userId, channelId] of refused) {
    t.throws(() => rtc.token(userId, channelId), { name: 'IntercomError', code: 'invalid_request' }, `user ${userId.length}, channel ${channelId.length} chars`)
  }
})

t.test('a misconfigured provider fails at creation with internal', async (t) => {
  const bad = [
    { appId: APP_ID.slice(1), appCertificate: CERTIFICATE, expireSeconds: EXPIRE },
    { appId: APP_ID, appCertificate: 'z'.repeat(32), expireSeconds: EXPIRE },
    { appId: APP_ID, appCertificate: CERTIFICATE, expireSeconds: 0 }
  ]
  for (const options of bad) {
    t.throws(() => createAgoraProvider(options), { name: 'IntercomError', code: 'internal' })
  }
})

t.test('forCall gives devices and residents their own RTC credentials for the call', async (t) => {
  const credentials = createCredentials({ agora: { appId: APP_ID, appCertificate: CERTIFICATE, expireSeconds: EXPIRE } })
  for (const who of [identity('device', '1'), identity('resident', '2')]) {
    const given = credentials.forCall('rtc', who, CALL_ID)
    if (given === null || !('rtc' in given)) throw new Error('expected rtc')
    t.equal(given.rtc.user_id, `${who.kind}_${who.id}`)
    t.equal(given.rtc.channel_id, CALL_ID)
    const fields = verifyRtcToken(given.rtc.token, CERTIFICATE)
    t.equal(fields.services[0]?.user, `${who.kind}_${who.id}`)
    t.equal(fields.services[0]?.channel, CALL_ID)
  }
  t.equal(credentials.forCall('rtc', identity('service', 'ops'), CALL_ID), null, 'a service has no media identity')
  t.equal(credentials.trtc, null)
  t.throws(() => credentials.forCall('trtc', identity('device', '1'), CALL_ID),
    { name: 'IntercomError', code: 'provider_not_configured', statusCode: 503 })
})

t.test('Agora options from the configuration: configured, demo, or none', async (t) => {
  const base = { TRTC_USERSIG_EXPIRE: 600, AGORA_TOKEN_EXPIRE: 900 }
  const configured = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: true, AGORA_APP_ID: APP_ID, AGORA_APP_CERTIFICATE: CERTIFICATE })
  t.same(configured.options.agora, { appId: APP_ID, appCertificate: CERTIFICATE, expireSeconds: 900 })
  t.notOk(configured.demo.includes('agora'))

  const demo = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: true })
  t.same(demo.options.agora, { appId: DEMO_AGORA_APP_ID, appCertificate: DEMO_AGORA_APP_CERTIFICATE, expireSeconds: 900 })
  t.ok(demo.demo.includes('agora'), 'start-up is told to warn')
  const demoRtc = createCredentials(demo.options).rtc
  t.equal(verifyRtcToken(demoRtc?.token('device_1', CALL_ID).token ?? '', DEMO_AGORA_APP_CERTIFICATE).appId, DEMO_AGORA_APP_ID,
    'demo tokens are well formed')
  t.ok(isDemoAgora(DEMO_AGORA_APP_ID.toUpperCase(), CERTIFICATE))
  t.notOk(isDemoAgora(APP_ID, CERTIFICATE))

  const none = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: false })
  t.equal(none.options.agora, null)
})

import { inspect } from 'node:util'
import t from 'tap'
import { DEMO_TRTC_SDK_APP_ID, DEMO_TRTC_SECRET_KEY, isDemoTrtc } from '../../config/demo-credentials'
import { identity } from '../../lib/identity'
import { createCredentials, credentialOptionsFromConfig } from '../../lib/credentials'
import { rtcUserId } from '../../lib/credentials/provider'
import { createTrtcSigner } from '../../lib/credentials/trtc'
import { decodeUserSig, encodeUserSig, verifyUserSig } from '../helpers/verify-usersig'

const SDK_APP_ID = 1400123456
const SECRET = 'trtc-test-secret-5f1c0a7e9b2d4c68'
const EXPIRE = 86_400

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

t.test('a UserSig carries the identifier, app, time and lifetime, signed with the key', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const before = nowSeconds()
  const { user_sig: sig, expire_at: expireAt } = signer.userSig('resident_2')
  const after = nowSeconds()

  const fields = verifyUserSig(sig, SECRET)
  t.equal(fields.version, '2.0')
  t.equal(fields.identifier, 'resident_2')
  t.equal(fields.sdkAppId, SDK_APP_ID)
  t.equal(fields.expire, EXPIRE)
  t.ok(fields.time >= before && fields.time <= after, 'issued now')
  t.ok(expireAt <= (fields.time + fields.expire) * 1000, 'expire_at is not later than the UserSig\'s expiry')
  t.ok(expireAt >= (before + EXPIRE) * 1000, 'expire_at is the configured lifetime from now')
  t.equal(signer.sdkAppId, SDK_APP_ID)
})

t.test('forRoom gives the wire object with a string room', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const room = signer.forRoom('device_1', 'call-20250101-0123456789ab')
  t.same(Object.keys(room).sort(), ['room_id', 'room_id_type', 'sdk_app_id', 'user_id', 'user_sig'])
  t.equal(room.sdk_app_id, SDK_APP_ID)
  t.equal(room.room_id, 'call-20250101-0123456789ab')
  t.equal(room.room_id_type, 'string')
  t.equal(room.user_id, 'device_1')
  t.equal(verifyUserSig(room.user_sig, SECRET).identifier, 'device_1')
})

t.test('an altered UserSig fails verification', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const { user_sig: sig } = signer.userSig('resident_2')
  const doc = decodeUserSig(sig)

  t.throws(() => verifyUserSig(encodeUserSig({ ...doc, 'TLS.identifier': 'resident_3' }), SECRET), /signature mismatch/)
  t.throws(() => verifyUserSig(encodeUserSig({ ...doc, 'TLS.expire': EXPIRE * 10 }), SECRET), /signature mismatch/)
  t.throws(() => verifyUserSig(encodeUserSig({ ...doc, 'TLS.sdkappid': SDK_APP_ID + 1 }), SECRET), /signature mismatch/)
  const sigValue = String(doc['TLS.sig'])
  const flipped = (sigValue[0] === 'A' ? 'B' : 'A') + sigValue.slice(1)
  t.throws(() => verifyUserSig(encodeUserSig({ ...doc, 'TLS.sig': flipped }), SECRET), /signature mismatch/)
  t.throws(() => verifyUserSig(sig.slice(0, -4), SECRET), 'a truncated UserSig is refused')
})

t.test('a UserSig made with another key fails verification', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const foreign = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: 'someone-else-s-key', expireSeconds: EXPIRE })
  t.throws(() => verifyUserSig(signer.userSig('device_1').user_sig, 'someone-else-s-key'), /signature mismatch/)
  t.throws(() => verifyUserSig(foreign.userSig('device_1').user_sig, SECRET), /signature mismatch/)
})

t.test('the secret key never leaves the signer', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const credentials = createCredentials({ trtc: { sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE } })
  for (const value of [signer, credentials]) {
    t.notMatch(JSON.stringify(value), SECRET)
    t.notMatch(inspect(value, { showHidden: true, depth: Infinity, getters: true }), SECRET)
  }
  t.ok(Object.isFrozen(signer), 'nobody can swap the methods')
  const refusals = [
    () => signer.userSig('x'.repeat(33)),
    () => createTrtcSigner({ sdkAppId: 0, secretKey: SECRET, expireSeconds: EXPIRE }),
    () => createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: 0 })
  ]
  for (const refuse of refusals) {
    try {
      refuse()
      t.fail('should have thrown')
    } catch (err) {
      t.notMatch(String((err as Error).message), SECRET)
      t.notMatch(String((err as Error).stack), SECRET)
    }
  }
})

t.test('user ids Tencent would refuse are refused with invalid_request', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  for (const userId of ['', 'x'.repeat(33), 'device 1', 'résident_2', 'a/b']) {
    t.throws(() => signer.userSig(userId), { name: 'IntercomError', code: 'invalid_request' }, JSON.stringify(userId))
  }
  t.equal(verifyUserSig(signer.userSig('x'.repeat(32)).user_sig, SECRET).identifier, 'x'.repeat(32))
})

t.test('a misconfigured signer fails at creation with internal', async (t) => {
  const bad = [
    { sdkAppId: -1, secretKey: SECRET, expireSeconds: EXPIRE },
    { sdkAppId: 1.5, secretKey: SECRET, expireSeconds: EXPIRE },
    { sdkAppId: SDK_APP_ID, secretKey: '', expireSeconds: EXPIRE },
    { sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: -60 }
  ]
  for (const options of bad) {
    t.throws(() => createTrtcSigner(options), { name: 'IntercomError', code: 'internal' })
  }
})

t.test('forCall gives devices and residents their own TRTC credentials for the call', async (t) => {
  const credentials = createCredentials({ trtc: { sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE } })
  const callId = 'call-20250101-0123456789ab'
  for (const who of [identity('device', '1'), identity('resident', '2')]) {
    const given = credentials.forCall('trtc', who, callId)
    if (given === null || !('tencen_rtc' in given)) throw new Error('expected tencen_rtc')
    t.equal(given.tencen_rtc.user_id, rtcUserId(who))
    t.equal(given.tencen_rtc.room_id, callId)
    t.equal(verifyUserSig(given.tencen_rtc.user_sig, SECRET).identifier, `${who.kind}_${who.id}`)
  }
  t.equal(credentials.forCall('trtc', identity('service', 'ops'), callId), null, 'a service has no media identity')
  t.equal(credentials.forCall('trtc', identity('client', 'meter-gw'), callId), null, 'nor has a client')
  t.equal(credentials.rtc, null)
  t.throws(() => credentials.forCall('rtc', identity('device', '1'), callId),
    { name: 'IntercomError', code: 'provider_not_configured', statusCode: 503 })
})

t.test('rtcUserId names devices and residents only', async (t) => {
  t.equal(rtcUserId(identity('device', 'door-7')), 'device_door-7')
  t.equal(rtcUserId(identity('resident', 'r_9')), 'resident_r_9')
  t.equal(rtcUserId(identity('service', 'ops')), null)
  t.equal(rtcUserId(identity('client', 'gw')), null)
})

t.test('TRTC options from the configuration: configured, demo, or none', async (t) => {
  const base = { TRTC_USERSIG_EXPIRE: 600, AGORA_TOKEN_EXPIRE: 600 }
  const configured = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: true, TRTC_SDK_APP_ID: SDK_APP_ID, TRTC_SECRET_KEY: SECRET })
  t.same(configured.options.trtc, { sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: 600 })
  t.notOk(configured.demo.includes('trtc'))

  const demo = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: true })
  t.same(demo.options.trtc, { sdkAppId: DEMO_TRTC_SDK_APP_ID, secretKey: DEMO_TRTC_SECRET_KEY, expireSeconds: 600 })
  t.ok(demo.demo.includes('trtc'), 'start-up is told to warn')
  t.ok(isDemoTrtc(DEMO_TRTC_SDK_APP_ID, SECRET) && isDemoTrtc(SDK_APP_ID, DEMO_TRTC_SECRET_KEY))
  t.notOk(isDemoTrtc(SDK_APP_ID, SECRET))

  const none = credentialOptionsFromConfig({ ...base, DEMO_CREDENTIALS: false })
  t.equal(none.options.trtc, null)
  t.equal(createCredentials(none.options).trtc, null)
})

t.test('a UserSig serves every room of its user while half its lifetime is left', async (t) => {
  const signer = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: EXPIRE })
  const first = signer.forRoom('resident_2', 'call-a')
  const second = signer.forRoom('resident_2', 'call-b')
  t.equal(second.user_sig, first.user_sig, 'the same user reuses its UserSig')
  t.equal(second.room_id, 'call-b', 'in the room of each call')
  t.not(signer.forRoom('resident_3', 'call-a').user_sig, first.user_sig, 'another user has its own')
  t.equal(verifyUserSig(second.user_sig, SECRET).identifier, 'resident_2')

  const shortLived = createTrtcSigner({ sdkAppId: SDK_APP_ID, secretKey: SECRET, expireSeconds: 1 })
  const early = shortLived.userSig('device_1')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.not(shortLived.userSig('device_1').user_sig, early.user_sig, 'past half its lifetime it is signed again')
})

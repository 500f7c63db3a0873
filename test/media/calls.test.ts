import t from 'tap'
import { DEMO_AGORA_APP_CERTIFICATE, DEMO_AGORA_APP_ID, DEMO_TRTC_SDK_APP_ID, DEMO_TRTC_SECRET_KEY } from '../../config/demo-credentials'
import { request } from '../helpers/http'
import { connect, type Received, type TestClient } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { flush } from '../helpers/wait'
import { PRIVILEGE, verifyRtcToken } from '../helpers/verify-rtc-token'
import { verifyUserSig } from '../helpers/verify-usersig'

/** Lifetimes other than the defaults, to see that the configuration reaches the credentials. */
const USERSIG_EXPIRE = 600
const TOKEN_EXPIRE = 900
const ENV = { TRTC_USERSIG_EXPIRE: String(USERSIG_EXPIRE), AGORA_TOKEN_EXPIRE: String(TOKEN_EXPIRE) }

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

interface Parties {
  httpUrl: string
  mqttUrl: string
  device: TestClient
  residents: Record<string, TestClient>
  /** Seconds since epoch before anything was signed. */
  before: number
}

/** A node, device 1 and residents 2, 3 and 4 over MQTT, each subscribed to its own topics. */
async function parties (t: tap.Test): Promise<Parties> {
  const { mqttUrl, httpUrl } = await startTestNode(t, ENV)
  const device = await connect(t, mqttUrl, 'device/1')
  await device.subscribe('devices/1/#')
  const residents: Record<string, TestClient> = {}
  for (const id of ['2', '3', '4']) {
    residents[id] = await connect(t, mqttUrl, `resident/${id}`)
    await residents[id].subscribe(`users/${id}/#`)
  }
  return { httpUrl, mqttUrl, device, residents, before: nowSeconds() }
}

function control (action: string, callId?: string) {
  return (m: Received) => m.topic.endsWith('/calls/control') && m.json.action === action && (callId === undefined || m.json.call_id === callId)
}

function invite (residentId: string, callId: string) {
  return (m: Received) => m.topic === `users/${residentId}/calls/incoming` && m.json.call_id === callId
}

/** A TencentRtc object the independent verifier accepts for that user in that room. */
function checkTencentRtc (t: tap.Test, value: unknown, userId: string, callId: string, before: number): void {
  const rtc = value as Record<string, unknown>
  t.same(Object.keys(rtc).sort(), ['room_id', 'room_id_type', 'sdk_app_id', 'user_id', 'user_sig'], `${userId}: TRTC fields`)
  t.equal(rtc.sdk_app_id, DEMO_TRTC_SDK_APP_ID)
  t.equal(rtc.room_id, callId, `${userId}: the room is the call`)
  t.equal(rtc.room_id_type, 'string')
  t.equal(rtc.user_id, userId)
  const fields = verifyUserSig(String(rtc.user_sig), DEMO_TRTC_SECRET_KEY)
  t.equal(fields.identifier, userId, `${userId}: the UserSig is signed for this user`)
  t.equal(fields.sdkAppId, DEMO_TRTC_SDK_APP_ID)
  t.equal(fields.expire, USERSIG_EXPIRE, `${userId}: TRTC_USERSIG_EXPIRE`)
  t.ok(fields.time >= before && fields.time <= nowSeconds(), `${userId}: issued during the call`)
}

/** An Rtc object the independent verifier accepts for that user in that channel. */
function checkRtc (t: tap.Test, value: unknown, userId: string, callId: string, before: number): void {
  const rtc = value as Record<string, unknown>
  t.same(Object.keys(rtc).sort(), ['app_id', 'channel_id', 'token', 'user_id'], `${userId}: RTC fields`)
  t.equal(rtc.app_id, DEMO_AGORA_APP_ID)
  t.equal(rtc.channel_id, callId, `${userId}: the channel is the call`)
  t.equal(rtc.user_id, userId)
  const fields = verifyRtcToken(String(rtc.token), DEMO_AGORA_APP_CERTIFICATE)
  t.equal(fields.appId, DEMO_AGORA_APP_ID)
  t.equal(fields.expire, TOKEN_EXPIRE, `${userId}: AGORA_TOKEN_EXPIRE`)
  t.ok(fields.issueTs >= before && fields.issueTs <= nowSeconds(), `${userId}: issued during the call`)
  t.same(fields.services.map((s) => [s.channel, s.user]), [[callId, userId]], `${userId}: the token is for this user in this channel`)
  t.equal(fields.services[0]?.privileges[PRIVILEGE.JOIN_CHANNEL], TOKEN_EXPIRE)
  t.equal(fields.services[0]?.privileges[PRIVILEGE.PUBLISH_VIDEO], TOKEN_EXPIRE)
}

t.test('a trtc call: every invite and the device\'s ringing carry that party\'s UserSig for the call\'s room', async (t) => {
  const { httpUrl, device, residents, before } = await parties(t)
  await device.publish('calls/request/1', { request_id: 'trtc-1' })

  const ringing = (await device.waitFor(control('ringing'))).json
  const callId = String(ringing.call_id)
  t.match(callId, /^call-\d{8}-[0-9a-f]{12,}$/)
  t.equal(ringing.status, 'ringing')
  checkTencentRtc(t, ringing.tencen_rtc, 'device_1', callId, before)
  const session = ringing.session as Record<string, unknown>
  t.equal(session.provider, 'trtc')
  t.same(session.tencen_rtc, ringing.tencen_rtc, 'the session in ringing carries the same credentials')
  t.notOk('rtc' in ringing || 'rtc' in session, 'no credentials of the other provider')

  for (const id of ['2', '3', '4']) {
    const message = (await residents[id]!.waitFor(invite(id, callId))).json
    t.equal(message.target_resident_id, id)
    t.equal(message.provider, 'trtc')
    checkTencentRtc(t, message.tencen_rtc, `resident_${id}`, callId, before)
    t.notOk('rtc' in message)
  }

  await residents['2']!.publish('users/2/calls/action', { call_id: callId, action: 'answered' })
  t.equal((await device.waitFor(control('answered', callId))).json.resident_id, '2')
  t.equal((await residents['3']!.waitFor(control('cancelled', callId))).json.reason, 'answered_elsewhere')

  const read = await request(httpUrl, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'resident/2' })
  t.equal(read.body.data.status, 'connected')
  checkTencentRtc(t, read.body.data.tencen_rtc, 'resident_2', callId, before)

  await device.publish('devices/1/calls/action', { call_id: callId, action: 'hangup' })
  const hangup = (await residents['2']!.waitFor(control('hangup', callId))).json
  t.equal(hangup.status, 'ended')
})

t.test('an rtc call: the invite and the device\'s ringing carry that party\'s token for the call\'s channel', async (t) => {
  const { httpUrl, mqttUrl, device, residents, before } = await parties(t)
  const started = await request(httpUrl, 'POST', '/api/rtc/call', { as: 'device/1', body: { device_id: '1', resident_id: '4' } })
  t.equal(started.status, 200)
  const callId = String(started.body.data.call_id)
  t.equal(started.body.data.provider, 'rtc')
  t.same(started.body.data.target_resident_ids, ['4'])
  checkRtc(t, started.body.data.rtc, 'device_1', callId, before)

  const ringing = (await device.waitFor(control('ringing', callId))).json
  checkRtc(t, ringing.rtc, 'device_1', callId, before)
  t.equal((ringing.session as Record<string, unknown>).provider, 'rtc')
  t.notOk('tencen_rtc' in ringing, 'no credentials of the other provider')

  const message = (await residents['4']!.waitFor(invite('4', callId))).json
  t.equal(message.provider, 'rtc')
  t.same(message.target_resident_ids, ['4'])
  checkRtc(t, message.rtc, 'resident_4', callId, before)
  t.notOk('tencen_rtc' in message)

  await residents['4']!.publish('users/4/calls/action', { call_id: callId, action: 'answered' })
  t.equal((await device.waitFor(control('answered', callId))).json.resident_id, '4')

  const fresh = await request(httpUrl, 'POST', '/api/rtc/token', { as: 'resident/4', body: { user_id: 'resident_4', channel_id: callId } })
  t.equal(fresh.status, 200, 'the answerer may renew its token')
  checkRtc(t, { app_id: fresh.body.data.app_id, channel_id: fresh.body.data.channel_id, user_id: fresh.body.data.user_id, token: fresh.body.data.token }, 'resident_4', callId, before)

  await residents['4']!.publish('users/4/calls/action', { call_id: callId, action: 'hangup' })
  const hangup = (await device.waitFor(control('hangup', callId))).json
  t.equal(hangup.status, 'ended')

  await flush(await connect(t, mqttUrl, 'service/ops'), residents['2']!, residents['3']!)
  for (const id of ['2', '3']) {
    t.same(residents[id]!.messages.filter((m) => m.json.call_id === callId), [], `resident ${id} was not rung`)
  }
})

t.test('a device asks for an rtc call over MQTT with provider: every party gets its RTC token', async (t) => {
  const { device, residents, before } = await parties(t)
  await device.publish('calls/request/1', { household_number: '101', provider: 'rtc' })
  const ringing = (await device.waitFor(control('ringing'))).json
  const callId = String(ringing.call_id)
  t.equal((ringing.session as Record<string, unknown>).provider, 'rtc')
  checkRtc(t, ringing.rtc, 'device_1', callId, before)
  for (const id of ['2', '3']) {
    const message = (await residents[id]!.waitFor(invite(id, callId))).json
    checkRtc(t, message.rtc, `resident_${id}`, callId, before)
  }
  await device.publish('calls/request/1', { provider: 'jitsi' })
  t.match((await device.waitFor((m) => m.topic === 'devices/1/calls/error')).json, { error: 'invalid_request', message: /provider/ })
})

import t from 'tap'
import { CALL_ID_PATTERN } from '../../lib/calls/call-id'
import type { Received, TestClient } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { actHttp, actMqtt, callHttp, callMqtt, getSession, lines, session, startScene, waitAction, waitEnded, type Scene } from './helpers'

type Test = tap.Test

/** What every resident's invite carries, with its own credentials. */
function checkInvite (t: Test, invite: Received, residentId: string, callId: string, targets: string[]): void {
  const m = invite.json as Record<string, any>
  t.equal(m.call_id, callId, `invite ${residentId}: call_id`)
  t.equal(m.device_device_id, '1')
  t.equal(m.target_resident_id, residentId, 'target_resident_id is the recipient')
  t.same(m.target_resident_ids, targets)
  t.type(m.timestamp, 'number')
  t.ok(m.expires_at > m.timestamp, 'expires_at is after the start')
  t.equal(m.seq, 1)
  t.match(m.call_info, { call_id: callId, action: 'ringing' })
  t.match(m.tencen_rtc, { room_id: callId, room_id_type: 'string', user_id: `resident_${residentId}` })
  t.type(m.tencen_rtc.user_sig, 'string')
  t.type(m.tencen_rtc.sdk_app_id, 'number')
}

/** The device's first control: `ringing`, with the session and the device's own credentials. */
function checkRinging (t: Test, ringing: Received, callId: string, targets: string[]): void {
  const m = ringing.json as Record<string, any>
  t.match(m, { action: 'ringing', call_id: callId, status: 'ringing', seq: 1 })
  t.match(m.session, { call_id: callId, status: 'ringing', device_device_id: '1', target_resident_ids: targets, seq: 1 })
  t.match(m.tencen_rtc, { room_id: callId, user_id: 'device_1' })
  t.match(m.session.tencen_rtc, { room_id: callId, user_id: 'device_1' })
}

/** Waits for the invites and the ringing, and checks them. */
async function checkStart (t: Test, scene: Scene, callId: string, targets: string[]): Promise<void> {
  checkRinging(t, await waitAction(scene.device, 'devices/1/calls/control', 'ringing', callId), callId, targets)
  for (const r of targets) {
    const client = scene.residents[r] as TestClient
    checkInvite(t, await client.waitFor((m) => m.topic === `users/${r}/calls/incoming`), r, callId, targets)
  }
}

/** Flushes every party's messages, then compares everything each received. */
async function checkAll (t: Test, scene: Scene, expected: { device: string[], service: string[], residents: Record<string, string[]> }): Promise<void> {
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.same(lines(scene.device), expected.device, 'device 1 got exactly these')
  for (const [r, client] of Object.entries(scene.residents)) {
    t.same(lines(client), expected.residents[r] ?? [], `resident ${r} got exactly these`)
  }
  t.same(lines(scene.service), expected.service, 'the service got exactly these events')
}

function historyOf (s: Record<string, any>): string[] {
  return (s.history as Array<Record<string, unknown>>).map((h) => `${String(h.action)} ${String(h.actor)} #${String(h.seq)}`)
}

t.test('a full call over HTTP: ring all, answer, unlock, device hangs up', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const started = await callHttp(base)
  const callId = started.call_id as string
  t.match(callId, new RegExp(CALL_ID_PATTERN))
  t.match(started, { status: 'ringing', provider: 'trtc', device_device_id: '1', target_resident_ids: ['2', '3', '4'], resident_id: null, seq: 1 })
  t.match(started.tencen_rtc, { room_id: callId, user_id: 'device_1' }, 'the device gets its own credentials')
  await checkStart(t, scene, callId, ['2', '3', '4'])

  const answered = await actHttp(base, 'resident/3', callId, 'answered')
  t.equal(answered.status, 200)
  t.match(answered.body.data, { status: 'connected', resident_id: '3', seq: 2 })
  t.match(answered.body.data.tencen_rtc, { room_id: callId, user_id: 'resident_3' }, 'the answerer gets its own credentials')
  t.equal((await actHttp(base, 'resident/3', callId, 'unlock')).status, 200)
  const unlock = await waitAction(scene.device, 'devices/1/calls/control', 'unlock')
  t.match(unlock.json, { call_id: callId, status: 'connected', resident_id: '3', seq: 3 }, 'the unlock reaches the device')
  const hangup = await actHttp(base, 'device/1', callId, 'hangup')
  t.match(hangup.body.data, { status: 'ended', end_reason: 'hangup', ended_by: 'device/1', seq: 4 })
  await waitEnded(scene.service, callId)

  await checkAll(t, scene, {
    device: ['control ringing #1', 'control answered r=3 #2', 'control unlock r=3 #3', 'control hangup r=3 #4'],
    residents: {
      2: ['incoming #1', 'control cancelled reason=answered_elsewhere r=3 #2'],
      3: ['incoming #1', 'control answered r=3 #2', 'control hangup r=3 #4'],
      4: ['incoming #1', 'control cancelled reason=answered_elsewhere r=3 #2']
    },
    service: ['events ringing by=device/1 #1', 'events answered by=resident/3 #2', 'events unlock by=resident/3 #3', 'events hangup by=device/1 #4']
  })

  const ended = await session(base, callId)
  t.same(historyOf(ended), ['ringing device/1 #1', 'answered resident/3 #2', 'unlock resident/3 #3', 'hangup device/1 #4'], 'history records every transition')
  t.match(ended, { status: 'ended', end_reason: 'hangup', ended_by: 'device/1', resident_id: '3', seq: 4, call_info: { action: 'hangup' } })
  t.same(ended.legs, [{ resident_id: '2', state: 'cancelled', delivery: 'online' }, { resident_id: '3', state: 'answered', delivery: 'online' }, { resident_id: '4', state: 'cancelled', delivery: 'online' }])
  t.ok(ended.start_time <= ended.answer_time && ended.answer_time <= ended.end_time, 'start, answer and end times in order')

  t.test('the ended call stays readable by its parties; credentials only for those who were in it', async (t) => {
    for (const [as, userId] of [['device/1', 'device_1'], ['resident/3', 'resident_3']] as const) {
      const read = await getSession(base, as, callId)
      t.equal(read.status, 200, `${as} reads it`)
      t.match(read.body.data, { call_id: callId, status: 'ended', tencen_rtc: { user_id: userId } })
    }
    const cancelled = await getSession(base, 'resident/2', callId)
    t.equal(cancelled.status, 200, 'resident/2, whose leg was cancelled, reads the outcome')
    t.equal(cancelled.body.data.tencen_rtc, undefined, 'but gets no credentials')
    const stranger = await getSession(base, 'resident/6', callId)
    t.match(stranger, { status: 403, body: { error: 'forbidden' } }, 'a resident it never rang may not read it')
    const otherDevice = await getSession(base, 'device/5', callId)
    t.match(otherDevice, { status: 403, body: { error: 'forbidden' } }, 'nor may another device')
    const unknown = await getSession(base, 'resident/2', 'call-20240101-0123456789abcdef')
    t.match(unknown, { status: 404, body: { code: 404, error: 'call_not_found', data: null } })
  })
})

t.test('a full call over MQTT: household ring, one rejects, the other answers and hangs up', async (t) => {
  const scene = await startScene(t)
  const { device, residents } = scene
  const r2 = residents['2'] as TestClient
  const r3 = residents['3'] as TestClient
  const callId = await callMqtt(device, { household_number: '101' })
  await checkStart(t, scene, callId, ['2', '3'])

  await actMqtt(r2, 'resident/2', callId, 'rejected', { reason: 'not home' })
  await waitAction(device, 'devices/1/calls/control', 'rejected')
  t.equal((await session(scene.node.httpUrl, callId)).status, 'ringing', 'one rejection with another leg ringing keeps ringing')
  await actMqtt(r3, 'resident/3', callId, 'answered')
  await waitAction(device, 'devices/1/calls/control', 'answered')
  await actMqtt(r3, 'resident/3', callId, 'hangup')
  await waitEnded(scene.service, callId)

  await checkAll(t, scene, {
    device: ['control ringing #1', 'control rejected reason=not home r=2 #2', 'control answered r=3 #3', 'control hangup r=3 #4'],
    residents: {
      2: ['incoming #1', 'control rejected reason=not home r=2 #2'],
      3: ['incoming #1', 'control answered r=3 #3', 'control hangup r=3 #4']
    },
    service: ['events ringing by=device/1 #1', 'events rejected reason=not home by=resident/2 #2', 'events answered by=resident/3 #3', 'events hangup by=resident/3 #4']
  })
  const ended = await session(scene.node.httpUrl, callId)
  t.match(ended, { household_number: '101', end_reason: 'hangup', ended_by: 'resident/3', resident_id: '3' })
  t.same(ended.legs, [{ resident_id: '2', state: 'rejected', delivery: 'online' }, { resident_id: '3', state: 'answered', delivery: 'online' }])
  t.same(historyOf(ended), ['ringing device/1 #1', 'rejected resident/2 #2', 'answered resident/3 #3', 'hangup resident/3 #4'])
})

t.test('mixed: the device calls over MQTT, the resident answers over HTTP', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = await callMqtt(scene.device, { target_resident_id: '4', timestamp: 1_700_000_000_000 })
  await checkStart(t, scene, callId, ['4'])
  const invite = await (scene.residents['4'] as TestClient).waitFor((m) => m.topic === 'users/4/calls/incoming')
  t.equal((invite.json.call_info as Record<string, unknown>).timestamp, 1_700_000_000_000, 'call_info echoes the device\'s own timestamp')

  t.equal((await actHttp(base, 'resident/4', callId, 'answered')).status, 200)
  t.equal((await actHttp(base, 'resident/4', callId, 'unlock')).status, 200)
  await waitAction(scene.device, 'devices/1/calls/control', 'unlock')
  await actMqtt(scene.device, 'device/1', callId, 'hangup')
  await waitEnded(scene.service, callId)

  await checkAll(t, scene, {
    device: ['control ringing #1', 'control answered r=4 #2', 'control unlock r=4 #3', 'control hangup r=4 #4'],
    residents: { 4: ['incoming #1', 'control answered r=4 #2', 'control hangup r=4 #4'] },
    service: ['events ringing by=device/1 #1', 'events answered by=resident/4 #2', 'events unlock by=resident/4 #3', 'events hangup by=device/1 #4']
  })
  t.same((await session(base, callId)).target_resident_ids, ['4'], 'target_resident_id rings that resident alone')
})

t.test('mixed the other way, over WebSocket: the device calls over HTTP, a resident answers over MQTT', async (t) => {
  const scene = await startScene(t, { websocket: true })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const started = await callHttp(base)
  const callId = started.call_id as string
  await checkStart(t, scene, callId, ['2', '3', '4'])

  await actMqtt(r2, 'resident/2', callId, 'answered')
  await waitAction(scene.device, 'devices/1/calls/control', 'answered')
  await actMqtt(r2, 'resident/2', callId, 'unlock')
  await waitAction(scene.device, 'devices/1/calls/control', 'unlock')
  await actMqtt(r2, 'resident/2', callId, 'hangup', { reason: 'bye' })
  await waitEnded(scene.service, callId)

  const cancelled = 'control cancelled reason=answered_elsewhere r=2 #2'
  await checkAll(t, scene, {
    device: ['control ringing #1', 'control answered r=2 #2', 'control unlock r=2 #3', 'control hangup reason=bye r=2 #4'],
    residents: {
      2: ['incoming #1', 'control answered r=2 #2', 'control hangup reason=bye r=2 #4'],
      3: ['incoming #1', cancelled],
      4: ['incoming #1', cancelled]
    },
    service: ['events ringing by=device/1 #1', 'events answered by=resident/2 #2', 'events unlock by=resident/2 #3', 'events hangup reason=bye by=resident/2 #4']
  })
  t.match(await session(base, callId), { end_reason: 'hangup', ended_by: 'resident/2', call_info: { action: 'hangup', reason: 'bye' } })
})

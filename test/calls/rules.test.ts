import path from 'node:path'
import t from 'tap'
import { request } from '../helpers/http'
import { connect, settle, type TestClient } from '../helpers/mqtt'
import { flush, until } from '../helpers/wait'
import { DEMO_DIRECTORY, startTestNode } from '../helpers/node'
import { actHttp, actMqtt, callHttp, callMqtt, clear, getSession, lines, party, session, startScene, waitAction, waitEnded } from './helpers'

const UNKNOWN_CALL = 'call-20240101-0123456789abcdef'

const endSession = (base: string, as: string, callId: string) =>
  request(base, 'POST', '/api/mqtt/end-session', { as, body: { call_id: callId } })

t.test('every target rejects: the call ends rejected', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  t.match((await actHttp(base, 'resident/2', callId, 'rejected')).body.data, { status: 'ringing', seq: 2 })
  t.match((await actHttp(base, 'resident/3', callId, 'timeout')).body.data, { status: 'ended', end_reason: 'rejected', ended_by: 'resident/3', seq: 3 },
    'rejected when any leg rejected, even if the last one timed out')
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.residents['2'] as TestClient, scene.residents['3'] as TestClient)
  t.same(lines(scene.device), ['control ringing #1', 'control rejected r=2 #2', 'control timeout r=3 #3'])
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control rejected r=2 #2'])
  t.same(lines(scene.residents['3'] as TestClient), ['incoming #1', 'control timeout r=3 #3'])

  const second = (await callHttp(base, { household_number: '101' })).call_id as string
  await actHttp(base, 'resident/2', second, 'timeout')
  t.match((await actHttp(base, 'resident/3', second, 'timeout')).body.data, { status: 'ended', end_reason: 'timeout' }, 'timeout when every leg gave up')
})

t.test('the device cancels while ringing', async (t) => {
  const scene = await startScene(t)
  const callId = await callMqtt(scene.device)
  await actMqtt(scene.device, 'device/1', callId, 'cancelled')
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.residents['2'] as TestClient, scene.residents['3'] as TestClient, scene.residents['4'] as TestClient)
  t.same(lines(scene.device), ['control ringing #1', 'control cancelled #2'])
  for (const r of ['2', '3', '4']) t.same(lines(scene.residents[r] as TestClient), ['incoming #1', 'control cancelled #2'], `resident ${r} stops ringing`)
  const ended = await session(scene.node.httpUrl, callId)
  t.match(ended, { status: 'ended', end_reason: 'cancelled', ended_by: 'device/1' })
  t.same(ended.legs.map((l: { state: string }) => l.state), ['cancelled', 'cancelled', 'cancelled'])
})

t.test('an ended call stays readable for CALL_RETENTION_MS, then is gone', async (t) => {
  // Long enough that two local requests never take it, however loaded the machine.
  const retentionMs = 3000
  const scene = await startScene(t, { env: { CALL_RETENTION_MS: String(retentionMs) } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  const endedBefore = Date.now()
  await actHttp(base, 'device/1', callId, 'cancelled')
  t.match(await session(base, callId), { status: 'ended', end_reason: 'cancelled' }, 'readable once ended')
  t.equal((await callHttp(base, { target_resident_id: '2' })).status, 'ringing', 'the device is free at once')
  const gone = await until(async () => {
    const read = await request(base, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'service/ops' })
    return read.status === 404 ? read : null
  }, { what: 'the ended call to be dropped', timeoutMs: retentionMs + 20_000 })
  t.ok(Date.now() - endedBefore >= retentionMs, 'not before its retention')
  t.equal(gone.body.error, 'call_not_found', 'past its retention')
})

t.test('a device with an active call is busy, over HTTP and MQTT', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  await waitAction(scene.device, 'devices/1/calls/control', 'ringing')
  const again = await request(base, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1' } })
  t.match(again, { status: 409, body: { code: 409, error: 'device_busy', data: null } })
  t.match(again.body.message, /end it first/)
  await scene.device.publish('calls/request/1', { request_id: 'second' })
  const refusal = await scene.device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.match(refusal.json, { request_id: 'second', error: 'device_busy' })
  await actHttp(base, 'resident/2', callId, 'answered')
  t.equal((await request(base, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1' } })).body.error, 'device_busy', 'busy while connected too')
  await flush(scene.service, scene.device, scene.residents['3'] as TestClient, scene.residents['4'] as TestClient)
  t.same(lines(scene.device), ['control ringing #1', 'error device_busy', 'control answered r=2 #2'], 'the refused calls rang nobody')
  for (const r of ['3', '4']) t.same(lines(scene.residents[r] as TestClient), [], `resident ${r} was never rung`)
})

t.test('a resident in a connected call is skipped; all busy is 409 residents_busy', async (t) => {
  // Device 5 also serves household 102 (resident 4), so two doors share a resident.
  const directory = JSON.parse(await import('node:fs/promises').then((fs) => fs.readFile(DEMO_DIRECTORY, 'utf8')))
  directory.devices[1].households = ['201', '102']
  const dir = t.testdir({ 'directory.json': JSON.stringify(directory) })
  const node = await startTestNode(t, { INTERCOM_DIRECTORY: path.join(dir, 'directory.json') })
  const base = node.httpUrl
  const door5 = await party(t, node.mqttUrl, 'device/5', 'devices/5/#')
  const r4 = await party(t, node.mqttUrl, 'resident/4', 'users/4/#')
  const r6 = await party(t, node.mqttUrl, 'resident/6', 'users/6/#')

  const first = (await callHttp(base, { target_resident_id: '4' })).call_id as string
  t.equal((await actHttp(base, 'resident/4', first, 'answered')).status, 200)
  const busy = await request(base, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_id: '5', household_number: '102' } })
  t.match(busy, { status: 409, body: { error: 'residents_busy' } })
  await door5.publish('calls/request/5', { request_id: 'busy', household_number: '102' })
  t.match((await door5.waitFor((m) => m.topic === 'devices/5/calls/error')).json, { request_id: 'busy', error: 'residents_busy' })

  const second = await request(base, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_id: '5' } })
  t.equal(second.status, 200, 'rings the free residents')
  const callId = second.body.data.call_id as string
  t.same(second.body.data.target_resident_ids, ['6', '4'])
  t.same(second.body.data.legs, [{ resident_id: '6', state: 'ringing', delivery: 'online' }, { resident_id: '4', state: 'busy' }])
  await r6.waitFor((m) => m.topic === 'users/6/calls/incoming' && m.json.call_id === callId)
  t.match(await actHttp(base, 'resident/4', callId, 'answered'), { status: 403, body: { error: 'forbidden' } }, 'a busy leg may not act')
  t.match(await getSession(base, 'resident/4', callId), { status: 403, body: { error: 'forbidden' } }, 'a busy resident may not read the call')
  t.match(await endSession(base, 'resident/4', callId), { status: 403, body: { error: 'forbidden' } }, 'nor end it')
  t.equal((await session(base, callId)).status, 'ringing', 'the call rings on')
  await flush(await connect(t, node.mqttUrl, 'service/ops'), r4)
  t.same(r4.messages.filter((m) => m.json.call_id === callId), [], 'the busy resident gets no invite')
})

t.test('a resident whose leg ended reads the outcome, but gets no media and cannot end the live call', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)

  const read = await getSession(base, 'resident/3', callId)
  t.equal(read.status, 200, 'resident 3 (cancelled: answered elsewhere) reads the call')
  t.match(read.body.data, { status: 'connected', legs: [{ resident_id: '2', state: 'answered' }, { resident_id: '3', state: 'cancelled' }] })
  t.equal(read.body.data.tencen_rtc, undefined, 'no credentials for the live room')
  t.equal(read.body.data.rtc, undefined)
  const token = await request(base, 'POST', '/api/rtc/token', { as: 'resident/3', body: { user_id: 'resident_3', channel_id: callId } })
  t.match(token, { status: 403, body: { error: 'forbidden' } }, 'no RTC token for the call\'s channel either')
  t.match(await endSession(base, 'resident/3', callId), { status: 403, body: { error: 'forbidden' } }, 'and it cannot end the call')
  t.match(await session(base, callId), { status: 'connected', seq: 2 }, 'the conversation goes on')

  const answerer = await getSession(base, 'resident/2', callId)
  t.match(answerer.body.data.tencen_rtc, { user_id: 'resident_2', room_id: callId }, 'the answerer keeps its credentials')
  const own = await request(base, 'POST', '/api/rtc/token', { as: 'resident/2', body: { user_id: 'resident_2', channel_id: callId } })
  t.equal(own.status, 200, 'and gets a token')
  t.equal((await endSession(base, 'resident/2', callId)).status, 200, 'the answerer may end it')
  t.match(await getSession(base, 'resident/3', callId), { status: 200, body: { data: { status: 'ended', end_reason: 'forced' } } }, 'resident 3 reads the ended outcome')
})

t.test('refusals: unknown call, wrong party, service without resident_id', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const door5 = await party(t, scene.node.mqttUrl, 'device/5', 'devices/5/#')
  const r6 = await party(t, scene.node.mqttUrl, 'resident/6', 'users/6/#')
  const callId = (await callHttp(base)).call_id as string
  await waitAction(scene.device, 'devices/1/calls/control', 'ringing')

  for (const as of ['device/1', 'resident/2']) {
    const unknown = await actHttp(base, as, UNKNOWN_CALL, as === 'device/1' ? 'cancelled' : 'answered')
    t.match(unknown, { status: 404, body: { error: 'call_not_found' } }, `${as}: unknown call`)
  }
  t.match(await request(base, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: UNKNOWN_CALL } }), { status: 404, body: { error: 'call_not_found' } })
  await actMqtt(scene.residents['2'] as TestClient, 'resident/2', UNKNOWN_CALL, 'answered', { request_id: 'r-404' })
  t.match((await (scene.residents['2'] as TestClient).waitFor((m) => m.topic === 'users/2/calls/error')).json,
    { request_id: 'r-404', call_id: UNKNOWN_CALL, error: 'call_not_found' })

  t.match(await actHttp(base, 'device/5', callId, 'cancelled'), { status: 403, body: { error: 'forbidden' } }, 'device 5 on device 1\'s call')
  t.match(await actHttp(base, 'resident/6', callId, 'answered'), { status: 403, body: { error: 'forbidden' } }, 'resident 6 on a call that never rang it')
  t.match(await actHttp(base, 'resident/2', callId, 'answered', { resident_id: '3' }), { status: 403, body: { error: 'forbidden' } }, 'resident 2 for resident 3')
  t.match(await actHttp(base, 'resident/2', callId, 'cancelled'), { status: 409, body: { error: 'invalid_transition' } }, 'a resident cannot cancel')
  t.match(await actHttp(base, 'resident/2', callId, 'hangup'), { status: 409, body: { error: 'invalid_transition' } }, 'hangup while ringing is not a decline')
  await actMqtt(door5, 'device/5', callId, 'cancelled')
  t.match((await door5.waitFor((m) => m.topic === 'devices/5/calls/error')).json, { call_id: callId, error: 'forbidden' })
  await actMqtt(r6, 'resident/6', callId, 'answered')
  t.match((await r6.waitFor((m) => m.topic === 'users/6/calls/error')).json, { call_id: callId, error: 'forbidden' })

  const anonymous = await request(base, 'POST', '/api/mqtt/controller/resident', { as: 'service/ops', body: { call_info: { call_id: callId, action: 'answered' } } })
  t.match(anonymous, { status: 400, body: { error: 'invalid_request', message: /resident_id/ } }, 'a service must name the resident')
  t.equal((await session(base, callId)).seq, 1, 'no refusal changed the call')

  const forResident = await request(base, 'POST', '/api/mqtt/controller/resident', { as: 'Bearer ops-token', body: { call_info: { call_id: callId, action: 'answered', resident_id: '3' } } })
  t.match(forResident, { status: 200, body: { data: { status: 'connected', resident_id: '3', seq: 2 } } }, 'with resident_id it acts for that resident')
  t.same(forResident.body.data.history.at(-1).actor, 'resident/3')
  const asDevice = await request(base, 'POST', '/api/mqtt/controller/device', { as: 'service/ops', body: { call_id: callId, action: 'hangup' } })
  t.match(asDevice, { status: 200, body: { data: { status: 'ended', ended_by: 'device/1' } } }, 'a service acts as the call\'s device (flat body form)')
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device)
  t.same(lines(scene.device), ['control ringing #1', 'control answered r=3 #2', 'control hangup r=3 #3'], 'refusals sent nothing to the device')
})

t.test('a repeated action changes nothing and notifies nobody', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  await actHttp(base, 'resident/2', callId, 'answered')
  await waitAction(scene.device, 'devices/1/calls/control', 'answered')
  await flush(scene.service, scene.device, scene.service, r2)
  clear(scene.device, scene.service, r2)
  const twice = await actHttp(base, 'resident/2', callId, 'answered')
  t.match(twice, { status: 200, body: { data: { status: 'connected', seq: 2 } } })
  await actMqtt(r2, 'resident/2', callId, 'answered')

  await actHttp(base, 'device/1', callId, 'hangup')
  await waitEnded(scene.service, callId)
  clear(scene.device, scene.service, r2)
  t.match(await actHttp(base, 'device/1', callId, 'hangup'), { status: 200, body: { data: { status: 'ended', seq: 3 } } }, 'a retried hangup succeeds')
  await actMqtt(scene.device, 'device/1', callId, 'hangup')
  t.match(await request(base, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: callId } }), { status: 200, body: { data: { end_reason: 'hangup', seq: 3 } } }, 'end-session on an ended call changes nothing')
  t.match(await actHttp(base, 'resident/2', callId, 'answered'), { status: 200, body: { data: { seq: 3 } } }, 'repeats stay harmless after the end')
  t.match(await actHttp(base, 'resident/2', callId, 'unlock'), { status: 409, body: { error: 'invalid_transition' } }, 'a new action on an ended call is 409')
  await flush(scene.service, scene.device, r2, scene.service)
  t.same([lines(scene.device), lines(r2), lines(scene.service)], [[], [], []], 'nobody was notified of the repeats')
  t.equal((await session(base, callId)).seq, 3)
})

t.test('the ring timeout ends the call once', async (t) => {
  const scene = await startScene(t, { env: { RING_TIMEOUT_MS: '300' } })
  const callId = (await callHttp(scene.node.httpUrl)).call_id as string
  await waitEnded(scene.service, callId)
  // A second firing could only come from a timer due by now: wait out one more timeout, then flush.
  await settle(300)
  await flush(scene.service, scene.device, scene.residents['2'] as TestClient, scene.residents['3'] as TestClient, scene.residents['4'] as TestClient, scene.service)
  t.same(lines(scene.device), ['control ringing #1', 'control timeout #2'])
  for (const r of ['2', '3', '4']) t.same(lines(scene.residents[r] as TestClient), ['incoming #1', 'control timeout #2'])
  t.same(lines(scene.service), ['events ringing by=device/1 #1', 'events timeout by=system #2'])
  const ended = await session(scene.node.httpUrl, callId)
  t.match(ended, { end_reason: 'timeout', ended_by: 'system', seq: 2 })
  t.same(ended.legs.map((l: { state: string }) => l.state), ['timeout', 'timeout', 'timeout'])
})

t.test('the maximum duration ends a connected call once', async (t) => {
  const scene = await startScene(t, { env: { MAX_CALL_MS: '300' } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '3' })).call_id as string
  await actHttp(base, 'resident/3', callId, 'answered')
  await waitEnded(scene.service, callId)
  // A second firing could only come from a timer due by now: wait out one more limit, then flush.
  await settle(300)
  await flush(scene.service, scene.device, scene.residents['3'] as TestClient, scene.service)
  t.same(lines(scene.device), ['control ringing #1', 'control answered r=3 #2', 'control max_duration r=3 #3'])
  t.same(lines(scene.residents['3'] as TestClient), ['incoming #1', 'control answered r=3 #2', 'control max_duration r=3 #3'])
  t.same(lines(scene.service).at(-1), 'events max_duration by=system #3')
  t.match(await session(base, callId), { end_reason: 'max_duration', ended_by: 'system', seq: 3 })
})

t.test('a device that drops off while its call rings ends it: device_offline', async (t) => {
  const scene = await startScene(t)
  const callId = await callMqtt(scene.device)
  scene.device.client.stream.destroy()
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.residents['2'] as TestClient, scene.residents['3'] as TestClient, scene.residents['4'] as TestClient)
  for (const r of ['2', '3', '4']) t.same(lines(scene.residents[r] as TestClient), ['incoming #1', 'control device_offline #2'])
  t.match(await session(scene.node.httpUrl, callId), { end_reason: 'device_offline', ended_by: 'system', seq: 2 })
})

t.test('a device that drops off during a connected call', async (t) => {
  t.test('ends it after OFFLINE_GRACE_MS', async (t) => {
    const scene = await startScene(t, { env: { OFFLINE_GRACE_MS: '300' } })
    const callId = await callMqtt(scene.device, { target_resident_id: '2' })
    await actHttp(scene.node.httpUrl, 'resident/2', callId, 'answered')
    scene.device.client.stream.destroy()
    await waitEnded(scene.service, callId)
    await flush(scene.service, scene.residents['2'] as TestClient)
    t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control answered r=2 #2', 'control device_offline r=2 #3'])
    t.match(await session(scene.node.httpUrl, callId), { end_reason: 'device_offline', ended_by: 'system', seq: 3 })
  })

  t.test('changes nothing when it comes back within the grace', async (t) => {
    // Far longer than a drop and a reconnect take on a loaded machine.
    const graceMs = 6000
    const scene = await startScene(t, { env: { OFFLINE_GRACE_MS: String(graceMs) } })
    const watcher = await party(t, scene.node.mqttUrl, 'service/ops', 'devices/1/status')
    const callId = await callMqtt(scene.device, { target_resident_id: '2' })
    await actHttp(scene.node.httpUrl, 'resident/2', callId, 'answered')
    await waitAction(scene.device, 'devices/1/calls/control', 'answered')
    await scene.service.waitFor((m) => m.topic === `calls/${callId}/events` && m.json.action === 'answered')
    clear(scene.service, watcher)
    const droppedAt = Date.now()
    scene.device.client.stream.destroy()
    await watcher.waitFor((m) => m.json.online === false)
    const back = await party(t, scene.node.mqttUrl, 'device/1', 'devices/1/#')
    await watcher.waitFor((m) => m.json.online === true, 20_000)
    // Nothing marks a grace that lapsed without effect: let it run out, then flush.
    await settle(Math.max(0, droppedAt + graceMs + 500 - Date.now()))
    await flush(scene.service, scene.service, back)
    t.match(await session(scene.node.httpUrl, callId), { status: 'connected', seq: 2 }, 'still connected, no transition')
    t.same(lines(scene.service), [], 'neither the drop nor the return is a transition')
    t.same(lines(back), [])
  })
})

t.test('rate limit: beyond RATE_LIMIT_PER_SECOND actions, 429 or rate_limited', async (t) => {
  const scene = await startScene(t, { env: { RATE_LIMIT_PER_SECOND: '3' } })
  const base = scene.node.httpUrl
  const r3 = scene.residents['3'] as TestClient
  const callId = (await callHttp(base)).call_id as string
  await actHttp(base, 'resident/2', callId, 'rejected')
  // A burst of 20 spread over fewer than six one-second windows: at least one is over.
  const burst = await Promise.all(Array.from({ length: 20 }, () => actHttp(base, 'resident/2', callId, 'rejected')))
  const limited = burst.filter((r) => r.status === 429)
  t.ok(limited.length >= 1, 'some requests are refused')
  t.same(burst.filter((r) => r.status !== 200 && r.status !== 429).map((r) => [r.status, r.body]), [], 'the rest are harmless repeats')
  t.match(limited[0]?.body, { code: 429, error: 'rate_limited', message: /slow down/ })

  await Promise.all(Array.from({ length: 20 }, (_, i) => actMqtt(r3, 'resident/3', callId, 'answered', { request_id: `burst-${i}` })))
  const refusal = await r3.waitFor((m) => m.topic === 'users/3/calls/error')
  t.match(refusal.json, { call_id: callId, error: 'rate_limited', request_id: /^burst-/ })
  t.ok(r3.client.connected, 'the client stays connected')
  const now = await session(base, callId)
  t.match(now, { status: 'connected', resident_id: '3', seq: 3 }, 'one answer applied, the rest were repeats or refused')
})

t.test('unlock cooldown: another unlock within UNLOCK_COOLDOWN_MS is 409 and reaches nobody', async (t) => {
  const scene = await startScene(t, { env: { UNLOCK_COOLDOWN_MS: '60000' } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)
  t.equal((await actHttp(base, 'resident/2', callId, 'unlock')).status, 200)
  const again = await actHttp(base, 'resident/2', callId, 'unlock')
  t.match(again, { status: 409, body: { error: 'invalid_transition', message: /wait for the unlock cooldown/ } })
  await actMqtt(scene.residents['2'] as TestClient, 'resident/2', callId, 'unlock')
  t.match((await (scene.residents['2'] as TestClient).waitFor((m) => m.topic === 'users/2/calls/error')).json, { call_id: callId, error: 'invalid_transition' })
  t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device)
  t.same(lines(scene.device).filter((l) => l.includes('unlock')), ['control unlock r=2 #3'], 'the door was told once')
  const events = scene.service.messages.filter((m) => m.topic === `calls/${callId}/events`)
  t.ok(events.length === 4 && events.every((m) => { const s = m.json.session as Record<string, unknown>; return s.history === undefined && s.call_id === callId }), 'events carry the session without history')
})

t.test('UNLOCK_COOLDOWN_MS=0: every unlock opens', async (t) => {
  const scene = await startScene(t, { env: { UNLOCK_COOLDOWN_MS: '0' } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  await actHttp(base, 'resident/2', callId, 'answered')
  for (let i = 0; i < 3; i++) t.equal((await actHttp(base, 'resident/2', callId, 'unlock')).status, 200)
  t.equal((await session(base, callId)).seq, 5)
})

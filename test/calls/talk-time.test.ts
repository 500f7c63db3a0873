import t from 'tap'
import type { TestClient } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { actHttp, actMqtt, callHttp, clear, lines, session, startScene, waitAction, waitEnded, type Scene } from './helpers'
import { meetingPoint } from './race-seam'

/** The door's answer to an unlock, the talk-time warning and extend, through a node. */

const everyone = (scene: Scene): TestClient[] => [scene.device, scene.service, ...Object.values(scene.residents)]

t.test('unlock_result: the resident who unlocked hears how the door did, once per unlock; services and history too', async (t) => {
  const scene = await startScene(t, { env: { UNLOCK_HANGUP_MS: '0' } })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)
  t.match(await actHttp(base, 'device/1', callId, 'unlock_result', { ok: true }), { status: 409, body: { error: 'invalid_transition', message: /no unlock waits for a result/ } }, 'nothing unlocked yet')
  t.equal((await actHttp(base, 'resident/2', callId, 'unlock')).status, 200)
  t.match(await actHttp(base, 'device/1', callId, 'unlock_result'), { status: 400, body: { error: 'invalid_request', message: /ok is required/ } })
  t.match(await actHttp(base, 'resident/2', callId, 'answered', { ok: true }), { status: 400, body: { message: /only with unlock_result/ } })
  t.match(await actHttp(base, 'device/1', callId, 'unlock_result', { ok: 'yes' }), { status: 400 }, 'ok is a boolean')
  t.match(await actHttp(base, 'device/1', callId, 'unlock_result', { ok: true, door: 'x'.repeat(65) }), { status: 400 }, 'door is bounded')
  t.match(await actHttp(base, 'resident/2', callId, 'unlock_result', { ok: true }), { status: 409 }, 'a resident cannot report for the door')

  await actMqtt(scene.device, 'device/1', callId, 'unlock_result', { ok: false, door: 'gate' })
  const told = await waitAction(r2, 'users/2/calls/control', 'unlock_result', callId)
  t.match(told.json, { action: 'unlock_result', ok: false, door: 'gate', resident_id: '2', status: 'connected', seq: 4 })
  await actMqtt(scene.device, 'device/1', callId, 'unlock_result', { ok: true })
  const refused = await scene.device.waitFor((m) => m.topic === 'devices/1/calls/error')
  t.equal(refused.json.error, 'invalid_transition', 'a second result for the same unlock is refused over MQTT too')
  t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.service, scene.device, ...Object.values(scene.residents))
  const ended = await session(base, callId)
  t.match(ended.history.find((h: { action: string }) => h.action === 'unlock_result'), { actor: 'device/1', result: { ok: false, door: 'gate' }, seq: 4 })
  t.same(lines(r2), ['incoming #1', 'control answered r=2 #2', 'control unlock_result r=2 #4', 'control hangup r=2 #5'])
  t.same(lines(scene.device).filter((l) => !l.startsWith('error')), ['control ringing #1', 'control answered r=2 #2', 'control unlock r=2 #3', 'control hangup r=2 #5'], 'the device is not told its own result')
  t.match(scene.service.messages.find((m) => m.json.action === 'unlock_result')?.json, { ok: false, door: 'gate', actor: 'device/1' })
})

t.test('unlock_result after opening from the preview: the call has ended, the result still reaches the resident', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  t.equal((await actHttp(base, 'resident/3', callId, 'unlock')).status, 200)
  t.match(await actHttp(base, 'device/1', callId, 'unlock_result', { ok: true }), { status: 200, body: { data: { status: 'ended', end_reason: 'unlocked', seq: 3 } } })
  const told = await waitAction(scene.residents['3'] as TestClient, 'users/3/calls/control', 'unlock_result', callId)
  t.match(told.json, { ok: true, door: null, status: 'ended', resident_id: '3' })
  await flush(scene.service, scene.service, scene.device, ...Object.values(scene.residents))
  t.notOk(lines(scene.residents['2'] as TestClient).some((l) => l.includes('unlock_result')), 'only the resident who unlocked')
})

t.test('ending_soon before max_duration, then one extend and no more: to the device and the answerer', async (t) => {
  // the warning comes at once, and leaves the test ample time to extend
  const scene = await startScene(t, { env: { MAX_CALL_MS: '20000', CALL_WARNING_MS: '19800', MAX_EXTENSIONS: '1' } })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)
  const warning = await waitAction(scene.device, 'devices/1/calls/control', 'ending_soon', callId)
  const answered = await session(base, callId)
  t.match(warning.json, { status: 'connected', seq: 3, ends_at: (answered.answer_time as number) + 20_000 })
  t.match(await actHttp(base, 'device/1', callId, 'extend'), { status: 409 }, 'the device may not extend')
  t.match(await actHttp(base, 'resident/2', callId, 'extend'), { status: 200, body: { data: { status: 'connected', seq: 4 } } })
  const extended = await waitAction(r2, 'users/2/calls/control', 'extend', callId)
  t.equal(extended.json.ends_at, (answered.answer_time as number) + 40_000, 'MAX_CALL_MS later')
  t.match(await actHttp(base, 'resident/2', callId, 'extend'), { status: 409, body: { message: /MAX_EXTENSIONS/ } }, 'past MAX_EXTENSIONS')
  t.match(await session(base, callId), { deadlines: undefined, seq: 4 }, 'deadlines stay inside the server')
  t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.service, scene.device, ...Object.values(scene.residents))
  const expected = ['control answered r=2 #2', 'control ending_soon r=2 #3', 'control extend r=2 #4', 'control hangup r=2 #5']
  t.same(lines(scene.device), ['control ringing #1', ...expected])
  t.same(lines(r2), ['incoming #1', ...expected])
})

t.test('extend meets the max-duration deadline between read and write: one wins, both outcomes occur', async (t) => {
  const meet = meetingPoint()
  const scene = await startScene(t, { env: { MAX_CALL_MS: '400', CALL_WARNING_MS: '0', MAX_EXTENSIONS: '1' }, callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const r3 = scene.residents['3'] as TestClient
  const outcomes = new Set<string>()
  for (let round = 0; round < 6; round++) {
    clear(...everyone(scene))
    const chosen = round % 2 === 0 ? 'extend' : 'timer'
    // armed before the answer: under load the deadline may come due before the test sends extend
    const met = meet.arm((e) => e.type === 'action' && e.action === 'extend' ? 'extend' : e.type === 'timer' && e.timer === 'max_duration' ? 'timer' : null, chosen)
    const callId = (await callHttp(base, { target_resident_id: '3' })).call_id as string
    t.equal((await actHttp(base, 'resident/3', callId, 'answered')).status, 200)
    const [extend] = await Promise.all([actHttp(base, 'resident/3', callId, 'extend'), met])
    await waitEnded(scene.service, callId)
    await flush(scene.service, scene.service, scene.device, ...Object.values(scene.residents))
    const outcome = extend.status === 200 ? 'extend' : 'timer'
    outcomes.add(outcome)
    t.equal(outcome, chosen, `round ${round}: the write that went first won`)
    const ended = await session(base, callId)
    t.match(ended, { status: 'ended', end_reason: 'max_duration', ended_by: 'system' })
    const expected = outcome === 'extend'
      ? ['control answered r=3 #2', 'control extend r=3 #3', 'control max_duration r=3 #4']
      : ['control answered r=3 #2', 'control max_duration r=3 #3']
    if (outcome === 'timer') t.equal(extend.body.error, 'invalid_transition', 'the call ended first: 409')
    t.equal(ended.seq, expected.length + 1, 'one end, after the extension if it won')
    t.same(lines(scene.device), ['control ringing #1', ...expected], 'the device hears each step once')
    t.same(lines(r3), ['incoming #1', ...expected], 'so does the answerer')
  }
  t.same([...outcomes].sort(), ['extend', 'timer'])
})

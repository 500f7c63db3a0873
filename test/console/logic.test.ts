import t from 'tap'
import { applySession, elapsed, emptyLiveCalls, MAX_ENDED } from '../../console/src/logic/live-calls'
import { idlePhone, receiveControl, receiveInvite } from '../../console/src/logic/phone-state'
import { callsQuery, matchesFilters, mergeLog, noFilters } from '../../console/src/logic/call-log'
import { dayChart, HOUR } from '../../console/src/logic/chart-data'
import { parseIdentityName } from '../../console/src/logic/identity'
import type { CallView, ControlMessage, InviteMessage } from '../../console/src/logic/wire'

const NOW = Date.UTC(2026, 10, 29, 12, 30)

function call (fields: Partial<CallView> = {}): CallView {
  return {
    call_id: 'call-20261129-000000000001',
    status: 'ringing',
    provider: 'trtc',
    device_device_id: '1',
    target_resident_ids: ['2', '3'],
    resident_id: null,
    household_number: '101',
    start_time: NOW - 5000,
    answer_time: null,
    end_time: null,
    end_reason: null,
    last_activity: NOW - 5000,
    call_info: { call_id: 'call-20261129-000000000001', action: 'ringing', reason: null, timestamp: NOW - 5000 },
    history: [],
    legs: [{ resident_id: '2', state: 'ringing' }, { resident_id: '3', state: 'ringing' }],
    ended_by: null,
    seq: 1,
    on_reject: 'leg',
    ring_step_ms: null,
    ...fields
  }
}

function invite (fields: Partial<InviteMessage> = {}): InviteMessage {
  return {
    call_id: 'call-20261129-000000000001',
    provider: 'trtc',
    device_device_id: '1',
    target_resident_id: '2',
    target_resident_ids: ['2', '3'],
    household_number: '101',
    timestamp: NOW - 1000,
    expires_at: NOW + 29_000,
    seq: 1,
    ...fields
  }
}

function control (fields: Partial<ControlMessage> = {}): ControlMessage {
  return { action: 'answered', call_id: 'call-20261129-000000000001', status: 'connected', reason: null, resident_id: '2', timestamp: NOW, seq: 2, ...fields }
}

t.test('operator: a call event moves a call through in progress to ended', async (t) => {
  let live = applySession(emptyLiveCalls, call())
  t.equal(live.active.size, 1)
  live = applySession(live, call({ status: 'connected', seq: 2 }))
  t.equal(live.active.get('call-20261129-000000000001')?.status, 'connected')
  live = applySession(live, call({ status: 'ended', end_reason: 'hangup', seq: 3 }))
  t.equal(live.active.size, 0)
  t.same(live.ended.map((c) => c.seq), [3])
})

t.test('operator: an event whose seq is not above the last one changes nothing', async (t) => {
  const ended = applySession(applySession(emptyLiveCalls, call()), call({ status: 'ended', seq: 2 }))
  t.equal(applySession(ended, call({ status: 'ringing', seq: 1 })), ended, 'a late ringing event does not resurrect an ended call')
  t.equal(applySession(ended, call({ status: 'ended', seq: 2 })), ended, 'a repeated event is dropped')
})

t.test('operator: the ended calls kept in memory are bounded', async (t) => {
  let live = emptyLiveCalls
  for (let i = 0; i < MAX_ENDED + 10; i++) live = applySession(live, call({ call_id: `call-20261129-${String(i).padStart(12, '0')}`, status: 'ended' }))
  t.equal(live.ended.length, MAX_ENDED)
})

t.test('softphone: an invite rings, a fresher control message updates the call', async (t) => {
  const rung = receiveInvite(idlePhone, invite(), NOW)
  t.ok(rung.applied)
  t.equal(rung.phone.call?.status, 'ringing')
  const answered = receiveControl(rung.phone, control())
  t.ok(answered.applied)
  t.match(answered.phone.call, { status: 'connected', seq: 2, resident_id: '2' })
})

t.test('softphone: a message whose seq is not above the last one is ignored', async (t) => {
  const answered = receiveControl(receiveInvite(idlePhone, invite(), NOW).phone, control()).phone
  const repeated = receiveControl(answered, control())
  t.notOk(repeated.applied)
  t.equal(repeated.phone, answered)
  const older = receiveControl(answered, control({ action: 'cancelled', status: 'ended', seq: 1 }))
  t.notOk(older.applied)
  t.match(older, { why: /stale/ })
  t.notOk(receiveInvite(answered, invite(), NOW).applied, 'a repeated invite does not ring again')
})

t.test('softphone: an invite delivered after its expires_at is ignored', async (t) => {
  const late = receiveInvite(idlePhone, invite({ expires_at: NOW - 1 }), NOW)
  t.notOk(late.applied)
  t.match(late, { why: /expired/ })
  t.equal(late.phone.call, null)
  t.ok(receiveInvite(idlePhone, invite({ expires_at: NOW }), NOW).applied, 'up to expires_at it rings')
})

t.test('softphone: a door\'s ringing starts its call from the session; unlocks are counted', async (t) => {
  const ringing = receiveControl(idlePhone, control({ action: 'ringing', status: 'ringing', seq: 1, session: call(), tencen_rtc: { sdk_app_id: 1, room_id: 'r', room_id_type: 'string', user_id: 'device_1', user_sig: 's' } }))
  t.ok(ringing.applied)
  t.equal(ringing.phone.call?.credentials.tencen_rtc?.user_id, 'device_1')
  const unlocked = receiveControl(receiveControl(ringing.phone, control()).phone, control({ action: 'unlock', seq: 3 }))
  t.equal(unlocked.phone.call?.unlocks, 1)
  t.notOk(receiveControl(unlocked.phone, control({ call_id: 'call-20261129-0000000000ff', seq: 5 })).applied, 'another call\'s message is not applied')
})

t.test('softphone: ending_soon sets when the call ends, extend moves it; the door\'s unlock_result is kept', async (t) => {
  const answered = receiveControl(receiveInvite(idlePhone, invite(), NOW).phone, control()).phone
  t.equal(answered.call?.endsAt, null, 'no end announced yet')
  const soon = receiveControl(answered, control({ action: 'ending_soon', seq: 3, ends_at: NOW + 10_000 })).phone
  t.equal(soon.call?.endsAt, NOW + 10_000)
  const extended = receiveControl(soon, control({ action: 'extend', seq: 4, ends_at: NOW + 310_000 })).phone
  t.equal(extended.call?.endsAt, NOW + 310_000)
  t.equal(receiveControl(extended, control({ action: 'unlock', seq: 5 })).phone.call?.endsAt, NOW + 310_000, 'other messages keep it')
  const reported = receiveControl(extended, control({ action: 'unlock_result', seq: 5, ok: false, door: 'gate' })).phone
  t.same(reported.call?.unlockResult, { ok: false, door: 'gate' })
  t.same(receiveControl(reported, control({ action: 'unlock_result', seq: 6, ok: true })).phone.call?.unlockResult, { ok: true, door: null }, 'the latest report counts')
})

t.test('call log: filters make the query and select live calls the same way', async (t) => {
  const filters = { ...noFilters, device_id: ' 1 ', status: 'ended', household_number: '' }
  t.equal(callsQuery(filters, 'abc', 20), 'device_id=1&status=ended&limit=20&cursor=abc')
  const ended = call({ status: 'ended', end_reason: 'hangup' })
  t.ok(matchesFilters(ended, filters))
  t.notOk(matchesFilters(ended, { ...filters, device_id: '5' }))
  t.ok(matchesFilters(ended, { ...noFilters, resident_id: '3' }), 'a resident filter matches every target')
  t.same(mergeLog([call({ seq: 3, status: 'ended' })], [call({ seq: 2 }), call({ call_id: 'call-20261129-000000000002', start_time: NOW })], noFilters).map((c) => [c.call_id, c.seq]),
    [['call-20261129-000000000002', 1], ['call-20261129-000000000001', 3]], 'each call once, its newest version, newest call first')
})

t.test('chart: ended calls of the last 24 hours by hour and outcome, with answer times', async (t) => {
  const chart = dayChart([
    call({ call_id: 'a', status: 'ended', answer_time: NOW - 3000, end_reason: 'hangup' }),
    call({ call_id: 'b', status: 'ended', answer_time: NOW - 1000, end_reason: 'hangup' }),
    call({ call_id: 'c', status: 'ended', end_reason: 'timeout', start_time: NOW - 2 * HOUR }),
    call({ call_id: 'd', status: 'ended', end_reason: 'rejected' }),
    call({ call_id: 'e', status: 'ended', end_reason: 'device_offline' }),
    call({ call_id: 'f', status: 'ended', end_reason: 'cancelled', start_time: NOW - 25 * HOUR }),
    call({ call_id: 'g', status: 'ringing' })
  ], NOW)
  t.equal(chart.hours.length, 24)
  t.same(chart.totals, { answered: 2, missed: 1, rejected: 1, cancelled: 0, failed: 1 }, 'older than a day and unfinished calls are left out')
  t.equal(chart.counts.answered[23], 2)
  t.equal(chart.counts.missed[21], 1)
  t.equal(chart.medianAnswerSeconds[23], 3)
  t.equal(chart.overallMedianAnswerSeconds, 3)
})

t.test('sign-in: the identity name picks the view', async (t) => {
  t.match(parseIdentityName('service/ops'), { role: 'operator', id: 'ops' })
  t.match(parseIdentityName('device/1'), { role: 'device', id: '1' })
  t.match(parseIdentityName('resident/2'), { role: 'resident', id: '2' })
  t.match(parseIdentityName('client/meter-gw'), /no console view/)
  t.match(parseIdentityName('ops'), /identity name such as/)
})

t.test('elapsed time reads as m:ss or h:mm:ss', async (t) => {
  t.equal(elapsed(0, 65_000), '1:05')
  t.equal(elapsed(0, 3_725_000), '1:02:05')
  t.equal(elapsed(10, 0), '0:00')
})

import t from 'tap'
import { newCallId, CALL_ID_PATTERN } from '../../lib/calls/call-id'
import { HISTORY_COMMANDS_KEPT, startCall, transition, type CallEvent, type MachineOptions, type TransitionResult } from '../../lib/calls/machine'
import { eventMessage } from '../../lib/calls/render'
import { CLIENT_ACTIONS, CALL_STATUSES, type CallSession, type CallStatus, type ClientAction } from '../../lib/calls/session'
import { TRANSITIONS, type SystemInput } from '../../lib/calls/transitions'
import { identity } from '../../lib/identity'

const OPTIONS: MachineOptions = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 2_000, unlockHangupMs: 5_000, callWarningMs: 10_000, maxExtensions: 3 }
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)
const CALL_ID = 'call-20240102-0123456789abcdef'

/** Device 1 rings residents 2, 3 and 4; 4 is already in a call. */
function ringing (): CallSession {
  const started = startCall({ callId: CALL_ID, provider: 'trtc', deviceId: '1', targets: ['2', '3', '4'], busy: ['4'], activeCall: null, householdNumber: '101' }, T0, OPTIONS)
  if (!started.ok) throw started.error
  return started.session
}

function must (result: TransitionResult): CallSession {
  if (!result.ok) throw result.error
  return result.session
}

const act = (kind: 'device' | 'resident', id: string, action: ClientAction, reason: string | null = null): CallEvent =>
  ({ type: 'action', actor: { kind, id }, action, reason })

const connected = (): CallSession => must(transition(ringing(), act('resident', '2', 'answered'), T0 + 1_000, OPTIONS))
/** Connected, the door opened once (hang-up deadline running), then the device went offline (grace running). */
const connectedDeviceGone = (): CallSession => must(transition(
  must(transition(connected(), act('resident', '2', 'unlock'), T0 + 1_500, OPTIONS)),
  { type: 'device_presence', online: false }, T0 + 2_000, OPTIONS))
const ended = (): CallSession => must(transition(ringing(), act('device', '1', 'cancelled'), T0 + 1_000, OPTIONS))

/**
 * Expected outcome of every pair, written out independently of the table:
 * a status = an applied transition ending there; 'noop' = success, nothing changes;
 * 'changed' = stored change that is no transition; otherwise the error code.
 */
type Outcome = CallStatus | 'noop' | 'changed' | 'invalid_transition' | 'forbidden'
const X = 'invalid_transition'

const ACTION_EXPECTATIONS: Record<CallStatus, { device: Record<ClientAction, Outcome>, resident: Record<ClientAction, Outcome> }> = {
  // actors: device 1, ringing resident 2
  ringing: {
    device: { cancelled: 'ended', hangup: 'ended', answered: X, rejected: X, timeout: X, unlock: X, decline_all: X, unlock_result: X, extend: X },
    resident: { answered: 'connected', rejected: 'ringing', timeout: 'ringing', hangup: X, unlock: 'ended', cancelled: X, decline_all: 'ended', unlock_result: X, extend: X }
  },
  // actors: device 1, answerer 2 (who already sent answered)
  connected: {
    device: { hangup: 'ended', cancelled: X, answered: X, rejected: X, timeout: X, unlock: X, decline_all: X, unlock_result: X, extend: X },
    resident: { hangup: 'ended', unlock: 'connected', answered: 'noop', rejected: X, timeout: X, cancelled: X, decline_all: X, unlock_result: X, extend: 'connected' }
  },
  // cancelled by device 1 (so its `cancelled` is a repeat); resident 2 never acted
  ended: {
    device: { cancelled: 'noop', hangup: X, answered: X, rejected: X, timeout: X, unlock: X, decline_all: X, unlock_result: X, extend: X },
    resident: { answered: X, rejected: X, timeout: X, hangup: X, unlock: X, cancelled: X, decline_all: X, unlock_result: X, extend: X }
  }
}

const SYSTEM_EXPECTATIONS: Record<CallStatus, Record<SystemInput, Outcome>> = {
  // resident 3 is removed: its leg rings, resident 2's too, so the call rings on
  ringing: { end: 'ended', ring_timer: 'ended', max_duration_timer: 'noop', device_offline_timer: 'noop', unlock_hangup_timer: 'noop', ending_soon_timer: 'noop', next_resident_timer: 'noop', device_offline: 'ended', device_online: 'noop', device_removed: 'ended', resident_removed: 'ringing', delivery: 'changed' },
  // fixture: connected, unlocked once, device offline, grace running
  connected: { end: 'ended', ring_timer: 'noop', max_duration_timer: 'ended', device_offline_timer: 'ended', unlock_hangup_timer: 'ended', ending_soon_timer: 'connected', next_resident_timer: 'noop', device_offline: 'noop', device_online: 'changed', device_removed: 'ended', resident_removed: 'noop', delivery: 'changed' },
  ended: { end: 'noop', ring_timer: 'noop', max_duration_timer: 'noop', device_offline_timer: 'noop', unlock_hangup_timer: 'noop', ending_soon_timer: 'noop', next_resident_timer: 'noop', device_offline: 'noop', device_online: 'noop', device_removed: 'noop', resident_removed: 'noop', delivery: 'changed' }
}

const FIXTURES: Record<CallStatus, () => CallSession> = { ringing, connected, ended }
const SYSTEM_FIXTURES: Record<CallStatus, () => CallSession> = { ringing, connected: connectedDeviceGone, ended }

const SYSTEM_EVENTS: Record<SystemInput, CallEvent> = {
  end: { type: 'end', by: identity('service', 'ops'), reason: 'maintenance' },
  ring_timer: { type: 'timer', timer: 'ring' },
  max_duration_timer: { type: 'timer', timer: 'max_duration' },
  device_offline_timer: { type: 'timer', timer: 'device_offline' },
  unlock_hangup_timer: { type: 'timer', timer: 'unlock_hangup' },
  ending_soon_timer: { type: 'timer', timer: 'ending_soon' },
  next_resident_timer: { type: 'timer', timer: 'next_resident' },
  delivery: { type: 'delivery', residentId: '2', delivery: 'push' },
  device_offline: { type: 'device_presence', online: false },
  device_online: { type: 'device_presence', online: true },
  device_removed: { type: 'device_removed' },
  resident_removed: { type: 'resident_removed', residentId: '3' }
}

/** Late enough for every deadline to be due. */
const LATER = T0 + 30 * 24 * 3_600_000

function check (t: tap.Test, before: CallSession, result: TransitionResult, expected: Outcome): void {
  const snapshot = structuredClone(before)
  if (expected === 'invalid_transition' || expected === 'forbidden') {
    t.equal(result.ok, false, 'refused')
    if (!result.ok) {
      t.equal(result.error.code, expected)
      t.equal(result.error.statusCode, expected === X ? 409 : 403)
    }
    return
  }
  t.equal(result.ok, true, 'accepted')
  if (!result.ok) return
  t.same(before, snapshot, 'input untouched')
  if (expected === 'noop') {
    t.equal(result.changed, false)
    t.equal(result.session, before, 'same session')
    t.same(result.effects, [])
  } else if (expected === 'changed') {
    t.equal(result.changed, true)
    t.equal(result.session.seq, before.seq, 'no transition: seq kept')
    t.equal(result.session.version, before.version + 1)
    t.notOk(result.effects.some(e => e.type === 'control' || e.type === 'event'), 'no message')
  } else {
    t.equal(result.changed, true)
    t.equal(result.session.status, expected)
    t.equal(result.session.seq, before.seq + 1)
    t.equal(result.session.version, before.version + 1)
    t.equal(result.session.history.length, before.history.length + 1)
    t.equal(result.effects.filter(e => e.type === 'event').length, 1, 'one event')
  }
}

t.test('the table has a verdict for every pair, and the test an expectation', async t => {
  for (const status of CALL_STATUSES) {
    for (const kind of ['device', 'resident'] as const) {
      t.same(Object.keys(TRANSITIONS[status][kind]).sort(), [...CLIENT_ACTIONS].sort(), `${status} ${kind}`)
    }
    t.same(Object.keys(TRANSITIONS[status].system).sort(), Object.keys(SYSTEM_EVENTS).sort(), `${status} system`)
  }
})

for (const status of CALL_STATUSES) {
  for (const kind of ['device', 'resident'] as const) {
    for (const action of CLIENT_ACTIONS) {
      const expected = ACTION_EXPECTATIONS[status][kind][action]
      t.test(`${status} + ${kind} ${action} → ${expected}`, async t => {
        const before = FIXTURES[status]()
        check(t, before, transition(before, act(kind, kind === 'device' ? '1' : '2', action), T0 + 5_000, OPTIONS), expected)
      })
    }
  }
  for (const input of Object.keys(SYSTEM_EVENTS) as SystemInput[]) {
    const expected = SYSTEM_EXPECTATIONS[status][input]
    t.test(`${status} + ${input} → ${expected}`, async t => {
      const before = SYSTEM_FIXTURES[status]()
      check(t, before, transition(before, SYSTEM_EVENTS[input], LATER, OPTIONS), expected)
    })
  }
}

t.test('startCall rings every free target and tells the device', async t => {
  const started = startCall({ callId: CALL_ID, provider: 'rtc', deviceId: '1', targets: ['2', '3', '4'], busy: ['4'], activeCall: null, householdNumber: null, reason: 'visitor', timestamp: 42 }, T0, OPTIONS)
  t.ok(started.ok)
  if (!started.ok) return
  const s = started.session
  t.equal(s.status, 'ringing')
  t.equal(s.seq, 1)
  t.equal(s.version, 1)
  t.same(s.target_resident_ids, ['2', '3', '4'])
  t.same(s.legs, [{ resident_id: '2', state: 'ringing', delivery: 'queued' }, { resident_id: '3', state: 'ringing', delivery: 'queued' }, { resident_id: '4', state: 'busy' }])
  t.same(s.deadlines, { ring: T0 + 30_000, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null })
  t.same(s.call_info, { call_id: CALL_ID, action: 'ringing', reason: 'visitor', timestamp: 42 })
  t.same(s.history, [{ action: 'ringing', actor: 'device/1', reason: 'visitor', timestamp: T0, seq: 1 }])
  t.same(started.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'ringing', reason: 'visitor', withSession: true },
    { type: 'invite', residentId: '2' },
    { type: 'invite', residentId: '3' },
    { type: 'event', action: 'ringing', actor: 'device/1', reason: 'visitor' }
  ])
})

t.test('startCall refuses with nobody to ring', async t => {
  const none = startCall({ callId: CALL_ID, provider: 'trtc', deviceId: '1', targets: [], busy: [], activeCall: null, householdNumber: null }, T0, OPTIONS)
  t.equal(!none.ok && none.error.code, 'no_residents')
  const busy = startCall({ callId: CALL_ID, provider: 'trtc', deviceId: '1', targets: ['2', '3'], busy: ['2', '3'], activeCall: null, householdNumber: null }, T0, OPTIONS)
  t.equal(!busy.ok && busy.error.code, 'residents_busy')
})

t.test('ring group: the first answer wins, the others are cancelled', async t => {
  const result = transition(ringing(), act('resident', '3', 'answered'), T0 + 1_000, OPTIONS)
  t.ok(result.ok)
  if (!result.ok) return
  const s = result.session
  t.equal(s.status, 'connected')
  t.equal(s.resident_id, '3')
  t.equal(s.answer_time, T0 + 1_000)
  t.same(s.legs.map(l => l.state), ['cancelled', 'answered', 'busy'])
  t.same(s.deadlines, { ring: null, max_duration: T0 + 1_000 + 7_200_000, device_offline: null, unlock_hangup: null, ending_soon: T0 + 1_000 + 7_200_000 - 10_000, next_resident: null })
  t.same(result.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'answered', reason: null, residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'cancelled', reason: 'answered_elsewhere', residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'answered', reason: null, residentId: '3' },
    { type: 'event', action: 'answered', actor: 'resident/3', reason: null }
  ])
  const late = transition(s, act('resident', '2', 'answered'), T0 + 1_001, OPTIONS)
  t.equal(!late.ok && late.error.code, 'invalid_transition', 'a later answer is 409')
})

t.test('a resident that declined cannot answer afterwards', async t => {
  const s = must(transition(ringing(), act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  const r = transition(s, act('resident', '2', 'answered'), T0 + 2_000, OPTIONS)
  t.equal(!r.ok && r.error.code, 'invalid_transition')
})

t.test('one rejection ends the call only when no target still rings', async t => {
  const first = transition(ringing(), act('resident', '2', 'rejected', 'not home'), T0 + 1_000, OPTIONS)
  t.ok(first.ok)
  if (!first.ok) return
  t.equal(first.session.status, 'ringing')
  t.same(first.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'rejected', reason: 'not home', residentId: '2' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'rejected', reason: 'not home', residentId: '2' },
    { type: 'event', action: 'rejected', actor: 'resident/2', reason: 'not home' }
  ])
  const last = transition(first.session, act('resident', '3', 'timeout'), T0 + 2_000, OPTIONS)
  t.ok(last.ok)
  if (!last.ok) return
  const s = last.session
  t.equal(s.status, 'ended')
  t.equal(s.end_reason, 'rejected', 'any rejection makes it rejected')
  t.equal(s.ended_by, 'resident/3')
  t.equal(s.end_time, T0 + 2_000)
  t.same(s.legs.map(l => l.state), ['rejected', 'timeout', 'busy'])
  t.same(s.deadlines, { ring: null, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null })
  t.same(last.effects.map(e => e.type), ['control', 'control', 'event'])
})

t.test('every ring giving up ends with timeout', async t => {
  let s = must(transition(ringing(), act('resident', '2', 'timeout'), T0 + 1_000, OPTIONS))
  s = must(transition(s, act('resident', '3', 'timeout'), T0 + 2_000, OPTIONS))
  t.equal(s.end_reason, 'timeout')
})

t.test('device hangup while ringing cancels everyone still ringing', async t => {
  const before = must(transition(ringing(), act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  const result = transition(before, act('device', '1', 'hangup'), T0 + 2_000, OPTIONS)
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(result.session.end_reason, 'cancelled')
  t.equal(result.session.ended_by, 'device/1')
  t.same(result.session.legs.map(l => l.state), ['rejected', 'cancelled', 'busy'])
  t.same(result.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'cancelled', reason: null },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'cancelled', reason: null },
    { type: 'event', action: 'hangup', actor: 'device/1', reason: null }
  ])
})

t.test('hangup of a connected call reaches the device and the answerer only', async t => {
  const result = transition(connected(), act('resident', '2', 'hangup', 'bye'), T0 + 5_000, OPTIONS)
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(result.session.end_reason, 'hangup')
  t.equal(result.session.ended_by, 'resident/2')
  t.same(result.session.legs.map(l => l.state), ['answered', 'cancelled', 'busy'], 'the answered leg stays answered')
  t.same(result.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'hangup', reason: 'bye', residentId: '2' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'hangup', reason: 'bye', residentId: '2' },
    { type: 'event', action: 'hangup', actor: 'resident/2', reason: 'bye' }
  ])
})

t.test('only the answerer may hang up or unlock a connected call', async t => {
  for (const action of ['hangup', 'unlock'] as const) {
    const r = transition(connected(), act('resident', '3', action), T0 + 5_000, OPTIONS)
    t.equal(!r.ok && r.error.code, 'invalid_transition', action)
  }
})

t.test('rights: a foreign device or a resident the call never rang is forbidden', async t => {
  for (const fixture of [ringing, connected, ended]) {
    const s = fixture()
    const foreign = transition(s, act('device', '9', 'hangup'), T0 + 5_000, OPTIONS)
    t.equal(!foreign.ok && foreign.error.code, 'forbidden')
    t.match(!foreign.ok && foreign.error.message, /not the caller/)
    const busy = transition(s, act('resident', '4', 'answered'), T0 + 5_000, OPTIONS)
    t.equal(!busy.ok && busy.error.code, 'forbidden', 'busy leg never rang')
    const stranger = transition(s, act('resident', '99', 'answered'), T0 + 5_000, OPTIONS)
    t.equal(!stranger.ok && stranger.error.code, 'forbidden')
  }
})

t.test('repeats by the same actor succeed and change nothing, whatever the status now', async t => {
  const s1 = ringing()
  const rejected = must(transition(s1, act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  const again = transition(rejected, act('resident', '2', 'rejected'), T0 + 2_000, OPTIONS)
  t.ok(again.ok && !again.changed && again.effects.length === 0, 'rejected twice while ringing')
  const hungUp = must(transition(connected(), act('device', '1', 'hangup'), T0 + 5_000, OPTIONS))
  for (const [kind, action] of [['device', 'hangup'], ['resident', 'answered']] as const) {
    const r = transition(hungUp, act(kind, kind === 'device' ? '1' : '2', action), T0 + 6_000, OPTIONS)
    t.ok(r.ok && !r.changed && r.effects.length === 0, `${kind} ${action} after the end`)
  }
  const other = transition(hungUp, act('resident', '2', 'hangup'), T0 + 6_000, OPTIONS)
  t.equal(!other.ok && other.error.code, 'invalid_transition', 'a new action on an ended call is 409')
  t.match(!other.ok && other.error.message, /ended \(hangup\)/)
})

t.test('unlock is a command: each one unlocks again', async t => {
  const s0 = connected()
  const first = transition(s0, act('resident', '2', 'unlock'), T0 + 5_000, OPTIONS)
  t.ok(first.ok)
  if (!first.ok) return
  t.equal(first.session.status, 'connected')
  t.same(first.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'unlock', reason: null, residentId: '2' },
    { type: 'event', action: 'unlock', actor: 'resident/2', reason: null }
  ])
  const tooSoon = transition(first.session, act('resident', '2', 'unlock'), T0 + 6_999, OPTIONS)
  t.equal(!tooSoon.ok && tooSoon.error.code, 'invalid_transition', 'within the 2 s cooldown: refused')
  t.match(!tooSoon.ok && tooSoon.error.message, /unlock cooldown/)
  const second = transition(first.session, act('resident', '2', 'unlock'), T0 + 7_000, OPTIONS)
  t.ok(second.ok && second.changed, 'after the cooldown: unlocks again')
  t.equal(second.ok && second.session.seq, s0.seq + 2)
})

t.test('end-session forces the end and reaches everyone still in the call', async t => {
  const r = transition(ringing(), { type: 'end', by: identity('service', 'ops'), reason: 'maintenance' }, T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.session.end_reason, 'forced')
  t.equal(r.session.ended_by, 'service/ops')
  t.same(r.session.call_info, { call_id: CALL_ID, action: 'forced', reason: 'maintenance', timestamp: T0 + 1_000 })
  t.same(r.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'forced', reason: 'maintenance' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'forced', reason: 'maintenance' },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'forced', reason: 'maintenance' },
    { type: 'event', action: 'forced', actor: 'service/ops', reason: 'maintenance' }
  ])
  t.same(r.session.deadlines, { ring: null, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null }, 'the end clears every deadline')
  const c = transition(connected(), { type: 'end', by: identity('resident', '2') }, T0 + 5_000, OPTIONS)
  t.same(c.ok && c.effects.filter(e => e.type === 'control').map(e => e.type === 'control' && e.to.id), ['1', '2'])
  const again = transition(r.session, { type: 'end', by: identity('service', 'other') }, T0 + 6_000, OPTIONS)
  t.ok(again.ok && !again.changed, 'idempotent')
})

t.test('ring timer: only a due deadline ends the call', async t => {
  const s = ringing()
  const early = transition(s, { type: 'timer', timer: 'ring' }, T0 + 29_999, OPTIONS)
  t.ok(early.ok && !early.changed, 'not yet due')
  const due = transition(s, { type: 'timer', timer: 'ring' }, T0 + 30_000, OPTIONS)
  t.ok(due.ok)
  if (!due.ok) return
  t.equal(due.session.end_reason, 'timeout')
  t.equal(due.session.ended_by, 'system')
  t.same(due.session.legs.map(l => l.state), ['timeout', 'timeout', 'busy'])
  t.same(due.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'timeout', reason: null },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'timeout', reason: null },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'timeout', reason: null },
    { type: 'event', action: 'timeout', actor: 'system', reason: null }
  ])
  const stale = transition(connected(), { type: 'timer', timer: 'ring' }, LATER, OPTIONS)
  t.ok(stale.ok && !stale.changed, 'stale after the answer')
})

t.test('max duration ends a connected call', async t => {
  const s = connected()
  const early = transition(s, { type: 'timer', timer: 'max_duration' }, T0 + 1_000 + 7_199_999, OPTIONS)
  t.ok(early.ok && !early.changed)
  const due = transition(s, { type: 'timer', timer: 'max_duration' }, T0 + 1_000 + 7_200_000, OPTIONS)
  t.ok(due.ok)
  if (!due.ok) return
  t.equal(due.session.end_reason, 'max_duration')
  t.same(due.effects.map(e => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}` : e.type),
    ['device/1:max_duration', 'resident/2:max_duration', 'event'])
})

t.test('device offline while ringing ends the call at once', async t => {
  const r = transition(ringing(), { type: 'device_presence', online: false }, T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.equal(r.session.end_reason, 'device_offline')
  t.equal(r.session.ended_by, 'system')
  t.same(r.session.legs.map(l => l.state), ['cancelled', 'cancelled', 'busy'])
  t.same(r.effects.map(e => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}` : e.type),
    ['device/1:device_offline', 'resident/2:device_offline', 'resident/3:device_offline', 'event'])
})

t.test('device offline while connected: grace, then end; back online in time: nothing', async t => {
  const s = connected()
  const gone = transition(s, { type: 'device_presence', online: false }, T0 + 2_000, OPTIONS)
  t.ok(gone.ok && gone.changed)
  if (!gone.ok) return
  t.equal(gone.session.seq, s.seq, 'not a transition')
  t.equal(gone.session.deadlines.device_offline, T0 + 12_000)
  t.same(gone.effects, [], 'no message: the deadline is in the session')

  const stillGone = transition(gone.session, { type: 'device_presence', online: false }, T0 + 3_000, OPTIONS)
  t.ok(stillGone.ok && !stillGone.changed, 'the first grace keeps running')

  const back = transition(gone.session, { type: 'device_presence', online: true }, T0 + 5_000, OPTIONS)
  t.ok(back.ok && back.changed)
  t.same(back.ok && back.effects, [])
  t.equal(back.ok && back.session.deadlines.device_offline, null)
  const staleTimer = transition(must(back), { type: 'timer', timer: 'device_offline' }, T0 + 12_000, OPTIONS)
  t.ok(staleTimer.ok && !staleTimer.changed, 'cleared grace timer is stale')

  const early = transition(gone.session, { type: 'timer', timer: 'device_offline' }, T0 + 11_999, OPTIONS)
  t.ok(early.ok && !early.changed)
  const lapsed = transition(gone.session, { type: 'timer', timer: 'device_offline' }, T0 + 12_000, OPTIONS)
  t.ok(lapsed.ok)
  if (!lapsed.ok) return
  t.equal(lapsed.session.end_reason, 'device_offline')
  t.same(lapsed.effects.map(e => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}` : e.type),
    ['device/1:device_offline', 'resident/2:device_offline', 'event'])

  const hungUp = transition(gone.session, act('resident', '2', 'hangup'), T0 + 4_000, OPTIONS)
  t.same(hungUp.ok && hungUp.session.deadlines, { ring: null, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null }, 'ending clears every deadline')
})

t.test('seq rises by one per transition and history records each', async t => {
  let s = ringing()
  s = must(transition(s, act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  s = must(transition(s, act('resident', '3', 'answered'), T0 + 2_000, OPTIONS))
  s = must(transition(s, { type: 'device_presence', online: false }, T0 + 2_500, OPTIONS))
  s = must(transition(s, act('resident', '3', 'unlock'), T0 + 3_000, OPTIONS))
  s = must(transition(s, act('device', '1', 'hangup'), T0 + 4_000, OPTIONS))
  t.equal(s.seq, 5)
  t.equal(s.version, 6, 'the grace start is a stored change')
  t.same(s.history.map(h => [h.seq, h.action, h.actor, h.timestamp]), [
    [1, 'ringing', 'device/1', T0],
    [2, 'rejected', 'resident/2', T0 + 1_000],
    [3, 'answered', 'resident/3', T0 + 2_000],
    [4, 'unlock', 'resident/3', T0 + 3_000],
    [5, 'hangup', 'device/1', T0 + 4_000]
  ])
  t.equal(s.last_activity, T0 + 4_000)
})

t.test('call_info echoes the client timestamp; history keeps server time', async t => {
  const s = must(transition(ringing(), { type: 'action', actor: { kind: 'resident', id: '2' }, action: 'answered', timestamp: 7 }, T0 + 1_000, OPTIONS))
  t.same(s.call_info, { call_id: CALL_ID, action: 'answered', reason: null, timestamp: 7 })
  t.equal(s.history.at(-1)?.timestamp, T0 + 1_000)
})

t.test('newCallId: call-YYYYMMDD- (UTC) and 16 hex', async t => {
  const id = newCallId(Date.UTC(2024, 11, 31, 23, 59, 59), size => Buffer.alloc(size, 0xab))
  t.equal(id, 'call-20241231-abababababababab')
  t.match(newCallId(T0), new RegExp(CALL_ID_PATTERN))
  t.not(newCallId(T0), newCallId(T0))
})

t.test('1,000 unlocks: history and event size stay bounded', async t => {
  let s = connected()
  const sizes: number[] = []
  for (let i = 1; i <= 1_000; i++) {
    const result = transition(s, act('resident', '2', 'unlock'), T0 + 10_000 + i * OPTIONS.unlockCooldownMs, OPTIONS)
    if (!result.ok) throw result.error
    s = result.session
    const event = result.effects.find(e => e.type === 'event')
    if (event?.type !== 'event') throw new Error('no event')
    sizes.push(JSON.stringify(eventMessage(s, event, T0)).length)
  }
  t.equal(s.seq, 1_002, 'every unlock was a transition')
  t.equal(s.history.filter(h => h.action === 'unlock').length, HISTORY_COMMANDS_KEPT, 'the latest 20 unlocks are kept')
  t.equal(s.history_dropped, 1_000 - HISTORY_COMMANDS_KEPT, 'the others are counted')
  t.same(s.history.slice(0, 2).map(h => h.action), ['ringing', 'answered'], 'every state change is kept')
  t.same(s.history.slice(2).map(h => h.seq), Array.from({ length: 20 }, (_, i) => 983 + i), 'the kept unlocks are the latest, in order')
  t.ok(Math.max(...sizes) - Math.min(...sizes) < 16, `event size does not grow (${Math.min(...sizes)}–${Math.max(...sizes)} bytes)`)
  t.ok(Math.max(...sizes) < 2_048, 'an event is small')
  t.notOk('history' in (eventMessage(s, { type: 'event', action: 'unlock', actor: 'resident/2', reason: null }, T0).session), 'events carry no history')
  t.ok(JSON.stringify(s).length < 8_192, 'the stored session stays small')
  t.equal(HISTORY_COMMANDS_KEPT, 20)
})

t.test('decline_all: the call ends rejected, every other ringing leg is cancelled declined_elsewhere', async t => {
  const r = transition(ringing(), act('resident', '3', 'decline_all', 'not now'), T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.match(r.session, { status: 'ended', end_reason: 'rejected', ended_by: 'resident/3', resident_id: null })
  t.same(r.session.legs.map(l => l.state), ['cancelled', 'rejected', 'busy'])
  t.same(r.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'rejected', reason: 'not now', residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'cancelled', reason: 'declined_elsewhere', residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'rejected', reason: 'not now', residentId: '3' },
    { type: 'event', action: 'decline_all', actor: 'resident/3', reason: 'not now' }
  ])
  t.same(r.session.deadlines, { ring: null, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null })
})

t.test('household policy on_reject: all makes a plain rejected a decline_all; leg keeps the others ringing', async t => {
  const start = (onReject: 'leg' | 'all'): CallSession => {
    const s = startCall({ callId: CALL_ID, provider: 'trtc', deviceId: '1', targets: ['2', '3'], busy: [], activeCall: null, householdNumber: '101', onReject }, T0, OPTIONS)
    if (!s.ok) throw s.error
    return s.session
  }
  t.equal(start('leg').on_reject, 'leg')
  const leg = must(transition(start('leg'), act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  t.match(leg, { status: 'ringing', legs: [{ state: 'rejected' }, { state: 'ringing' }] })
  const all = transition(start('all'), act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS)
  t.ok(all.ok)
  if (!all.ok) return
  t.match(all.session, { status: 'ended', end_reason: 'rejected', ended_by: 'resident/2', legs: [{ state: 'rejected' }, { state: 'cancelled' }] })
  t.same(all.effects.filter(e => e.type === 'control' && e.to.id === '3'), [
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'cancelled', reason: 'declined_elsewhere', residentId: '2' }
  ])
  const timeout = must(transition(start('all'), act('resident', '2', 'timeout'), T0 + 1_000, OPTIONS))
  t.equal(timeout.status, 'ringing', 'a ring that gave up is no rejection: the others ring on')
})

t.test('unlock from the preview: the door opens, the call ends unlocked, the others are cancelled', async t => {
  const r = transition(ringing(), act('resident', '3', 'unlock'), T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.match(r.session, { status: 'ended', end_reason: 'unlocked', ended_by: 'resident/3', resident_id: '3' })
  t.same(r.session.legs.map(l => l.state), ['cancelled', 'answered', 'busy'])
  t.same(r.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'unlock', reason: null, residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'cancelled', reason: 'answered_elsewhere', residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'unlock', reason: null, residentId: '3' },
    { type: 'event', action: 'unlock', actor: 'resident/3', reason: null }
  ])
})

t.test('can_unlock false: no unlock from the preview nor during the call (403)', async t => {
  const denied: CallEvent = { type: 'action', actor: { kind: 'resident', id: '2' }, action: 'unlock', canUnlock: false }
  for (const s of [ringing(), connected()]) {
    const r = transition(s, denied, T0 + 5_000, OPTIONS)
    t.equal(!r.ok && r.error.code, 'forbidden', s.status)
    t.match(!r.ok && r.error.message, /does not let this resident open the door/)
  }
  const declined = must(transition(ringing(), act('resident', '2', 'rejected'), T0 + 1_000, OPTIONS))
  const late = transition(declined, act('resident', '2', 'unlock'), T0 + 2_000, OPTIONS)
  t.equal(!late.ok && late.error.code, 'invalid_transition', 'a resident who declined cannot open from the preview')
})

t.test('hang up after opening: the first unlock of a connected call ends it unlocked after UNLOCK_HANGUP_MS', async t => {
  const opened = must(transition(connected(), act('resident', '2', 'unlock'), T0 + 5_000, OPTIONS))
  t.equal(opened.deadlines.unlock_hangup, T0 + 10_000)
  const again = must(transition(opened, act('resident', '2', 'unlock'), T0 + 8_000, OPTIONS))
  t.equal(again.deadlines.unlock_hangup, T0 + 10_000, 'a second unlock does not push it back')
  const early = transition(again, { type: 'timer', timer: 'unlock_hangup' }, T0 + 9_999, OPTIONS)
  t.ok(early.ok && !early.changed, 'not yet due')
  const due = transition(again, { type: 'timer', timer: 'unlock_hangup' }, T0 + 10_000, OPTIONS)
  t.ok(due.ok)
  if (!due.ok) return
  t.match(due.session, { status: 'ended', end_reason: 'unlocked', ended_by: 'system' })
  t.same(due.effects.map(e => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}` : e.type), ['device/1:unlocked', 'resident/2:unlocked', 'event'])
  const hungUp = must(transition(again, act('device', '1', 'hangup'), T0 + 9_000, OPTIONS))
  t.equal(hungUp.deadlines.unlock_hangup, null, 'a hangup first clears it')
  const off = must(transition(connected(), act('resident', '2', 'unlock'), T0 + 5_000, { ...OPTIONS, unlockHangupMs: 0 }))
  t.equal(off.deadlines.unlock_hangup, null, 'UNLOCK_HANGUP_MS=0 keeps the call up')
})

t.test('removal from the directory: the device ends its call forced; a resident loses its ringing leg', async t => {
  const gone = transition(connected(), { type: 'device_removed' }, T0 + 5_000, OPTIONS)
  t.ok(gone.ok)
  if (!gone.ok) return
  t.match(gone.session, { status: 'ended', end_reason: 'forced', ended_by: 'system', call_info: { action: 'forced', reason: 'device_removed' } })
  t.same(gone.effects.map(e => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}:${String(e.reason)}` : e.type),
    ['device/1:forced:device_removed', 'resident/2:forced:device_removed', 'event'])

  const first = transition(ringing(), { type: 'resident_removed', residentId: '3' }, T0 + 1_000, OPTIONS)
  t.ok(first.ok)
  if (!first.ok) return
  t.match(first.session, { status: 'ringing', legs: [{ state: 'ringing' }, { state: 'cancelled' }, { state: 'busy' }] })
  t.same(first.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'cancelled', reason: 'removed', residentId: '3' },
    { type: 'control', to: { kind: 'resident', id: '3' }, action: 'cancelled', reason: 'removed', residentId: '3' },
    { type: 'event', action: 'cancelled', actor: 'system', reason: 'removed' }
  ])
  const last = must(transition(first.session, { type: 'resident_removed', residentId: '2' }, T0 + 2_000, OPTIONS))
  t.match(last, { status: 'ended', end_reason: 'cancelled', ended_by: 'system' }, 'no leg rings any more: the call ends')
  const busy = transition(ringing(), { type: 'resident_removed', residentId: '4' }, T0 + 1_000, OPTIONS)
  t.ok(busy.ok && !busy.changed, 'a busy leg does not ring: nothing to do')
  const answerer = transition(connected(), { type: 'resident_removed', residentId: '2' }, T0 + 5_000, OPTIONS)
  t.ok(answerer.ok && !answerer.changed, 'the conversation goes on')
})

const result = (ok: boolean, door?: string): CallEvent =>
  ({ type: 'action', actor: { kind: 'device', id: '1' }, action: 'unlock_result', result: { ok, door: door ?? null } })

t.test('unlock_result: one per unlock, to the resident who unlocked, in history and the event; also after the end', async t => {
  const refused = transition(connected(), result(true), T0 + 2_000, OPTIONS)
  t.equal(!refused.ok && refused.error.code, 'invalid_transition', 'no unlock yet: nothing to answer')
  const opened = must(transition(connected(), act('resident', '2', 'unlock'), T0 + 2_000, OPTIONS))
  const told = transition(opened, result(true, 'gate'), T0 + 2_500, OPTIONS)
  t.ok(told.ok)
  if (!told.ok) return
  t.equal(told.session.status, 'connected')
  t.same(told.effects, [
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'unlock_result', reason: null, residentId: '2', result: { ok: true, door: 'gate' } },
    { type: 'event', action: 'unlock_result', actor: 'device/1', reason: null, result: { ok: true, door: 'gate' } }
  ])
  t.match(told.session.history.at(-1), { action: 'unlock_result', actor: 'device/1', result: { ok: true, door: 'gate' }, seq: told.session.seq })
  const twice = transition(told.session, result(false), T0 + 2_600, OPTIONS)
  t.equal(!twice.ok && twice.error.code, 'invalid_transition', 'a second result for the same unlock is refused')
  const again = must(transition(told.session, act('resident', '2', 'unlock'), T0 + 5_000, OPTIONS))
  t.ok(transition(again, result(false), T0 + 5_100, OPTIONS).ok, 'the next unlock takes the next result')

  const preview = must(transition(ringing(), act('resident', '3', 'unlock'), T0 + 1_000, OPTIONS))
  const afterEnd = transition(preview, result(true), T0 + 1_500, OPTIONS)
  t.ok(afterEnd.ok, 'the call ended unlocked from the preview: the result still goes through')
  if (!afterEnd.ok) return
  t.match(afterEnd.session, { status: 'ended', end_reason: 'unlocked', seq: preview.seq + 1 })
  t.same(afterEnd.effects[0], { type: 'control', to: { kind: 'resident', id: '3' }, action: 'unlock_result', reason: null, residentId: '3', result: { ok: true, door: null } })
  const stranger = transition(opened, { ...result(true), actor: { kind: 'device', id: '9' } } as CallEvent, T0 + 2_500, OPTIONS)
  t.equal(!stranger.ok && stranger.error.code, 'forbidden', 'only the call\'s device')
})

t.test('ending_soon: CALL_WARNING_MS before max_duration, to the device and the answerer; off at 0', async t => {
  const call = connected()
  const endsAt = T0 + 1_000 + 7_200_000
  t.equal(call.deadlines.ending_soon, endsAt - 10_000)
  const early = transition(call, { type: 'timer', timer: 'ending_soon' }, endsAt - 10_001, OPTIONS)
  t.ok(early.ok && !early.changed, 'not yet due')
  const warned = transition(call, { type: 'timer', timer: 'ending_soon' }, endsAt - 10_000, OPTIONS)
  t.ok(warned.ok)
  if (!warned.ok) return
  t.match(warned.session, { status: 'connected', seq: call.seq + 1, deadlines: { ending_soon: null, max_duration: endsAt } })
  t.same(warned.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'ending_soon', reason: null, residentId: '2', endsAt },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'ending_soon', reason: null, residentId: '2', endsAt },
    { type: 'event', action: 'ending_soon', actor: 'system', reason: null }
  ])
  const once = transition(warned.session, { type: 'timer', timer: 'ending_soon' }, endsAt - 5_000, OPTIONS)
  t.ok(once.ok && !once.changed, 'a warning fires once')
  const off = must(transition(ringing(), act('resident', '2', 'answered'), T0 + 1_000, { ...OPTIONS, callWarningMs: 0 }))
  t.equal(off.deadlines.ending_soon, null, 'CALL_WARNING_MS=0: no warning')
  const tooLong = must(transition(ringing(), act('resident', '2', 'answered'), T0 + 1_000, { ...OPTIONS, callWarningMs: 7_200_000 }))
  t.equal(tooLong.deadlines.ending_soon, null, 'a warning as long as the call: none')
})

t.test('extend: the answerer adds MAX_CALL_MS, at most MAX_EXTENSIONS times; the warning moves with it', async t => {
  let call = connected()
  const first = call.deadlines.max_duration as number
  const ext = transition(call, act('resident', '2', 'extend'), T0 + 60_000, OPTIONS)
  t.ok(ext.ok)
  if (!ext.ok) return
  t.match(ext.session, { status: 'connected', seq: call.seq + 1, deadlines: { max_duration: first + 7_200_000, ending_soon: first + 7_200_000 - 10_000 } })
  t.same(ext.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'extend', reason: null, residentId: '2', endsAt: first + 7_200_000 },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'extend', reason: null, residentId: '2', endsAt: first + 7_200_000 },
    { type: 'event', action: 'extend', actor: 'resident/2', reason: null }
  ])
  const stale = transition(ext.session, { type: 'timer', timer: 'max_duration' }, first, OPTIONS)
  t.ok(stale.ok && !stale.changed, 'the old deadline is stale')
  call = ext.session
  for (let i = 1; i < 3; i++) call = must(transition(call, act('resident', '2', 'extend'), T0 + 60_000 + i, OPTIONS))
  t.equal(call.deadlines.max_duration, first + 3 * 7_200_000)
  const fourth = transition(call, act('resident', '2', 'extend'), T0 + 70_000, OPTIONS)
  t.match(!fourth.ok && fourth.error, { code: 'invalid_transition', message: /MAX_EXTENSIONS/ }, 'past MAX_EXTENSIONS: 409')
  const device = transition(connected(), act('device', '1', 'extend'), T0 + 60_000, OPTIONS)
  t.equal(!device.ok && device.error.code, 'invalid_transition', 'the device may not extend')
  const none = transition(connected(), act('resident', '2', 'extend'), T0 + 60_000, { ...OPTIONS, maxExtensions: 0 })
  t.equal(!none.ok && none.error.code, 'invalid_transition', 'MAX_EXTENSIONS=0: never')
})

import t from 'tap'
import { startCall, transition, type CallEvent, type MachineOptions, type StartParams, type TransitionResult } from '../../lib/calls/machine'
import { render } from '../../lib/calls/render'
import type { CallSession, ClientAction } from '../../lib/calls/session'
import { pushCueOf } from '../../lib/push/payloads'

/** Reaching residents, in the pure machine with a fake clock: do not disturb. */

const OPTIONS: MachineOptions = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 2_000, unlockHangupMs: 5_000 }
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)
const CALL_ID = 'call-20240102-0123456789abcdef'

const params = (more: Partial<StartParams>): StartParams =>
  ({ callId: CALL_ID, provider: 'trtc', deviceId: '1', targets: ['2', '3', '4'], busy: [], activeCall: null, householdNumber: '101', ...more })

function start (more: Partial<StartParams>): CallSession {
  const started = startCall(params(more), T0, OPTIONS)
  if (!started.ok) throw started.error
  return started.session
}

function must (result: TransitionResult): CallSession {
  if (!result.ok) throw result.error
  return result.session
}

const act = (id: string, action: ClientAction): CallEvent => ({ type: 'action', actor: { kind: 'resident', id }, action })

t.test('do not disturb: a dnd leg, no invite; the others ring', async (t) => {
  const started = startCall(params({ dnd: ['3'], busy: ['4'] }), T0, OPTIONS)
  t.ok(started.ok)
  if (!started.ok) return
  t.same(started.session.legs, [{ resident_id: '2', state: 'ringing', delivery: 'queued' }, { resident_id: '3', state: 'dnd' }, { resident_id: '4', state: 'busy' }])
  t.same(started.effects.filter((e) => e.type === 'invite'), [{ type: 'invite', residentId: '2' }], 'only the ringing leg is invited')
  t.same(started.session.target_resident_ids, ['2', '3', '4'], 'a dnd resident stays a target')
})

t.test('a resident both in a call and in DND shows as busy', async (t) => {
  t.same(start({ dnd: ['2'], busy: ['2'] }).legs.map((l) => l.state), ['busy', 'ringing', 'ringing'])
})

t.test('nobody to ring: everyone busy is residents_busy; busy or in DND is residents_unavailable', async (t) => {
  const refused = (more: Partial<StartParams>): string | false => {
    const r = startCall(params(more), T0, OPTIONS)
    return !r.ok && r.error.code
  }
  t.equal(refused({ busy: ['2', '3', '4'] }), 'residents_busy')
  t.equal(refused({ dnd: ['2', '3', '4'] }), 'residents_unavailable')
  t.equal(refused({ busy: ['2'], dnd: ['3', '4'] }), 'residents_unavailable')
  const r = startCall(params({ dnd: ['2', '3', '4'] }), T0, OPTIONS)
  t.match(!r.ok && r.error.message, /in a call or in do not disturb/)
  t.equal(refused({ dnd: ['2', '3'] }), false, 'one resident free: the call rings')
})

t.test('a dnd resident is no party: it may not answer, read or end the call', async (t) => {
  const s = start({ dnd: ['3'] })
  const answered = transition(s, act('3', 'answered'), T0 + 1_000, OPTIONS)
  t.equal(!answered.ok && answered.error.code, 'forbidden')
  const ended = transition(s, { type: 'end', by: { kind: 'resident', id: '3', name: 'resident/3' } }, T0 + 1_000, OPTIONS)
  t.equal(!ended.ok && ended.error.code, 'forbidden')
  const last = must(transition(must(transition(s, act('2', 'rejected'), T0 + 1_000, OPTIONS)), act('4', 'rejected'), T0 + 2_000, OPTIONS))
  t.match(last, { status: 'ended', end_reason: 'rejected' }, 'the call ends when the rung residents are done')
  t.same(last.legs.map((l) => l.state), ['rejected', 'dnd', 'rejected'], 'the dnd leg stays dnd')
})

/** Sequential ring, 10 s per resident within the 30 s ring timeout. */
const sequential = (more: Partial<StartParams> = {}): CallSession => start({ ringStepMs: 10_000, ...more })
const timer = (name: 'ring' | 'next_resident'): CallEvent => ({ type: 'timer', timer: name })
const states = (s: CallSession): string[] => s.legs.map((l) => l.state)

t.test('sequential ring: the first free resident rings, the others wait their turn', async (t) => {
  const started = startCall(params({ ringStepMs: 10_000 }), T0, OPTIONS)
  t.ok(started.ok)
  if (!started.ok) return
  t.same(states(started.session), ['ringing', 'waiting', 'waiting'])
  t.equal(started.session.ring_step_ms, 10_000)
  t.same(started.effects.filter((e) => e.type === 'invite'), [{ type: 'invite', residentId: '2' }])
  t.match(started.session.deadlines, { ring: T0 + 30_000, next_resident: T0 + 10_000 })
  t.equal(start({}).ring_step_ms, null, 'parallel by default')
  t.equal(start({}).deadlines.next_resident, null)
})

t.test('sequential ring: each turn ends at its deadline and the next resident rings, all within the ring timeout', async (t) => {
  const early = transition(sequential(), timer('next_resident'), T0 + 9_999, OPTIONS)
  t.ok(early.ok && !early.changed, 'not due yet')
  const second = transition(sequential(), timer('next_resident'), T0 + 10_000, OPTIONS)
  t.ok(second.ok)
  if (!second.ok) return
  t.same(states(second.session), ['timeout', 'ringing', 'waiting'])
  t.match(second.session, { status: 'ringing', seq: 2, call_info: { action: 'timeout', reason: 'next_resident' } })
  t.same(second.effects, [
    { type: 'control', to: { kind: 'device', id: '1' }, action: 'timeout', reason: 'next_resident', residentId: '2' },
    { type: 'control', to: { kind: 'resident', id: '2' }, action: 'timeout', reason: 'next_resident' },
    { type: 'invite', residentId: '3' },
    { type: 'event', action: 'timeout', actor: 'system', reason: 'next_resident' }
  ])
  t.equal(second.session.deadlines.next_resident, T0 + 20_000)
  const third = must(transition(second.session, timer('next_resident'), T0 + 20_000, OPTIONS))
  t.same(states(third), ['timeout', 'timeout', 'ringing'])
  t.equal(third.deadlines.next_resident, null, 'the last turn runs to the ring timeout')
  const over = must(transition(third, timer('ring'), T0 + 30_000, OPTIONS))
  t.match(over, { status: 'ended', end_reason: 'timeout' })
  t.same(states(over), ['timeout', 'timeout', 'timeout'])
})

t.test('sequential ring: a turn never outlasts the ring timeout; later residents may never ring', async (t) => {
  const s = start({ ringStepMs: 20_000 })
  t.equal(s.deadlines.next_resident, T0 + 20_000)
  const second = must(transition(s, timer('next_resident'), T0 + 20_000, OPTIONS))
  t.equal(second.deadlines.next_resident, null, 'T0 + 40 s would be past the ring timeout')
  const over = must(transition(second, timer('ring'), T0 + 30_000, OPTIONS))
  t.same(states(over), ['timeout', 'timeout', 'waiting'], 'resident 4 was never rung: its leg stays waiting')
})

t.test('sequential ring: a rejection moves on at once; the last one ends the call', async (t) => {
  const r = transition(sequential(), act('2', 'rejected'), T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.same(states(r.session), ['rejected', 'ringing', 'waiting'])
  t.equal(r.session.deadlines.next_resident, T0 + 11_000, 'the next resident gets a whole turn')
  t.same(r.effects.map((e) => e.type === 'control' ? `${e.to.kind}/${e.to.id}:${e.action}` : `${e.type}`), ['device/1:rejected', 'resident/2:rejected', 'invite', 'event'])
  const timedOut = must(transition(r.session, act('3', 'timeout'), T0 + 2_000, OPTIONS))
  t.same(states(timedOut), ['rejected', 'timeout', 'ringing'], 'its own ring giving up moves on too')
  const last = must(transition(timedOut, act('4', 'rejected'), T0 + 3_000, OPTIONS))
  t.match(last, { status: 'ended', end_reason: 'rejected', ended_by: 'resident/4' })
  t.ok(Object.values(last.deadlines).every((at) => at === null), 'the end clears every deadline')
})

t.test('sequential ring: an answer stops the sequence; waiting legs stay waiting and hear nothing', async (t) => {
  const r = transition(sequential(), act('2', 'answered'), T0 + 1_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  t.same(states(r.session), ['answered', 'waiting', 'waiting'])
  t.equal(r.session.deadlines.next_resident, null)
  t.same(r.effects.filter((e) => e.type === 'control' && e.to.kind === 'resident' && e.to.id !== '2'), [], 'nothing to residents never rung')
  const stale = transition(r.session, timer('next_resident'), T0 + 10_000, OPTIONS)
  t.ok(stale.ok && !stale.changed, 'a turn deadline after the answer does nothing')
  const cancelled = must(transition(sequential(), { type: 'action', actor: { kind: 'device', id: '1' }, action: 'cancelled' }, T0 + 1_000, OPTIONS))
  t.same(states(cancelled), ['cancelled', 'waiting', 'waiting'], 'the device gives up: waiting legs stay waiting')
})

t.test('sequential ring: a waiting resident is no party yet', async (t) => {
  const r = transition(sequential(), act('3', 'answered'), T0 + 1_000, OPTIONS)
  t.equal(!r.ok && r.error.code, 'forbidden')
})

t.test('sequential ring skips busy and DND residents; one free resident has no turns', async (t) => {
  const s = sequential({ busy: ['2'], dnd: ['3'] })
  t.same(states(s), ['busy', 'dnd', 'ringing'])
  t.equal(s.deadlines.next_resident, null)
  const two = sequential({ dnd: ['2'] })
  t.same(states(two), ['dnd', 'ringing', 'waiting'])
})

t.test('sequential ring: a removed ringing resident hands the turn on', async (t) => {
  const r = must(transition(sequential(), { type: 'resident_removed', residentId: '2' }, T0 + 1_000, OPTIONS))
  t.same(states(r), ['cancelled', 'ringing', 'waiting'])
  t.equal(r.deadlines.next_resident, T0 + 11_000)
})

const delivered = (residentId: string, delivery: 'online' | 'push' | 'queued'): CallEvent => ({ type: 'delivery', residentId, delivery })

t.test('delivery: online or queued at the invite; a push accepted later is recorded without a transition', async (t) => {
  const s = start({ online: ['3'], busy: ['4'] })
  t.same(s.legs, [{ resident_id: '2', state: 'ringing', delivery: 'queued' }, { resident_id: '3', state: 'ringing', delivery: 'online' }, { resident_id: '4', state: 'busy' }])
  const r = transition(s, delivered('2', 'push'), T0 + 500, OPTIONS)
  t.ok(r.ok && r.changed)
  if (!r.ok) return
  t.equal(r.session.legs[0]?.delivery, 'push')
  t.match(r.session, { seq: 1, version: 2, history: [{ action: 'ringing' }] }, 'no seq, no history: only the stored session changes')
  t.same(r.effects, [], 'nobody is told')
  const again = transition(r.session, delivered('2', 'push'), T0 + 600, OPTIONS)
  t.ok(again.ok && !again.changed, 'the same news twice changes nothing')
  const busy = transition(s, delivered('4', 'push'), T0 + 600, OPTIONS)
  t.ok(busy.ok && !busy.changed, 'a leg never invited has no delivery')
  const stranger = transition(s, delivered('9', 'push'), T0 + 600, OPTIONS)
  t.ok(stranger.ok && !stranger.changed, 'no such leg')
  const ended = must(transition(s, { type: 'action', actor: { kind: 'device', id: '1' }, action: 'cancelled' }, T0 + 700, OPTIONS))
  t.equal(must(transition(ended, delivered('2', 'push'), T0 + 800, OPTIONS)).legs[0]?.delivery, 'push', 'a push accepted after the end is still recorded')
})

t.test('delivery: the next resident of a sequential ring starts queued; the shell reports online', async (t) => {
  const next = must(transition(sequential({ online: ['2', '3'] }), act('2', 'rejected'), T0 + 1_000, OPTIONS))
  t.same(next.legs.map((l) => [l.state, l.delivery]), [['rejected', 'online'], ['ringing', 'queued'], ['waiting', undefined]])
  t.equal(must(transition(next, delivered('3', 'online'), T0 + 1_001, OPTIONS)).legs[1]?.delivery, 'online')
})

t.test('sequential ring: the end of a turn cancels the push of the resident whose turn it was', async (t) => {
  const r = transition(sequential(), timer('next_resident'), T0 + 10_000, OPTIONS)
  t.ok(r.ok)
  if (!r.ok) return
  const cues = render(r.session, r.effects, T0 + 10_000, () => null).map((m) => pushCueOf(m.topic, m.payload)).filter((c) => c !== null)
  t.match(cues, [
    { kind: 'ring_over', residentId: '2', callId: CALL_ID, reason: 'timeout', seq: 2 },
    { kind: 'invite', residentId: '3', push: { call_id: CALL_ID, expires_at: T0 + 20_000, seq: 2 } }
  ], 'resident 2 gets call.cancelled, resident 3 the invite, stale at the end of its turn')
})

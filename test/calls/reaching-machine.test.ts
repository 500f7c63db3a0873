import t from 'tap'
import { startCall, transition, type CallEvent, type MachineOptions, type StartParams, type TransitionResult } from '../../lib/calls/machine'
import type { CallSession, ClientAction } from '../../lib/calls/session'

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
  t.same(started.session.legs, [{ resident_id: '2', state: 'ringing' }, { resident_id: '3', state: 'dnd' }, { resident_id: '4', state: 'busy' }])
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

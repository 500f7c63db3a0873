import t from 'tap'
import { mayEnd, mayJoinMedia, mayRead, mayStart, partyOf } from '../../lib/calls/call-rights'
import type { CallSession, LegState } from '../../lib/calls/session'
import { identity, type Identity } from '../../lib/identity'

/** Device 1's call; resident 2..7 each have a leg in the given state; resident 9 none. */
function call (status: CallSession['status']): CallSession {
  const states: LegState[] = ['ringing', 'answered', 'rejected', 'timeout', 'cancelled', 'busy']
  return {
    call_id: 'call-20240102-0123456789abcdef',
    status,
    provider: 'trtc',
    device_device_id: '1',
    target_resident_ids: states.map((_, i) => String(i + 2)),
    resident_id: '3',
    household_number: null,
    on_reject: 'leg',
    ring_step_ms: null,
    start_time: 0,
    answer_time: null,
    end_time: null,
    end_reason: null,
    last_activity: 0,
    call_info: { call_id: 'call-20240102-0123456789abcdef', action: 'ringing', reason: null, timestamp: 0 },
    history: [],
    history_dropped: 0,
    legs: states.map((state, i) => ({ resident_id: String(i + 2), state })),
    ended_by: null,
    seq: 1,
    version: 1,
    deadlines: { ring: null, max_duration: null, device_offline: null, unlock_hangup: null, ending_soon: null, next_resident: null }
  }
}

/** Expected [read, media, end] per identity, written out apart from the code. */
const EXPECTED: Array<[Identity, boolean, boolean, boolean]> = [
  [identity('service', 'ops'), true, false, true],
  [identity('device', '1'), true, true, true],
  [identity('device', '5'), false, false, false],
  [identity('resident', '2'), true, true, true], // ringing
  [identity('resident', '3'), true, true, true], // answered
  [identity('resident', '4'), true, false, false], // rejected
  [identity('resident', '5'), true, false, false], // timeout
  [identity('resident', '6'), true, false, false], // cancelled
  [identity('resident', '7'), false, false, false], // busy
  [identity('resident', '9'), false, false, false], // never a target
  [identity('client', 'meter-gw'), false, false, false]
]

t.test('who may read, join the media of, and end a call', async (t) => {
  for (const status of ['connected', 'ended'] as const) {
    const s = call(status)
    for (const [who, read, media, end] of EXPECTED) {
      t.equal(mayRead(who, s), read, `${status}: ${who.name} reads`)
      t.equal(mayJoinMedia(who, s), media, `${status}: ${who.name} joins the media`)
      t.equal(mayEnd(who, s), end, `${status}: ${who.name} ends`)
    }
  }
})

t.test('a device starts calls for itself; a service for any device', async (t) => {
  t.ok(mayStart(identity('device', '1'), '1'))
  t.notOk(mayStart(identity('device', '1'), '5'))
  t.ok(mayStart(identity('service', 'ops'), '5'))
  t.notOk(mayStart(identity('resident', '2'), '1'))
  t.notOk(mayStart(identity('client', 'meter-gw'), '1'))
})

t.test('the party a request acts as', async (t) => {
  const s = call('ringing')
  t.same(partyOf(identity('device', '1'), 'device', undefined, s), { kind: 'device', id: '1' })
  t.same(partyOf(identity('service', 'ops'), 'device', undefined, s), { kind: 'device', id: '1' }, 'a service acts as the call\'s device')
  t.same(partyOf(identity('resident', '2'), 'resident', undefined, s), { kind: 'resident', id: '2' })
  t.same(partyOf(identity('resident', '2'), 'resident', '2', s), { kind: 'resident', id: '2' })
  t.throws(() => partyOf(identity('resident', '2'), 'resident', '3', s), { code: 'forbidden' }, 'not for another resident')
  t.same(partyOf(identity('service', 'ops'), 'resident', '3', s), { kind: 'resident', id: '3' })
  t.throws(() => partyOf(identity('service', 'ops'), 'resident', undefined, s), { code: 'invalid_request' }, 'a service names the resident')
  t.throws(() => partyOf(identity('resident', '2'), 'device', undefined, s), { code: 'forbidden' })
  t.throws(() => partyOf(identity('client', 'meter-gw'), 'resident', '2', s), { code: 'forbidden' })
})

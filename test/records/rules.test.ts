import t from 'tap'
import type { CallSession, LegState } from '../../lib/calls/session'
import { identity } from '../../lib/identity'
import { decodeCursor, encodeCursor } from '../../lib/records/cursor'
import { planListing } from '../../lib/records/listing'
import { isMissedBy } from '../../lib/records/missed'
import { scopeToReader } from '../../lib/records/rights'

/** The pure rules of call records: the missed rule, cursors, rights and the index a query walks. */

function ended (answered: boolean, legs: Record<string, LegState>): CallSession {
  return {
    status: 'ended',
    answer_time: answered ? 1_000 : null,
    legs: Object.entries(legs).map(([id, state]) => ({ resident_id: id, state }))
  } as unknown as CallSession
}

t.test('missed: ended unanswered, and this resident did not reject it', async (t) => {
  t.equal(isMissedBy(ended(false, { 2: 'timeout' }), '2'), true, 'its leg timed out')
  t.equal(isMissedBy(ended(false, { 2: 'cancelled', 3: 'rejected' }), '2'), true, 'the door cancelled while it rang')
  t.equal(isMissedBy(ended(false, { 2: 'rejected', 3: 'timeout' }), '2'), false, 'it rejected the call')
  t.equal(isMissedBy(ended(true, { 2: 'cancelled', 3: 'answered' }), '2'), false, 'another resident answered')
  t.equal(isMissedBy(ended(false, { 2: 'busy', 3: 'timeout' }), '2'), false, 'a busy resident was never rung')
  t.equal(isMissedBy({ ...ended(false, { 2: 'ringing' }), status: 'ringing' }, '2'), false, 'a live call is not missed yet')
  t.equal(isMissedBy(ended(false, { 3: 'timeout' }), '2'), false, 'a call that did not ring it')
})

t.test('a cursor is opaque, round-trips, and a forged one is refused', async (t) => {
  const position = { startTime: 1_764_000_000_123, callId: 'call-20251124-0123456789abcdef' }
  const cursor = encodeCursor(position)
  t.match(cursor, /^[A-Za-z0-9_-]+$/, 'url-safe')
  t.same(decodeCursor(cursor), position)
  for (const forged of ['', 'abc', Buffer.from('12.').toString('base64url'), Buffer.from('x.call').toString('base64url'), Buffer.from('99999999999999999.c').toString('base64url')]) {
    t.throws(() => decodeCursor(forged), { code: 'invalid_request' }, `"${forged}"`)
  }
})

t.test('rights: a device and a resident are scoped to themselves; another party is 403; a client lists nothing', async (t) => {
  const query = { limit: 50 }
  t.same(scopeToReader(identity('service', 'ops'), { ...query, deviceId: '9' }), { ...query, deviceId: '9' })
  t.same(scopeToReader(identity('device', '1'), query), { ...query, deviceId: '1' })
  t.same(scopeToReader(identity('device', '1'), { ...query, deviceId: '1' }), { ...query, deviceId: '1' })
  t.throws(() => scopeToReader(identity('device', '1'), { ...query, deviceId: '5' }), { code: 'forbidden' })
  t.same(scopeToReader(identity('resident', '2'), { ...query, deviceId: '1' }), { ...query, deviceId: '1', residentId: '2' })
  t.throws(() => scopeToReader(identity('resident', '2'), { ...query, residentId: '3' }), { code: 'forbidden' })
  t.throws(() => scopeToReader(identity('client', 'gw'), query), { code: 'forbidden' })
})

t.test('a query walks the smallest index that holds every answer', async (t) => {
  t.same(planListing({ limit: 1 }), { index: 'all', residual: {} })
  t.same(planListing({ limit: 1, status: 'ringing', deviceId: '1' }), { index: 'active', residual: { status: 'ringing', deviceId: '1' } })
  t.same(planListing({ limit: 1, residentId: '2', deviceId: '1' }), { index: 'resident:2', residual: { deviceId: '1' } })
  t.same(planListing({ limit: 1, deviceId: '1', householdNumber: '101' }), { index: 'device:1', residual: { householdNumber: '101' } })
  t.same(planListing({ limit: 1, householdNumber: '101', status: 'ended' }), { index: 'household:101', residual: { status: 'ended' } })
  t.same(planListing({ limit: 1, endReason: 'timeout', status: 'ended' }), { index: 'end_reason:timeout', residual: {} })
  t.same(planListing({ limit: 1, status: 'ended' }), { index: 'all', residual: { status: 'ended' } })
})

import { until } from '../helpers/wait'
import { startCall, transition, type CallEvent, type MachineOptions } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import type { CallStore } from '../../lib/stores/call-store'

/**
 * The behaviour every CallStore must have. A store's own test file calls
 * `callStoreSuite` with a factory that gives a fresh, empty store each time.
 */

export interface StoreUnderTest {
  store: CallStore
  close: () => Promise<void>
}

export type CallStoreFactory = (options: { retentionMs: number }) => Promise<StoreUnderTest>

const OPTIONS: MachineOptions = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 2_000, unlockHangupMs: 5_000 }
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)
const RING_AT = T0 + OPTIONS.ringTimeoutMs
const LONG_RETENTION = 3_600_000

function ring (callId: string, deviceId = '1', targets = ['2', '3'], now = T0): CallSession {
  const started = startCall({ callId, provider: 'trtc', deviceId, targets, busy: [], activeCall: null, householdNumber: null }, now, OPTIONS)
  if (!started.ok) throw started.error
  return started.session
}

function next (session: CallSession, event: CallEvent, now: number): CallSession {
  const result = transition(session, event, now, OPTIONS)
  if (!result.ok) throw result.error
  return result.session
}

const answer = (s: CallSession, residentId = '2'): CallSession =>
  next(s, { type: 'action', actor: { kind: 'resident', id: residentId }, action: 'answered' }, T0 + 1_000)
const hangup = (s: CallSession): CallSession =>
  next(s, { type: 'action', actor: { kind: 'device', id: s.device_device_id }, action: 'hangup' }, T0 + 2_000)

/** Writes the machine's next session over `before`, which must be the stored one. */
async function save (store: CallStore, before: CallSession, after: CallSession): Promise<CallSession> {
  if (!await store.compareAndSet(after, before.version)) throw new Error(`lost the write of ${after.call_id}`)
  return after
}

export function callStoreSuite (t: tap.Test, name: string, factory: CallStoreFactory): void {
  async function open (t: tap.Test, retentionMs = LONG_RETENTION): Promise<CallStore> {
    const { store, close } = await factory({ retentionMs })
    t.teardown(close)
    return store
  }

  t.test(`${name}: create and get`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    t.same(await store.get(s.call_id), s)
    t.equal(await store.get('call-20240102-ffffffffffff'), null, 'unknown call')
    const copy = await store.get(s.call_id)
    if (copy !== null) copy.status = 'ended'
    t.equal((await store.get(s.call_id))?.status, 'ringing', 'a read is a copy')
  })

  t.test(`${name}: a device has one active call`, async t => {
    const store = await open(t)
    const first = ring('call-20240102-000000000001')
    await store.create(first)
    t.equal(await store.activeCallOfDevice('1'), first.call_id)
    t.equal(await store.activeCallOfDevice('9'), null)
    await t.rejects(store.create(ring('call-20240102-000000000002')), { code: 'device_busy' })
    await store.create(ring('call-20240102-000000000003', '9'))
    t.equal(await store.activeCallOfDevice('9'), 'call-20240102-000000000003', 'other devices are free')
    await save(store, first, hangup(first))
    t.equal(await store.activeCallOfDevice('1'), null, 'ended: released')
    await store.create(ring('call-20240102-000000000004'))
    t.equal(await store.activeCallOfDevice('1'), 'call-20240102-000000000004')
  })

  t.test(`${name}: concurrent creates for one device: exactly one wins`, async t => {
    const store = await open(t)
    const ids = ['call-20240102-00000000000a', 'call-20240102-00000000000b', 'call-20240102-00000000000c']
    const results = await Promise.allSettled(ids.map(id => store.create(ring(id))))
    const won = results.filter(r => r.status === 'fulfilled')
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    t.equal(won.length, 1)
    t.same(lost.map(r => (r.reason as { code: string }).code), ['device_busy', 'device_busy'])
    const winner = ids[results.findIndex(r => r.status === 'fulfilled')]
    t.equal(await store.activeCallOfDevice('1'), winner)
  })

  t.test(`${name}: concurrent creates with one request_id: one call, the other create names it`, async t => {
    const store = await open(t)
    const asked = (callId: string, deviceId = '1'): CallSession => ({ ...ring(callId, deviceId), request_id: 'r-1' })
    const ids = ['call-20240102-00000000000a', 'call-20240102-00000000000b', 'call-20240102-00000000000c']
    const results = await Promise.all(ids.map(id => store.create(asked(id))))
    const winner = ids[results.indexOf(null)] as string
    t.equal(results.filter(r => r === null).length, 1, 'one stored')
    t.same(results.filter(r => r !== null), [winner, winner], 'the others are told its id, not device_busy')
    t.equal(await store.callOfRequest('1', 'r-1'), winner)
    t.equal(await store.callOfRequest('9', 'r-1'), null, 'request ids are per device')
    t.equal(await store.create(asked('call-20240102-00000000000d', '9')), null, 'another device may use the same id')
    const stored = await store.get(winner) as CallSession
    await save(store, stored, hangup(stored))
    t.equal(await store.create(asked('call-20240102-00000000000e')), winner, 'still the same call once it ended')
    await t.rejects(store.create(ring('call-20240102-00000000000f', '9')), { code: 'device_busy' }, 'without a request id: as before')
  })

  t.test(`${name}: a request id is kept as long as its call`, async t => {
    // Long enough for the read right after the save on a loaded machine; the expiry is waited for, not timed.
    const store = await open(t, 1000)
    const s = { ...ring('call-20240102-000000000001'), request_id: 'r-2' }
    await store.create(s)
    await save(store, s, hangup(s))
    t.equal(await store.callOfRequest('1', 'r-2'), s.call_id)
    await until(async () => await store.get(s.call_id) === null, { what: 'the ended call to expire', timeoutMs: 21_000 })
    t.equal(await store.callOfRequest('1', 'r-2'), null, 'and its request id with it')
    t.equal(await store.create({ ...ring('call-20240102-000000000002'), request_id: 'r-2' }), null, 'the id starts a new call')
  })

  t.test(`${name}: compare-and-set on the version`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    const answered = answer(s)
    t.equal(await store.compareAndSet(answered, s.version), true)
    t.same(await store.get(s.call_id), answered)
    t.equal(await store.compareAndSet(answer(s, '3'), s.version), false, 'stale version loses')
    t.same(await store.get(s.call_id), answered, 'and writes nothing')
    t.equal(await store.compareAndSet(ring('call-20240102-00000000dead'), 0), false, 'unknown call')
    await t.rejects(store.compareAndSet({ ...answered, version: answered.version }, answered.version), 'the version must rise by one')
  })

  t.test(`${name}: concurrent compare-and-set with one expected version: exactly one wins`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    const rivals = [answer(s, '2'), answer(s, '3')]
    const results = await Promise.all(rivals.map(r => store.compareAndSet(r, s.version)))
    t.equal(results.filter(Boolean).length, 1)
    const stored = await store.get(s.call_id)
    t.equal(stored?.resident_id, rivals[results.indexOf(true)]?.resident_id, 'the winner is stored')
  })

  t.test(`${name}: residents in a connected call`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    t.same(await store.connectedResidents(['2', '3']), new Set(), 'ringing is not connected')
    const connected = await save(store, s, answer(s))
    t.same(await store.connectedResidents(['2', '3', '7']), new Set(['2']))
    const other = ring('call-20240102-000000000002', '5', ['3', '4'])
    await store.create(other)
    await save(store, other, answer(other, '3'))
    t.same(await store.connectedResidents(['2', '3', '4']), new Set(['2', '3']))
    await save(store, connected, hangup(connected))
    t.same(await store.connectedResidents(['2', '3', '4']), new Set(['3']), 'ended: released')
  })

  t.test(`${name}: the calls ringing a resident`, async t => {
    const store = await open(t)
    const first = ring('call-20240102-000000000001', '1', ['2', '3'])
    const second = ring('call-20240102-000000000002', '5', ['3', '4'])
    await store.create(first)
    await store.create(second)
    t.same((await store.ringingCallsOfResident('3')).sort(), [first.call_id, second.call_id])
    t.same(await store.ringingCallsOfResident('2'), [first.call_id])
    t.same(await store.ringingCallsOfResident('7'), [])
    const declined = await save(store, first, next(first, { type: 'action', actor: { kind: 'resident', id: '3' }, action: 'rejected' }, T0 + 500))
    t.same(await store.ringingCallsOfResident('3'), [second.call_id], 'a declined leg no longer rings')
    t.same(await store.ringingCallsOfResident('2'), [first.call_id], 'the other leg still rings')
    await save(store, declined, answer(declined))
    t.same(await store.ringingCallsOfResident('2'), [], 'answered: no longer ringing')
    await save(store, second, hangup(second))
    t.same(await store.ringingCallsOfResident('3'), [], 'ended: no leg rings')
    t.same(await store.ringingCallsOfResident('4'), [])
  })

  t.test(`${name}: an ended call leaves every index`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    const connected = await save(store, s, answer(s))
    const gone = await save(store, connected, next(connected, { type: 'device_presence', online: false }, T0 + 1_500))
    t.equal(await store.nextDeadline(), T0 + 1_500 + OPTIONS.offlineGraceMs)
    await save(store, gone, hangup(gone))
    t.equal(await store.activeCallOfDevice('1'), null)
    t.same(await store.connectedResidents(['2']), new Set())
    t.same(await store.ringingCallsOfResident('3'), [])
    t.equal(await store.nextDeadline(), null)
    t.same(await store.claimDueTimers(Number.MAX_SAFE_INTEGER, 1_000, 10), [])
    t.equal((await store.get(s.call_id))?.status, 'ended', 'still readable')
  })

  t.test(`${name}: ended calls expire after the retention`, async t => {
    // Long enough for the read right after the save on a loaded machine; the expiry is waited for, not timed.
    const retentionMs = 1000
    const store = await open(t, retentionMs)
    const ended = ring('call-20240102-000000000001')
    await store.create(ended)
    const active = ring('call-20240102-000000000002', '9')
    await store.create(active)
    const savedBefore = Date.now()
    await save(store, ended, hangup(ended))
    t.equal((await store.get(ended.call_id))?.status, 'ended')
    await until(async () => await store.get(ended.call_id) === null, { what: 'the ended call to expire', timeoutMs: retentionMs + 20_000 })
    t.ok(Date.now() - savedBefore >= retentionMs, 'expired, not before its retention')
    t.ok(await store.get(active.call_id), 'an active call never expires')
  })

  t.test(`${name}: timers come due, are leased, and are claimed again after the lease`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    t.equal(await store.nextDeadline(), RING_AT)
    t.same(await store.claimDueTimers(RING_AT - 1, 1_000, 10), [], 'not yet due')
    t.same(await store.claimDueTimers(RING_AT, 1_000, 10), [{ callId: s.call_id, timer: 'ring' }])
    t.same(await store.claimDueTimers(RING_AT + 999, 1_000, 10), [], 'leased')
    t.equal(await store.nextDeadline(), RING_AT + 1_000, 'wake up when the lease lapses')
    t.same(await store.claimDueTimers(RING_AT + 1_000, 1_000, 10), [{ callId: s.call_id, timer: 'ring' }], 'the holder died: claimed again')
    await save(store, s, next(s, { type: 'timer', timer: 'ring' }, RING_AT + 1_000))
    t.equal(await store.nextDeadline(), null, 'the transition cleared it')
    t.same(await store.claimDueTimers(Number.MAX_SAFE_INTEGER, 1_000, 10), [])
  })

  t.test(`${name}: timers follow the deadlines`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    const connected = await save(store, s, answer(s))
    const maxAt = connected.deadlines.max_duration ?? 0
    t.equal(await store.nextDeadline(), maxAt, 'ring timer replaced by max duration')
    const gone = await save(store, connected, next(connected, { type: 'device_presence', online: false }, T0 + 2_000))
    const graceAt = T0 + 2_000 + OPTIONS.offlineGraceMs
    t.equal(await store.nextDeadline(), graceAt, 'grace timer added')
    t.same(await store.claimDueTimers(graceAt, 1_000, 10), [{ callId: s.call_id, timer: 'device_offline' }])
    await save(store, gone, next(gone, { type: 'device_presence', online: true }, graceAt + 1))
    t.equal(await store.nextDeadline(), maxAt, 'cleared deadline: timer removed, lease and all')
    t.same(await store.claimDueTimers(maxAt - 1, 1_000, 10), [])
  })

  t.test(`${name}: a write that keeps a deadline keeps its lease`, async t => {
    const store = await open(t)
    const s = ring('call-20240102-000000000001')
    await store.create(s)
    t.same(await store.claimDueTimers(RING_AT, 5_000, 10), [{ callId: s.call_id, timer: 'ring' }])
    await save(store, s, next(s, { type: 'action', actor: { kind: 'resident', id: '2' }, action: 'rejected' }, RING_AT))
    t.same(await store.claimDueTimers(RING_AT + 1, 5_000, 10), [], 'still leased')
  })

  t.test(`${name}: claims are earliest first, limited, and never shared`, async t => {
    const store = await open(t)
    const ids = ['call-20240102-000000000003', 'call-20240102-000000000001', 'call-20240102-000000000002']
    for (const [i, id] of ids.entries()) await store.create(ring(id, `d${i}`, ['2'], T0 + i))
    t.same(await store.claimDueTimers(RING_AT + 10, 1_000, 2), [
      { callId: ids[0], timer: 'ring' },
      { callId: ids[1], timer: 'ring' }
    ])
    const rivals = await Promise.all([0, 1, 2].map(() => store.claimDueTimers(RING_AT + 10, 1_000, 10)))
    t.same(rivals.flat(), [{ callId: ids[2], timer: 'ring' }], 'the last one, to exactly one claimant')
  })
}

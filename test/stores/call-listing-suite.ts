import { setTimeout as sleep } from 'node:timers/promises'
import { startCall, transition, type CallEvent, type MachineOptions } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import { identity } from '../../lib/identity'
import type { CallListQuery, CallPosition } from '../../lib/records/listing'
import type { CallStore } from '../../lib/stores/call-store'
import type { StoreUnderTest } from './call-store-suite'

/**
 * The listing behaviour every CallStore must have (`list`): order, cursors,
 * each filter, and what retention removes. A store's test file calls
 * `callListingSuite` with a factory of fresh, empty stores.
 */

export type ListingStoreFactory = (options: { retentionMs: number, scanLimit?: number }) => Promise<StoreUnderTest>

const OPTIONS: MachineOptions = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 0 }
/** Recent, so that no store's retention horizon reaches the test calls. */
const T0 = Date.now() - 60_000

interface RingParams { device?: string, targets?: string[], busy?: string[], household?: string | null }

function ring (n: number, at: number, params: RingParams = {}): CallSession {
  const started = startCall({
    callId: `call-20240102-${n.toString(16).padStart(12, '0')}`,
    provider: 'trtc',
    deviceId: params.device ?? `d${n}`,
    targets: params.targets ?? ['2', '3'],
    busy: params.busy ?? [],
    activeCall: null,
    householdNumber: params.household === undefined ? '101' : params.household
  }, at, OPTIONS)
  if (!started.ok) throw started.error
  return started.session
}

function next (session: CallSession, event: CallEvent): CallSession {
  const at = session.start_time + (event.type === 'timer' ? OPTIONS.ringTimeoutMs : 500)
  const result = transition(session, event, at, OPTIONS)
  if (!result.ok) throw result.error
  return result.session
}

const resident = (id: string, action: 'answered' | 'rejected' | 'hangup'): CallEvent => ({ type: 'action', actor: { kind: 'resident', id }, action })
const door = (id: string, action: 'cancelled' | 'hangup'): CallEvent => ({ type: 'action', actor: { kind: 'device', id }, action })

/** Creates a call and plays `events` on it through the store, as the call service would. */
async function play (store: CallStore, session: CallSession, ...events: CallEvent[]): Promise<CallSession> {
  await store.create(session)
  let current = session
  for (const event of events) {
    const after = next(current, event)
    if (!await store.compareAndSet(after, current.version)) throw new Error(`lost the write of ${after.call_id}`)
    current = after
  }
  return current
}

const ids = (sessions: CallSession[]): string[] => sessions.map((s) => s.call_id)

/** Every page of a listing, for tests about what a listing holds rather than how it is cut. */
async function listAll (store: CallStore, query: Omit<CallListQuery, 'limit'> & { limit?: number }): Promise<{ ids: string[], pages: number }> {
  const found: string[] = []
  let after: CallPosition | undefined
  for (let pages = 1; pages <= 1000; pages++) {
    const page = await store.list({ limit: 50, ...query, ...(after === undefined ? {} : { after }) })
    found.push(...ids(page.sessions))
    if (page.next === null) return { ids: found, pages }
    after = page.next
  }
  throw new Error('the listing never ended')
}

export function callListingSuite (t: tap.Test, name: string, factory: ListingStoreFactory): void {
  async function open (t: tap.Test, options: { retentionMs?: number, scanLimit?: number } = {}): Promise<CallStore> {
    const { store, close } = await factory({ retentionMs: options.retentionMs ?? 3_600_000, ...(options.scanLimit === undefined ? {} : { scanLimit: options.scanLimit }) })
    t.teardown(close)
    return store
  }

  /** Eight calls of several doors, flats and outcomes; times rise with the number. */
  async function scene (store: CallStore) {
    const c1 = await play(store, ring(1, T0 + 1, { device: '1' }), door('1', 'cancelled'))
    const c2 = await play(store, ring(2, T0 + 2, { device: '1', targets: ['2', '3'] }), resident('2', 'rejected'), resident('3', 'rejected'))
    const c3 = await play(store, ring(3, T0 + 3, { device: '5', targets: ['6'], household: '201' }), { type: 'timer', timer: 'ring' })
    const c4 = await play(store, ring(4, T0 + 4, { device: '1', targets: ['2', '3'] }), resident('3', 'answered'), door('1', 'hangup'))
    const c5 = await play(store, ring(5, T0 + 5, { device: '1', targets: ['2', '4'], busy: ['4'], household: null }), resident('2', 'rejected'))
    const c6 = await play(store, ring(6, T0 + 6, { device: '5', targets: ['6'], household: '201' }), resident('6', 'answered'))
    const c7 = await play(store, ring(7, T0 + 7, { device: '1', targets: ['2', '3'] }))
    const c8 = await play(store, ring(8, T0 + 8, { device: '9', targets: ['4'], household: '102' }), { type: 'end', by: identity('service', 'ops'), reason: null })
    return { c1, c2, c3, c4, c5, c6, c7, c8 }
  }

  t.test(`${name}: calls newest first, as stored, a page at a time`, async (t) => {
    const store = await open(t)
    const { c8, c7, c6, c1 } = await scene(store)
    const first = await store.list({ limit: 3 })
    t.same(first.sessions, [c8, c7, c6], 'whole sessions, newest first')
    t.same(first.next, { startTime: c6.start_time, callId: c6.call_id }, 'the next page starts after the last item')
    const second = await store.list({ limit: 3, after: first.next ?? undefined })
    t.same(ids(second.sessions), ids([ring(5, 0), ring(4, 0), ring(3, 0)]))
    const last = await store.list({ limit: 3, after: second.next ?? undefined })
    t.same(last.sessions.map((s) => s.call_id), [ring(2, 0).call_id, c1.call_id])
    t.equal(last.next, null, 'complete')
    t.same(await store.list({ limit: 8 }), { sessions: (await store.list({ limit: 50 })).sessions, next: null }, 'a page that holds everything has no next')
  })

  t.test(`${name}: each filter`, async (t) => {
    const store = await open(t)
    const c = await scene(store)
    const expect = async (query: Omit<CallListQuery, 'limit'>, calls: CallSession[], what: string): Promise<void> => {
      t.same((await listAll(store, { ...query, limit: 2 })).ids, ids(calls), what)
    }
    await expect({}, [c.c8, c.c7, c.c6, c.c5, c.c4, c.c3, c.c2, c.c1], 'no filter')
    await expect({ deviceId: '1' }, [c.c7, c.c5, c.c4, c.c2, c.c1], 'device_id')
    await expect({ householdNumber: '201' }, [c.c6, c.c3], 'household_number')
    await expect({ residentId: '2' }, [c.c7, c.c5, c.c4, c.c2, c.c1], 'resident_id: the calls that rang it')
    await expect({ residentId: '4' }, [c.c8], 'resident_id: a busy leg did not ring')
    await expect({ status: 'ringing' }, [c.c7], 'status ringing')
    await expect({ status: 'connected' }, [c.c6], 'status connected')
    await expect({ status: 'ended' }, [c.c8, c.c5, c.c4, c.c3, c.c2, c.c1], 'status ended')
    await expect({ endReason: 'rejected' }, [c.c5, c.c2], 'end_reason rejected')
    await expect({ endReason: 'cancelled' }, [c.c1], 'end_reason cancelled')
    await expect({ endReason: 'timeout' }, [c.c3], 'end_reason timeout')
    await expect({ endReason: 'hangup' }, [c.c4], 'end_reason hangup')
    await expect({ endReason: 'forced' }, [c.c8], 'end_reason forced')
    await expect({ since: T0 + 3, until: T0 + 6 }, [c.c5, c.c4, c.c3], 'since ≤ start_time < until')
    await expect({ since: T0 + 9 }, [], 'since after every call')
    await expect({ deviceId: '1', status: 'ended', since: T0 + 2 }, [c.c5, c.c4, c.c2], 'device, status and since together')
    await expect({ residentId: '3', endReason: 'hangup' }, [c.c4], 'resident and end reason together')
    await expect({ householdNumber: '101', deviceId: '5' }, [], 'filters that exclude each other')
    await expect({ status: 'ringing', deviceId: '5' }, [], 'a live status of another device')
    await expect({ endReason: 'rejected', status: 'ringing' }, [], 'an end reason is never live')
  })

  t.test(`${name}: a call moves between the live and ended listings`, async (t) => {
    const store = await open(t)
    const s = ring(1, T0)
    await store.create(s)
    t.same(ids((await store.list({ limit: 10, status: 'ringing' })).sessions), [s.call_id])
    const answered = next(s, resident('2', 'answered'))
    await store.compareAndSet(answered, s.version)
    t.same(ids((await store.list({ limit: 10, status: 'ringing' })).sessions), [])
    t.same(ids((await store.list({ limit: 10, status: 'connected' })).sessions), [s.call_id])
    const ended = next(answered, resident('2', 'hangup'))
    await store.compareAndSet(ended, answered.version)
    t.same(ids((await store.list({ limit: 10, status: 'connected' })).sessions), [])
    t.same((await store.list({ limit: 10, endReason: 'hangup' })).sessions, [ended], 'the ended session, as stored')
  })

  t.test(`${name}: calls started in the same ms are ordered by id, and pages do not split them wrongly`, async (t) => {
    const store = await open(t)
    for (const n of [3, 1, 4, 2, 5]) await store.create(ring(n, T0))
    const { ids: listed, pages } = await listAll(store, { limit: 2 })
    t.same(listed, [5, 4, 3, 2, 1].map((n) => ring(n, T0).call_id))
    t.equal(pages, 3)
  })

  t.test(`${name}: calls stored between two pages neither repeat nor skip an item`, async (t) => {
    const store = await open(t)
    for (let n = 1; n <= 6; n++) await store.create(ring(n, T0 + n * 10))
    const first = await store.list({ limit: 3 })
    t.same(ids(first.sessions), [6, 5, 4].map((n) => ring(n, 0).call_id))
    await store.create(ring(7, T0 + 100))
    await store.create(ring(8, T0 + 35))
    await store.create(ring(9, T0 + 39))
    const rest = await listAll(store, { after: first.next ?? undefined, limit: 3 })
    t.same(rest.ids, [9, 8, 3, 2, 1].map((n) => ring(n, 0).call_id), 'a newer call waits for the next listing; an older one is met in order')
  })

  t.test(`${name}: a page examines a bounded number of entries; a rare filter still finds every call`, async (t) => {
    const store = await open(t, { scanLimit: 4 })
    for (let n = 1; n <= 12; n++) {
      const s = ring(n, T0 + n, { device: 'door', household: n % 5 === 0 ? '777' : '101' })
      await play(store, s, door('door', 'cancelled'))
    }
    const first = await store.list({ limit: 10, deviceId: 'door', householdNumber: '777' })
    t.same(ids(first.sessions), [ring(10, 0).call_id], 'four entries examined: one match')
    t.not(first.next, null, 'and the listing goes on')
    const all = await listAll(store, { deviceId: 'door', householdNumber: '777', limit: 10 })
    t.same(all.ids, [10, 5].map((n) => ring(n, 0).call_id))
    t.equal(all.pages, 3, 'twelve entries, four a page')
  })

  t.test(`${name}: ended calls leave the listings with their retention; a cursor on a gone call still goes on`, async (t) => {
    const store = await open(t, { retentionMs: 40 })
    const old = ring(1, T0)
    await store.create(old)
    const tieBelow = ring(2, T0 + 5)
    await store.create(tieBelow)
    const gone = ring(3, T0 + 5)
    await play(store, gone, door(gone.device_device_id, 'cancelled'))
    const tieAbove = ring(4, T0 + 5)
    await store.create(tieAbove)
    const newest = ring(5, T0 + 9)
    await store.create(newest)
    const first = await store.list({ limit: 3 })
    t.same(ids(first.sessions), ids([newest, tieAbove, gone]))
    await sleep(100)
    t.equal(await store.get(gone.call_id), null, 'expired')
    t.same(ids((await store.list({ limit: 10 })).sessions), ids([newest, tieAbove, tieBelow, old]), 'active calls stay listed')
    const rest = await store.list({ limit: 10, after: first.next ?? undefined })
    t.same(ids(rest.sessions), ids([tieBelow, old]), 'after the gone call: the same-ms call below it, then older ones')
    t.same((await store.list({ limit: 10, endReason: 'cancelled' })).sessions, [], 'gone from its end-reason listing too')
  })
}

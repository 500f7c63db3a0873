import t from 'tap'
import { startCall, transition } from '../../lib/calls/machine'
import type { CallSession } from '../../lib/calls/session'
import { MemoryCallStore } from '../../lib/stores/memory-call-store'
import { callListingSuite } from './call-listing-suite'
import { callStoreSuite } from './call-store-suite'

callStoreSuite(t, 'memory', async ({ retentionMs }) => {
  const store = new MemoryCallStore({ retentionMs })
  return { store, close: async () => { await store.close() } }
})

callListingSuite(t, 'memory', async ({ retentionMs, scanLimit }) => {
  const store = new MemoryCallStore({ retentionMs, ...(scanLimit === undefined ? {} : { scanLimit }) })
  return { store, close: async () => { await store.close() } }
})

t.test('memory: past the bounds, the oldest ended calls go first and active calls stay', async t => {
  const options = { ringTimeoutMs: 30_000, maxCallMs: 7_200_000, offlineGraceMs: 10_000, unlockCooldownMs: 2_000, unlockHangupMs: 0 }
  const ring = (n: number, deviceId: string): CallSession => {
    const started = startCall({ callId: `call-20240102-${String(n).padStart(12, '0')}`, provider: 'trtc', deviceId, targets: ['2'], busy: [], activeCall: null, householdNumber: null }, 1_000 + n, options)
    if (!started.ok) throw started.error
    return started.session
  }
  const cancel = async (store: MemoryCallStore, s: CallSession): Promise<CallSession> => {
    const result = transition(s, { type: 'action', actor: { kind: 'device', id: s.device_device_id }, action: 'cancelled' }, s.start_time + 1, options)
    if (!result.ok) throw result.error
    t.ok(await store.compareAndSet(result.session, s.version))
    return result.session
  }

  t.test('by count', async t => {
    const store = new MemoryCallStore({ retentionMs: 3_600_000, maxEndedCalls: 3 })
    const active = ring(0, 'other')
    await store.create(active)
    const ended: CallSession[] = []
    for (let n = 1; n <= 6; n++) {
      const s = ring(n, 'door')
      await store.create(s)
      ended.push(await cancel(store, s))
    }
    for (const [i, s] of ended.entries()) t.equal((await store.get(s.call_id))?.call_id ?? null, i < 3 ? null : s.call_id, `ended call ${i + 1}`)
    t.ok(await store.get(active.call_id), 'the older active call stays')
    t.same((await store.list({ limit: 10 })).sessions.map((s) => s.call_id), [...ended.slice(3).reverse(), active].map((s) => s.call_id), 'and the dropped calls leave the listings')
  })

  t.test('by size', async t => {
    const sizer = new MemoryCallStore({ retentionMs: 3_600_000 })
    const sample = ring(99, 'door')
    await sizer.create(sample)
    const bytes = JSON.stringify(await cancel(sizer, sample)).length
    const store = new MemoryCallStore({ retentionMs: 3_600_000, maxEndedBytes: Math.floor(bytes * 2.5) })
    const ended: CallSession[] = []
    for (let n = 1; n <= 4; n++) {
      const s = ring(n, 'door')
      await store.create(s)
      ended.push(await cancel(store, s))
    }
    t.same(await Promise.all(ended.map(async (s) => (await store.get(s.call_id)) !== null)), [false, false, true, true], 'room for two')
  })
})

import type { DndStore } from '../../lib/dnd/dnd-store'

/**
 * The behaviour every DndStore must have: the store's own test file calls it
 * with a factory giving a fresh, empty store (Redis keeps real expiries, so
 * the times here are near the real clock).
 */
export function dndStoreSuite (t: tap.Test, name: string, factory: (t: tap.Test) => Promise<DndStore>): void {
  t.test(`${name}: on until turned off, on until a moment, off`, async (t) => {
    const store = await factory(t)
    const now = Date.now()
    t.same(await store.get('2', now), { resident_id: '2', enabled: false, until: null }, 'off by default')
    t.same(await store.set('2', { enabled: true, until: null }, now), { resident_id: '2', enabled: true, until: null })
    t.same(await store.get('2', now + 86_400_000), { resident_id: '2', enabled: true, until: null }, 'no end: stays on')
    t.same(await store.set('3', { enabled: true, until: now + 60_000 }, now), { resident_id: '3', enabled: true, until: now + 60_000 })
    t.same([...await store.among(['2', '3', '4'], now)].sort(), ['2', '3'])
    t.same([...await store.among(['2', '3', '4'], now + 60_000)], ['2'], 'a DND lapses at its end')
    t.same(await store.get('3', now + 60_001), { resident_id: '3', enabled: false, until: null })
    t.same(await store.set('2', { enabled: false, until: null }, now), { resident_id: '2', enabled: false, until: null })
    t.same([...await store.among(['2', '3'], now + 60_001)], [], 'turned off; lapsed')
    t.same([...await store.among([], now)], [], 'nobody asked about')
  })

  t.test(`${name}: a new setting replaces the old one`, async (t) => {
    const store = await factory(t)
    const now = Date.now()
    await store.set('2', { enabled: true, until: now + 60_000 }, now)
    await store.set('2', { enabled: true, until: null }, now)
    t.same(await store.get('2', now + 120_000), { resident_id: '2', enabled: true, until: null }, 'the end is gone')
    await store.set('2', { enabled: true, until: now + 30_000 }, now)
    t.same(await store.get('2', now + 40_000), { resident_id: '2', enabled: false, until: null }, 'an end again')
  })
}

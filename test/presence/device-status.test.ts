import t from 'tap'
import { initialStatus, MAX_PROPERTIES, mergeStatus } from '../../lib/presence/device-status'
import { createMemoryStatusStore } from '../../lib/stores/memory-status-store'

t.test('mergeStatus replaces online and battery, merges properties key by key, deletes null keys', async (t) => {
  const start = { ...initialStatus('1'), battery: 80, properties: { fw: '1.0', door: 'closed' } }
  const merged = mergeStatus(start, { online: true, properties: { door: 'open', light: 'on', fw: null } }, 1000)
  t.same(merged, { device_id: '1', online: true, battery: 80, properties: { door: 'open', light: 'on' }, last_seen: 1000 })
  t.same(start.properties, { fw: '1.0', door: 'closed' }, 'the current status is not changed')
  t.same(mergeStatus(merged, { battery: 0 }), { ...merged, battery: 0 }, 'battery 0 is a value; no seenAt keeps last_seen')
  t.same(mergeStatus(merged, {}, 2000), { ...merged, last_seen: 2000 })
})

t.test('mergeStatus keeps a "__proto__" key as plain data', async (t) => {
  const merged = mergeStatus(initialStatus('1'), { properties: JSON.parse('{"__proto__": {"polluted": true}}') })
  t.same(Object.keys(merged.properties), ['__proto__'])
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})

t.test('mergeStatus refuses to grow properties past the bound, and over-long keys', async (t) => {
  const many = Object.fromEntries(Array.from({ length: MAX_PROPERTIES + 1 }, (_, i) => [`k${i}`, i]))
  t.throws(() => mergeStatus(initialStatus('1'), { properties: many }), { code: 'invalid_request' })
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { ['x'.repeat(65)]: 1 } }), { code: 'invalid_request' })
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { '': 1 } }), { code: 'invalid_request' })
})

t.test('memory store counts connections: offline only when the last one closes', async (t) => {
  const store = createMemoryStatusStore()
  t.same(await store.get('1'), initialStatus('1'))
  t.match(await store.connectionOpened('1', 'a', 10), { changed: true, status: { online: true, last_seen: 10 } })
  t.match(await store.connectionOpened('1', 'b', 20), { changed: false, status: { online: true, last_seen: 20 } })
  t.match(await store.connectionClosed('1', 'a', 30), { changed: false, status: { online: true, last_seen: 20 } })
  t.match(await store.connectionClosed('1', 'a', 35), { changed: false }, 'closing twice changes nothing')
  t.match(await store.connectionClosed('1', 'b', 40), { changed: true, status: { online: false, last_seen: 40 } })
  t.match(await store.connectionClosed('1', 'zzz', 50), { changed: false, status: { online: false, last_seen: 40 } })
})

t.test('memory store update: a throwing fn changes nothing', async (t) => {
  const store = createMemoryStatusStore()
  await store.update('1', (s) => mergeStatus(s, { battery: 50 }))
  await t.rejects(store.update('1', () => { throw new Error('no') }))
  t.equal((await store.get('1')).battery, 50)
})

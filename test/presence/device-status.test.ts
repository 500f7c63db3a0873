import t from 'tap'
import { initialStatus, mergeStatus } from '../../lib/presence/device-status'
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

t.test('mergeStatus refuses to grow properties past 64, and over-long keys', async (t) => {
  const properties = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))
  t.equal(Object.keys(mergeStatus(initialStatus('1'), { properties: properties(64) }).properties).length, 64, '64 properties are fine')
  t.throws(() => mergeStatus(initialStatus('1'), { properties: properties(65) }), { code: 'invalid_request' }, 'the 65th is refused')
  const full = mergeStatus(initialStatus('1'), { properties: properties(64) })
  t.throws(() => mergeStatus(full, { properties: { more: 1 } }), { code: 'invalid_request' }, 'also one at a time')
  t.equal(Object.keys(mergeStatus(full, { properties: { k0: null, more: 1 } }).properties).length, 64, 'deleting one makes room')
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

t.test('mergeStatus bounds each property value and the whole status, in bytes of JSON', async (t) => {
  const bounds = { maxValueBytes: 10, maxStatusBytes: 120 }
  t.equal(JSON.stringify(initialStatus('1')).length, 80, 'a status with no properties is 80 bytes of JSON')
  t.same(mergeStatus(initialStatus('1'), { properties: { a: 'x'.repeat(8) } }, undefined, bounds).properties, { a: 'x'.repeat(8) }, 'a value of 10 bytes is fine')
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { a: 'x'.repeat(9) } }, undefined, bounds), { code: 'invalid_request', message: /properties\.a is 11 bytes/ })
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { a: { b: [1, 2, 3, 4] } } }, undefined, bounds), { code: 'invalid_request' }, 'objects count by their JSON')
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { a: 'ü'.repeat(5) } }, undefined, bounds), { code: 'invalid_request' }, 'bytes, not characters')
  // Two values of 8 x make 109 bytes; `,"c":"xxxx"` adds 11.
  const two = mergeStatus(initialStatus('1'), { properties: { a: 'x'.repeat(8), b: 'x'.repeat(8) } }, undefined, bounds)
  t.equal(JSON.stringify(mergeStatus(two, { properties: { c: 'x'.repeat(4) } }, undefined, bounds)).length, 120, 'exactly at the bound is fine')
  t.throws(() => mergeStatus(two, { properties: { c: 'x'.repeat(5) } }, undefined, bounds), { code: 'invalid_request', message: /121 bytes of JSON, over the 120-byte limit/ })
})

t.test('the default bounds: 1024 bytes a value, 8192 a status', async (t) => {
  t.doesNotThrow(() => mergeStatus(initialStatus('1'), { properties: { a: 'x'.repeat(1022) } }))
  t.throws(() => mergeStatus(initialStatus('1'), { properties: { a: 'x'.repeat(1023) } }), { code: 'invalid_request' })
  const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]))
  t.throws(() => mergeStatus(initialStatus('1'), { properties: nine }), { code: 'invalid_request', message: /8192-byte limit/ })
})

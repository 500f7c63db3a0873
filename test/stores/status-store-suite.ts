import { initialStatus, mergeStatus } from '../../lib/presence/device-status'
import type { StatusStore } from '../../lib/stores/status-store'

/**
 * The behaviour every StatusStore must have. A store's own test file calls
 * `statusStoreSuite` with a factory that gives fresh, empty shared state each
 * time; `store(nodeId)` is that state as seen by one node of a cluster (a
 * single-node store may return the same store for every node id).
 */

export interface StatusStoresUnderTest {
  store: (nodeId: string) => StatusStore
  close: () => Promise<void>
}

export type StatusStoreFactory = () => Promise<StatusStoresUnderTest>

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5)

export function statusStoreSuite (t: tap.Test, name: string, factory: StatusStoreFactory): void {
  async function open (t: tap.Test): Promise<(nodeId: string) => StatusStore> {
    const { store, close } = await factory()
    t.teardown(close)
    return store
  }

  t.test(`${name}: get and update merge`, async t => {
    const store = (await open(t))('a')
    t.same(await store.get('1'), initialStatus('1'), 'never heard from')
    const first = await store.update('1', s => mergeStatus(s, { battery: 80, properties: { fw: '1.0', door: 'closed' } }, T0))
    t.same(first, { device_id: '1', online: false, battery: 80, properties: { fw: '1.0', door: 'closed' }, last_seen: T0 })
    const second = await store.update('1', s => mergeStatus(s, { properties: { fw: null, light: 'on' } }))
    t.same(second, { device_id: '1', online: false, battery: 80, properties: { door: 'closed', light: 'on' }, last_seen: T0 })
    t.same(await store.get('1'), second)
    t.same(await store.get('2'), initialStatus('2'), 'other devices untouched')

    await t.rejects(store.update('1', () => { throw new Error('refused') }), /refused/)
    t.same(await store.get('1'), second, 'a throwing update changes nothing')
  })

  t.test(`${name}: connections are counted`, async t => {
    const store = (await open(t))('a')
    await store.update('1', s => mergeStatus(s, { battery: 50 }))
    t.same(await store.connectionOpened('1', 'c1', T0), {
      status: { device_id: '1', online: true, battery: 50, properties: {}, last_seen: T0 },
      changed: true
    }, 'first connection: online, keeps the rest')
    t.same(await store.connectionOpened('1', 'c2', T0 + 1), {
      status: { device_id: '1', online: true, battery: 50, properties: {}, last_seen: T0 + 1 },
      changed: false
    }, 'second connection: seen again')
    const closedOne = await store.connectionClosed('1', 'c1', T0 + 2)
    t.equal(closedOne.changed, false)
    t.equal(closedOne.status.online, true, 'one still open')
    t.same(await store.connectionClosed('1', 'c2', T0 + 3), {
      status: { device_id: '1', online: false, battery: 50, properties: {}, last_seen: T0 + 3 },
      changed: true
    }, 'last connection: offline')
    t.same(await store.get('1'), { device_id: '1', online: false, battery: 50, properties: {}, last_seen: T0 + 3 })
    t.equal((await store.connectionOpened('1', 'c3', T0 + 4)).changed, true, 'online again')
  })

  t.test(`${name}: a takeover (new connection, then the old one closes) stays online`, async t => {
    const store = (await open(t))('a')
    await store.connectionOpened('1', 'old', T0)
    t.equal((await store.connectionOpened('1', 'new', T0 + 1)).changed, false)
    const closed = await store.connectionClosed('1', 'old', T0 + 2)
    t.same({ changed: closed.changed, online: closed.status.online }, { changed: false, online: true })
    t.equal((await store.get('1')).online, true)
    t.same((await store.connectionClosed('1', 'new', T0 + 3)).changed, true)
  })

  t.test(`${name}: closing an unknown connection changes nothing`, async t => {
    const store = (await open(t))('a')
    t.same(await store.connectionClosed('1', 'c9', T0), { status: initialStatus('1'), changed: false }, 'never connected')
    const opened = await store.connectionOpened('1', 'c1', T0)
    t.same(await store.connectionClosed('1', 'c9', T0 + 1), { status: opened.status, changed: false }, 'another connection is open')
    await store.connectionClosed('1', 'c1', T0 + 2)
    const offline = await store.get('1')
    t.same(await store.connectionClosed('1', 'c1', T0 + 3), { status: offline, changed: false }, 'closed twice')
  })

  t.test(`${name}: nodes racing opens, closes and updates never leave a wrong presence`, async t => {
    const stores = await open(t)
    const nodes = [stores('a'), stores('b'), stores('c')]
    const on = (i: number): StatusStore => nodes[i % nodes.length] as StatusStore
    const devices = Array.from({ length: 10 }, (_, i) => `d${i}`)
    const held = new Map<string, Array<{ store: StatusStore, id: string }>>()
    let next = 0
    for (let round = 0; round < 30; round++) {
      // Each round, for every device at once: close what is open, open zero to two
      // connections and update a property, each on some node, in a varying order.
      const now = T0 + round
      const steps = devices.flatMap((deviceId, d) => {
        const opening = Array.from({ length: (round + d) % 3 }, (_, i) => ({ store: on(round + d + i), id: `c${next++}` }))
        const closing = held.get(deviceId) ?? []
        held.set(deviceId, opening)
        const all = [
          ...closing.map(c => () => c.store.connectionClosed(deviceId, c.id, now)),
          ...opening.map(c => () => c.store.connectionOpened(deviceId, c.id, now)),
          () => on(round + d + 2).update(deviceId, s => mergeStatus(s, { properties: { round } }))
        ]
        return (round + d) % 2 === 0 ? all : all.reverse()
      })
      await Promise.all(steps.map(step => step()))
      for (const deviceId of devices) {
        const open = (held.get(deviceId) ?? []).length
        const status = await on(round).get(deviceId)
        if (status.online !== (open > 0)) t.fail(`round ${round}, ${deviceId}: online ${status.online} with ${open} connections open`)
        if (status.properties.round !== round) t.fail(`round ${round}, ${deviceId}: update lost`)
      }
    }
    t.pass('every round right')
  })

  t.test(`${name}: concurrent updates from two nodes lose none`, async t => {
    const stores = await open(t)
    const nodes = [stores('a'), stores('b')]
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`)
    await Promise.all(keys.map((key, i) =>
      nodes[i % 2]?.update('1', s => mergeStatus(s, { properties: { [key]: i } }))))
    const stored = await nodes[0]?.get('1')
    t.same(Object.keys(stored?.properties ?? {}).sort(), [...keys].sort())
  })
}

import type { QueuedEvent, WebhookEventType } from '../../lib/webhooks/events'
import { laneOf, type StoredWebhook, type WebhookStore } from '../../lib/webhooks/webhook-store'

export interface StoreUnderTest {
  store: WebhookStore
  close (): Promise<void>
}

const T0 = 1_700_000_000_000
const LEASE = 1000

function hook (id: string, events: string[]): StoredWebhook {
  return { webhook_id: id, url: `http://127.0.0.1:9/${id}`, events, created_at: T0, created_by: 'service/ops', secret: 'a-secret-of-sixteen' }
}

function event (id: string, type: WebhookEventType = 'call.ringing'): QueuedEvent {
  return { id, type, created_at: T0, body: JSON.stringify({ id, type, created_at: T0, data: {} }) }
}

/** The same rules for every webhook store (memory, Redis). */
export function webhookStoreSuite (t: tap.Test, name: string, make: () => Promise<StoreUnderTest>): void {
  async function open (t: tap.Test): Promise<WebhookStore> {
    const made = await make()
    t.teardown(() => made.close())
    return made.store
  }

  t.test(`${name}: the registry keeps secrets out of listings and bounds the count`, async (t) => {
    const store = await open(t)
    t.equal(await store.add(hook('wh_a', ['*']), 2), true)
    t.equal(await store.add(hook('wh_b', ['call.ended']), 2), true)
    t.equal(await store.add(hook('wh_c', ['call.ended']), 2), false, 'the third of at most two is refused')
    const listed = await store.list()
    t.same(listed.map((w) => w.webhook_id).sort(), ['wh_a', 'wh_b'])
    t.notOk(listed.some((w) => 'secret' in w), 'no secret in a listing')
    t.equal((await store.get('wh_a'))?.secret, 'a-secret-of-sixteen', 'the worker still reads it')
    t.equal(await store.remove('wh_a'), true)
    t.equal(await store.remove('wh_a'), false)
    t.equal(await store.get('wh_a'), null)
  })

  t.test(`${name}: an event is queued only for the webhooks that want it`, async (t) => {
    const store = await open(t)
    await store.add(hook('wh_all', ['*']), 10)
    await store.add(hook('wh_end', ['call.ended']), 10)
    t.same(await store.enqueue(event('e1', 'call.ringing'), 'call:c1', 10, T0), { queued: 1, dropped: [] })
    t.same(await store.enqueue(event('e2', 'call.ended'), 'call:c1', 10, T0), { queued: 2, dropped: [] })
    const claimed = await store.claim(T0, LEASE, 10)
    t.same(claimed.map((c) => `${c.lane} ${c.delivery.id}`).sort(), ['wh_all|call:c1 e1', 'wh_end|call:c1 e2'])
  })

  t.test(`${name}: a lane hands out its head only, in order, and a claim is a lease`, async (t) => {
    const store = await open(t)
    await store.add(hook('wh_a', ['*']), 10)
    for (const id of ['e1', 'e2', 'e3']) await store.enqueue(event(id), 'call:c1', 10, T0)
    const lane = laneOf('wh_a', 'call:c1')
    const [first] = await store.claim(T0, LEASE, 10)
    t.match(first, { lane, webhookId: 'wh_a', delivery: { id: 'e1', attempts: 0 } })
    t.same(await store.claim(T0 + LEASE - 1, LEASE, 10), [], 'leased: nobody else gets it')
    const [again] = await store.claim(T0 + LEASE, LEASE, 10)
    t.equal(again?.delivery.id, 'e1', 'a lapsed lease (a dead holder) gives the same head to the next claimer')

    await store.reschedule(lane, { ...first!.delivery, attempts: 1 }, T0 + 5000)
    t.same(await store.claim(T0 + 4999, LEASE, 10), [], 'a failed head waits for its retry')
    t.match((await store.claim(T0 + 5000, LEASE, 10))[0], { delivery: { id: 'e1', attempts: 1 } }, 'and keeps its attempt count')

    await store.complete(lane, 'e2', T0 + 5000)
    t.same(await store.claim(T0 + 9000, LEASE, 10).then((c) => c.map((x) => x.delivery.id)), ['e1'], 'completing another id than the head changes nothing')
    await store.complete(lane, 'e1', T0 + 9000)
    t.same(await store.claim(T0 + 9000, LEASE, 10).then((c) => c.map((x) => x.delivery.id)), ['e2'], 'the next one is due at once')
    await store.complete(lane, 'e2', T0 + 9000)
    await store.complete(lane, 'e3', T0 + 9000)
    t.same(await store.claim(T0 + 20_000, LEASE, 10), [], 'an empty lane is gone')
  })

  t.test(`${name}: each webhook has a bounded queue of its own`, async (t) => {
    const store = await open(t)
    await store.add(hook('wh_slow', ['*']), 10)
    await store.add(hook('wh_fast', ['call.ended']), 10)
    t.same(await store.enqueue(event('e1'), 'call:c1', 2, T0), { queued: 1, dropped: [] })
    t.same(await store.enqueue(event('e2'), 'call:c2', 2, T0), { queued: 1, dropped: [] })
    t.same(await store.enqueue(event('e3', 'call.ended'), 'call:c2', 2, T0), { queued: 1, dropped: ['wh_slow'] }, 'the full one drops, the other still gets it')
    t.equal(await store.backlog(), 3, 'the backlog counts every webhook\'s pending deliveries')
    await store.complete(laneOf('wh_slow', 'call:c1'), 'e1', T0)
    t.equal(await store.backlog(), 2, 'a completed delivery leaves the backlog')
    t.same(await store.enqueue(event('e4'), 'call:c3', 2, T0), { queued: 1, dropped: [] }, 'a completed delivery frees its place')
  })

  t.test(`${name}: the deliveries of a deleted webhook are dropped as they come due`, async (t) => {
    const store = await open(t)
    await store.add(hook('wh_a', ['*']), 10)
    await store.enqueue(event('e1'), 'call:c1', 10, T0)
    await store.remove('wh_a')
    const [claimed] = await store.claim(T0, LEASE, 10)
    t.equal(claimed?.webhookId, 'wh_a', 'the lane still comes due')
    t.equal(await store.get('wh_a'), null, 'but its webhook is gone, so the worker completes it unsent')
  })

  t.test(`${name}: device online flags are swapped, the previous one returned`, async (t) => {
    const store = await open(t)
    t.equal(await store.swapDeviceOnline('1', true), null)
    t.equal(await store.swapDeviceOnline('1', true), true)
    t.equal(await store.swapDeviceOnline('1', false), true)
    t.equal(await store.swapDeviceOnline('1', false), false)
  })
}

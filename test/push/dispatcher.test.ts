import t from 'tap'
import pino from 'pino'
import type { Publisher, PublishListener } from '../../lib/broker/publisher'
import type { PushChannel } from '../../lib/push/channel'
import { startPushDispatcher } from '../../lib/push/dispatcher'
import { createMemoryPushStore } from '../../lib/push/memory-push-store'
import { createMemoryResidentConnections } from '../../lib/push/resident-connections'

const PUSHES = 20

t.test('a burst of pushes starts in slices: a call\'s waiting work runs before the burst is through', async (t) => {
  const store = createMemoryPushStore()
  for (let i = 0; i < PUSHES; i++) await store.add({ subscription_id: `s${i}`, kind: 'fcm', resident_id: '2', created_at: 0, token: `token-${i}` }, PUSHES)
  const started: string[] = []
  let startedBeforeOtherWork = -1
  const channel: PushChannel = {
    kind: 'fcm',
    async send (subscription) {
      started.push(subscription.subscription_id)
      if (started.length === 1) setTimeout(() => { startedBeforeOtherWork = started.length }, 0)
      // Each start costs longer than a slice, as encrypting and writing a push can on a busy node.
      const until = performance.now() + 3
      while (performance.now() < until);
      return { status: 'accepted' }
    }
  }
  let listener: PublishListener = () => {}
  const publisher: Publisher = { publish: async () => {}, onPublish: (l) => { listener = l; return () => {} } }
  let accepted = 0
  let allAccepted: () => void = () => {}
  const done = new Promise<void>((resolve) => { allAccepted = resolve })
  const dispatcher = startPushDispatcher({
    publisher,
    store,
    connections: createMemoryResidentConnections(),
    channels: [channel],
    logger: pino({ level: 'silent' }),
    maxQueue: 100,
    concurrency: 32,
    retryBaseMs: 1000,
    report: { attempt: () => { if (++accepted === PUSHES) allAccepted() }, skipped: () => {} }
  })
  t.teardown(() => dispatcher.close())
  listener('users/2/calls/incoming', { call_id: 'c1', device_device_id: '1', household_number: null, expires_at: Date.now() + 30_000, seq: 1 })
  await done
  t.equal(started.length, PUSHES, 'every push went out')
  t.ok(startedBeforeOtherWork >= 1 && startedBeforeOtherWork <= 2, `other work waited for ${startedBeforeOtherWork} push start(s), not for the whole burst of ${PUSHES}`)
})

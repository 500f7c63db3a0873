import { readFileSync } from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import webPush from 'web-push'
import { request } from '../helpers/http'
import { settle, type TestClient } from '../helpers/mqtt'
import { DEMO_DIRECTORY } from '../helpers/node'
import { startWebPushService } from '../push/web-push-service'
import { actHttp, callHttp, lines, session, startScene } from './helpers'

const VAPID = webPush.generateVAPIDKeys()
const PUSH_ENV = { PUSH_VAPID_PUBLIC_KEY: VAPID.publicKey, PUSH_VAPID_PRIVATE_KEY: VAPID.privateKey, PUSH_VAPID_SUBJECT: 'mailto:ops@example.com' }

/** Polls the session until `check` holds; fails the wait (not a timing assertion) if it never does. */
async function sessionWhen (base: string, callId: string, what: string, check: (s: Record<string, any>) => boolean): Promise<Record<string, any>> {
  for (let tries = 0; tries < 500; tries++) {
    const s = await session(base, callId)
    if (check(s)) return s
    await sleep(20)
  }
  throw new Error(`gave up waiting for ${what}`)
}

const deliveryOf = (s: Record<string, any>, residentId: string): string | undefined =>
  s.legs.find((l: { resident_id: string }) => l.resident_id === residentId)?.delivery

t.test('delivery: online for a resident with a connection, queued for one without', async (t) => {
  const scene = await startScene(t, { residents: ['2'] })
  const call = await callHttp(scene.node.httpUrl, { household_number: '101' })
  t.same(call.legs, [{ resident_id: '2', state: 'ringing', delivery: 'online' }, { resident_id: '3', state: 'ringing', delivery: 'queued' }])
})

t.test('delivery: push once a push service accepted the invite; no transition, nobody told', async (t) => {
  // Before the node: its Web Push agent takes the trusted certificates when it is made.
  const service = await startWebPushService(t)
  const scene = await startScene(t, { residents: ['2'], env: PUSH_ENV })
  const base = scene.node.httpUrl
  const subscribed = await request(base, 'POST', '/api/push/subscriptions', { as: 'resident/3', body: { kind: 'webpush', ...service.subscribe('phone-3') } })
  t.equal(subscribed.status, 200)
  const call = await callHttp(base, { household_number: '101' })
  t.equal(deliveryOf(call, '3'), 'queued', 'queued until the push service accepts')
  await service.waitFor((p) => p.payload.type === 'call.incoming' && p.payload.call_id === call.call_id)
  const pushed = await sessionWhen(base, call.call_id, 'delivery push', (s) => deliveryOf(s, '3') === 'push')
  t.match(pushed, { status: 'ringing', seq: 1 }, 'seq unchanged: no transition')
  t.equal(deliveryOf(pushed, '2'), 'online')
  await settle()
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1'], 'nobody is told')
  t.same(lines(scene.service), ['events ringing by=device/1 #1'])
})

t.test('delivery: the next resident of a sequential ring is online when it has a connection', async (t) => {
  const directory = JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8'))
  directory.households[0].policy = { ring: { sequential: 300_000 } }
  const file = path.join(t.testdir({ 'directory.json': JSON.stringify(directory) }), 'directory.json')
  const scene = await startScene(t, { residents: ['3'], env: { INTERCOM_DIRECTORY: file } })
  const base = scene.node.httpUrl
  const call = await callHttp(base, { household_number: '101' })
  t.same(call.legs, [{ resident_id: '2', state: 'ringing', delivery: 'queued' }, { resident_id: '3', state: 'waiting' }], 'a waiting leg has no delivery yet')
  t.equal((await actHttp(base, 'resident/2', call.call_id, 'rejected')).status, 200)
  const next = await sessionWhen(base, call.call_id, 'delivery online', (s) => deliveryOf(s, '3') === 'online')
  t.match(next, { status: 'ringing', seq: 2, legs: [{ state: 'rejected', delivery: 'queued' }, { state: 'ringing', delivery: 'online' }] })
})

import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseDirectory } from '../../lib/directory/load'
import { settle, type TestClient } from '../helpers/mqtt'
import { DEMO_DIRECTORY } from '../helpers/node'
import { actHttp, callHttp, clear, lines, session, startScene, waitEnded, type Scene } from './helpers'
import { meetingPoint } from './race-seam'

/** The demo directory with household 101 (residents 2, 3) ringing one resident after the other. */
function sequentialDirectory (t: tap.Test, stepMs: number): string {
  const directory = JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8'))
  directory.households[0].policy = { ring: { sequential: stepMs } }
  const dir = t.testdir({ 'directory.json': JSON.stringify(directory) })
  return path.join(dir, 'directory.json')
}

const incoming = (client: TestClient, callId: string) =>
  client.waitFor((m) => m.topic.endsWith('/calls/incoming') && m.json.call_id === callId)

/** Everyone's messages go: the next part starts afresh. */
const clearAll = (scene: Scene): void => clear(scene.device, scene.service, ...Object.values(scene.residents))

t.test('sequential ring: resident 2 rings alone, then its turn ends and resident 3 rings', async (t) => {
  const scene = await startScene(t, { env: { INTERCOM_DIRECTORY: sequentialDirectory(t, 1000) } })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const r3 = scene.residents['3'] as TestClient
  const call = await callHttp(base, { household_number: '101' })
  t.match(call, { ring_step_ms: 1000, legs: [{ resident_id: '2', state: 'ringing' }, { resident_id: '3', state: 'waiting' }] })
  const first = await incoming(r2, call.call_id)
  t.equal(first.json.expires_at, call.start_time + 1000, 'the invite goes stale at the end of the turn')
  const second = await incoming(r3, call.call_id)
  t.equal(second.json.seq, 2)
  t.equal((await actHttp(base, 'resident/3', call.call_id, 'answered')).status, 200)
  t.equal((await actHttp(base, 'device/1', call.call_id, 'hangup')).status, 200)
  await waitEnded(scene.service, call.call_id)
  await settle()
  t.same(lines(scene.device), ['control ringing #1', 'control timeout reason=next_resident r=2 #2', 'control answered r=3 #3', 'control hangup r=3 #4'])
  t.same(lines(r2), ['incoming #1', 'control timeout reason=next_resident #2'], 'resident 2 is told its ring is over')
  t.same(lines(r3), ['incoming #2', 'control answered r=3 #3', 'control hangup r=3 #4'])
  t.match(await session(base, call.call_id), { legs: [{ state: 'timeout' }, { state: 'answered' }], history: [{ action: 'ringing' }, { action: 'timeout', actor: 'system', reason: 'next_resident' }, { action: 'answered' }, { action: 'hangup' }] })
})

t.test('sequential ring: a rejection moves on at once; an answer leaves the rest waiting', async (t) => {
  const scene = await startScene(t, { env: { INTERCOM_DIRECTORY: sequentialDirectory(t, 300_000) } })
  const base = scene.node.httpUrl
  const call = await callHttp(base, { household_number: '101' })
  t.equal((await actHttp(base, 'resident/2', call.call_id, 'rejected')).status, 200)
  await incoming(scene.residents['3'] as TestClient, call.call_id)
  t.match(await session(base, call.call_id), { status: 'ringing', legs: [{ state: 'rejected' }, { state: 'ringing' }] })
  t.equal((await actHttp(base, 'device/1', call.call_id, 'cancelled')).status, 200)
  await waitEnded(scene.service, call.call_id)
  await settle()
  clearAll(scene)

  const next = await callHttp(base, { household_number: '101' })
  t.match(await actHttp(base, 'resident/3', next.call_id, 'answered'), { status: 403 }, 'not its turn yet: no party')
  t.equal((await actHttp(base, 'resident/2', next.call_id, 'answered')).status, 200)
  t.equal((await actHttp(base, 'resident/2', next.call_id, 'hangup')).status, 200)
  await waitEnded(scene.service, next.call_id)
  await settle()
  t.match(await session(base, next.call_id), { legs: [{ state: 'answered' }, { state: 'waiting' }] })
  t.same(lines(scene.residents['3'] as TestClient), [], 'resident 3 heard nothing of the second call')
  t.same(lines(scene.residents['4'] as TestClient), [], 'another household is not rung')
})

t.test('the directory checks policy.ring, naming the entry', async (t) => {
  const demo = readFileSync(DEMO_DIRECTORY, 'utf8')
  const withPolicy = (policy: unknown): string => {
    const d = JSON.parse(demo)
    d.households[1].policy = policy
    return JSON.stringify(d)
  }
  t.throws(() => parseDirectory('dir.json', withPolicy({ ring: 'loud' })), /households\[1\]\.policy\.ring/)
  t.throws(() => parseDirectory('dir.json', withPolicy({ ring: { sequential: 999 } })), /households\[1\]\.policy\.ring/)
  t.throws(() => parseDirectory('dir.json', withPolicy({ ring: { sequential: 300_001 } })), /households\[1\]\.policy\.ring/)
  t.throws(() => parseDirectory('dir.json', withPolicy({ ring: { sequential: 5000, order: 'random' } })), /households\[1\]\.policy\.ring/)
  t.equal(parseDirectory('dir.json', withPolicy({ ring: { sequential: 5000 } })).ringStep('102'), 5000)
  t.equal(parseDirectory('dir.json', withPolicy({ ring: 'parallel' })).ringStep('102'), null)
  t.equal(parseDirectory('dir.json', demo).ringStep('102'), null, 'parallel by default')
})

t.test('an answer meets the end of the turn between read and write: one wins, both outcomes occur', async (t) => {
  const meet = meetingPoint()
  const scene = await startScene(t, { env: { INTERCOM_DIRECTORY: sequentialDirectory(t, 1000) }, callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const winners = new Set<string>()
  for (let round = 0; round < 4; round++) {
    clearAll(scene)
    const chosen = round % 2 === 0 ? 'answer' : 'turn'
    const met = meet.arm((e) => e.type === 'action' && e.action === 'answered' ? 'answer' : e.type === 'timer' && e.timer === 'next_resident' ? 'turn' : null, chosen)
    const call = await callHttp(base, { household_number: '101' })
    await incoming(r2, call.call_id)
    // The answer is held until the turn's deadline fires and is held too; then `chosen` writes first.
    const [answered] = await Promise.all([actHttp(base, 'resident/2', call.call_id, 'answered'), met])
    const after = await session(base, call.call_id)
    if (chosen === 'answer') {
      t.equal(answered.status, 200, `round ${round}: the answer won`)
      t.match(after, { status: 'connected', resident_id: '2', seq: 2, legs: [{ state: 'answered' }, { state: 'waiting' }] }, 'the late turn deadline changed nothing')
    } else {
      t.match(answered, { status: 409, body: { error: 'invalid_transition' } }, `round ${round}: the turn ended first`)
      t.match(after, { status: 'ringing', seq: 2, legs: [{ state: 'timeout' }, { state: 'ringing' }] })
    }
    winners.add(after.status === 'connected' ? 'answer' : 'turn')
    t.equal((await actHttp(base, 'device/1', call.call_id, after.status === 'connected' ? 'hangup' : 'cancelled')).status, 200)
    await waitEnded(scene.service, call.call_id)
  }
  t.same([...winners].sort(), ['answer', 'turn'], 'both outcomes occurred')
})

import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { parseDirectory } from '../../lib/directory/load'
import type { TestClient } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { DEMO_DIRECTORY } from '../helpers/node'
import { actHttp, actMqtt, callHttp, lines, session, startScene, waitEnded } from './helpers'

/** The demo directory with changes, written where a node can load it. */
function directoryWith (t: tap.Test, change: (d: Record<string, any>) => void): string {
  const directory = JSON.parse(readFileSync(DEMO_DIRECTORY, 'utf8'))
  change(directory)
  const dir = t.testdir({ 'directory.json': JSON.stringify(directory) })
  return path.join(dir, 'directory.json')
}

t.test('decline_all: the call ends rejected and the other ringing residents are cancelled declined_elsewhere', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  await r2.waitFor((m) => m.topic === 'users/2/calls/incoming')
  await actMqtt(r2, 'resident/2', callId, 'decline_all', { reason: 'not now' })
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.match(await session(base, callId), { status: 'ended', end_reason: 'rejected', ended_by: 'resident/2', legs: [{ resident_id: '2', state: 'rejected' }, { resident_id: '3', state: 'cancelled' }] })
  t.same(lines(scene.device), ['control ringing #1', 'control rejected reason=not now r=2 #2'])
  t.same(lines(r2), ['incoming #1', 'control rejected reason=not now r=2 #2'])
  t.same(lines(scene.residents['3'] as TestClient), ['incoming #1', 'control cancelled reason=declined_elsewhere r=2 #2'])
  t.same(lines(scene.service), ['events ringing by=device/1 #1', 'events decline_all reason=not now by=resident/2 #2'])
  t.match(await actHttp(base, 'resident/3', callId, 'decline_all'), { status: 409, body: { error: 'invalid_transition' } }, 'too late for the others')
})

t.test('household policy on_reject "all": one plain rejection ends the call for everyone', async (t) => {
  const file = directoryWith(t, (d) => { d.households[0].policy = { on_reject: 'all' } })
  const scene = await startScene(t, { env: { INTERCOM_DIRECTORY: file } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  t.equal((await actHttp(base, 'resident/3', callId, 'rejected')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.match(await session(base, callId), { status: 'ended', end_reason: 'rejected', on_reject: 'all', legs: [{ state: 'cancelled' }, { state: 'rejected' }] })
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control cancelled reason=declined_elsewhere r=3 #2'])

  const other = (await callHttp(base, { household_number: '102' })).call_id as string
  t.equal((await session(base, other)).on_reject, 'leg', 'a household without the policy: leg')
})

t.test('unlock from the preview: the door opens and the call ends unlocked', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  const opened = await actHttp(base, 'resident/3', callId, 'unlock')
  t.match(opened, { status: 200, body: { data: { status: 'ended', end_reason: 'unlocked', resident_id: '3', ended_by: 'resident/3' } } })
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.same(lines(scene.device), ['control ringing #1', 'control unlock r=3 #2'], 'the device gets unlock')
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control cancelled reason=answered_elsewhere r=3 #2'])
  t.same(lines(scene.residents['3'] as TestClient), ['incoming #1', 'control unlock r=3 #2'])
})

t.test('can_unlock false: the resident may answer but not open the door (403)', async (t) => {
  const file = directoryWith(t, (d) => { d.residents[1].can_unlock = false })
  const scene = await startScene(t, { env: { INTERCOM_DIRECTORY: file } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  t.match(await actHttp(base, 'resident/3', callId, 'unlock'), { status: 403, body: { error: 'forbidden', message: /does not let this resident open the door/ } })
  t.equal((await actHttp(base, 'resident/3', callId, 'answered')).status, 200)
  t.match(await actHttp(base, 'resident/3', callId, 'unlock'), { status: 403, body: { error: 'forbidden' } }, 'nor during the call')
  t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.notOk(lines(scene.device).some((l) => l.includes('unlock')), 'the door never got unlock')
})

t.test('the directory checks policy and can_unlock, naming the entry', async (t) => {
  const demo = readFileSync(DEMO_DIRECTORY, 'utf8')
  const bad = (change: (d: Record<string, any>) => void): string => {
    const d = JSON.parse(demo)
    change(d)
    return JSON.stringify(d)
  }
  t.throws(() => parseDirectory('dir.json', bad((d) => { d.households[1].policy = { on_reject: 'some' } })), /households\[1\]\.policy\.on_reject/)
  t.throws(() => parseDirectory('dir.json', bad((d) => { d.households[0].policy = { volume: 'loud' } })), /households\[0\]\.policy.*not a known field/)
  t.throws(() => parseDirectory('dir.json', bad((d) => { d.residents[2].can_unlock = 'yes' })), /residents\[2\]\.can_unlock/)
  const ok = parseDirectory('dir.json', bad((d) => { d.households[0].policy = { on_reject: 'all' }; d.residents[0].can_unlock = false }))
  t.equal(ok.onReject('101'), 'all')
  t.equal(ok.onReject('102'), 'leg', 'default')
  t.equal(ok.canUnlock('2'), false)
  t.equal(ok.canUnlock('3'), true, 'default')
})

t.test('hang up after opening: the call ends unlocked UNLOCK_HANGUP_MS after the first unlock', async (t) => {
  const scene = await startScene(t, { env: { UNLOCK_HANGUP_MS: '300' } })
  const base = scene.node.httpUrl
  const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
  t.equal((await actHttp(base, 'resident/2', callId, 'answered')).status, 200)
  t.equal((await actHttp(base, 'resident/2', callId, 'unlock')).status, 200)
  await waitEnded(scene.service, callId)
  await flush(scene.service, scene.device, scene.service, ...Object.values(scene.residents))
  t.match(await session(base, callId), { status: 'ended', end_reason: 'unlocked', ended_by: 'system', seq: 4 })
  t.same(lines(scene.device), ['control ringing #1', 'control answered r=2 #2', 'control unlock r=2 #3', 'control unlocked r=2 #4'])
  t.same(lines(scene.residents['2'] as TestClient), ['incoming #1', 'control answered r=2 #2', 'control unlocked r=2 #4'])
  t.same(lines(scene.service).at(-1), 'events unlocked by=system #4', 'fired once')
})

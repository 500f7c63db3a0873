import t from 'tap'
import { settle } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { actHttp, callHttp, historyOf, killNode, lines, party, session, startTwoNodes, waitEnded } from './helpers'

/** Longer than the lease a node takes on a due timer (5 s): a second firing would show by then. */
const LEASE_AND_MARGIN_MS = 6000

if (requireRedis(t)) {
  t.test('the node that took the unlock dies before the hang-up deadline: the other node ends the call unlocked, once', async (t) => {
    const redis = await startRedis(t)
    // The default UNLOCK_HANGUP_MS (5 s) leaves node A ample time to die before the deadline.
    const [a, b] = await startTwoNodes(t, redis.url)
    const device = await party(t, b.mqttUrl, 'device/1', 'devices/1/#')
    const r2 = await party(t, b.mqttUrl, 'resident/2', 'users/2/#')
    const service = await party(t, b.mqttUrl, 'service/ops', 'calls/+/events')

    const started = await callHttp(a.httpUrl, { target_resident_id: '2' })
    t.equal(started.status, 200)
    const callId = started.body.data.call_id as string
    t.equal((await actHttp(a.httpUrl, 'resident/2', callId, 'answered')).status, 200)
    const unlocked = await actHttp(a.httpUrl, 'resident/2', callId, 'unlock')
    t.equal(unlocked.status, 200, 'node A takes the unlock and stores the deadline')
    const unlockAt = (unlocked.body.data.history as Array<{ action: string, timestamp: number }>).find((h) => h.action === 'unlock')?.timestamp as number
    await killNode(a)
    t.ok(Date.now() < unlockAt + 5000, 'node A was gone before the deadline came due')

    const ended = await waitEnded(service, callId, 20_000)
    t.match(ended.json, { action: 'unlocked', actor: 'system', status: 'ended', seq: 4 }, 'node B fired it')
    await settle(LEASE_AND_MARGIN_MS)

    const expected = ['control answered r=2 #2', 'control unlocked r=2 #4']
    t.same(lines(device, callId), ['control ringing #1', 'control answered r=2 #2', 'control unlock r=2 #3', 'control unlocked r=2 #4'], 'the door hears the end once')
    t.same(lines(r2, callId), ['incoming #1', ...expected], 'so does the answerer')
    t.same(lines(service, callId).filter((l) => l.startsWith('events unlocked')), ['events unlocked by=system #4'], 'one event for the end')
    const stored = await session(b.httpUrl, callId)
    t.match(stored, { status: 'ended', end_reason: 'unlocked', ended_by: 'system', seq: 4 })
    t.same(historyOf(stored), ['ringing device/1 #1', 'answered resident/2 #2', 'unlock resident/2 #3', 'unlocked system #4'])
  })
}

import t from 'tap'
import { request } from '../helpers/http'
import type { TestClient } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { actHttp, actMqtt, callHttp, clear, lines, session, startScene, waitEnded, type Scene } from './helpers'
import { meetingPoint } from './race-seam'

/**
 * Races provoked on purpose. Through the call service's `beforeWrite` seam
 * (see race-seam.ts) both competitors have read the call and run the machine
 * before either writes, on the memory store and on Redis alike; the winner
 * alternates by round, so each race shows both outcomes, and exactly one
 * transition wins and every party hears of it once.
 */

/**
 * Four rounds: the winner alternates each round and the transport (or the
 * order of arrival) every other round, so every combination is raced once.
 */
const ROUNDS = 4

/** Both at once; which one leaves first alternates by round, so each side gets to win. */
function together<A, B> (round: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (Math.floor(round / 2) % 2 === 0) return Promise.all([a(), b()])
  const second = b()
  return Promise.all([a(), second])
}

function everyone (scene: Scene): TestClient[] {
  return [scene.device, scene.service, ...Object.values(scene.residents)]
}

/** Order between a refusal and a control message of another request is not defined. */
const sorted = (client: TestClient): string[] => lines(client).sort()

/** The outcome of an MQTT action: the refusal it got on its error topic, or null once the call settled without one. */
function refusalOf (client: TestClient, callId: string): string | null {
  const refusal = client.messages.find((m) => m.topic.endsWith('/calls/error') && m.json.call_id === callId)
  return refusal === undefined ? null : String(refusal.json.error)
}

t.test('two residents answer between each other\'s read and write: exactly one wins, and each side wins some rounds', async (t) => {
  const meet = meetingPoint()
  const scene = await startScene(t, { callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const winners = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const mixed = round % 4 >= 2
    const chosen = round % 2 === 0 ? 'resident/2' : 'resident/3'
    const callId = (await callHttp(base, { household_number: '101' })).call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming')
    const met = meet.arm((e) => e.type === 'action' && e.action === 'answered' ? `resident/${e.actor.id}` : null, chosen)
    const [viaR2, viaR3] = await Promise.all([
      mixed ? actMqtt(r2, 'resident/2', callId, 'answered').then(() => null) : actHttp(base, 'resident/2', callId, 'answered'),
      actHttp(base, 'resident/3', callId, 'answered'),
      met
    ])
    const connected = await session(base, callId)
    const winner = connected.resident_id as string
    const loser = winner === '2' ? '3' : '2'
    winners.add(winner)
    t.equal(`resident/${winner}`, chosen, `round ${round}: the write that went first won`)
    t.equal(connected.status, 'connected', `round ${round}: connected`)
    t.equal(connected.seq, 2, 'one transition only')
    t.equal(viaR3.status, winner === '3' ? 200 : 409, 'resident 3: 200 if it won, else 409')
    if (winner === '2') t.equal(viaR3.body.error, 'invalid_transition')
    if (viaR2 !== null) {
      t.equal(viaR2.status, winner === '2' ? 200 : 409, 'resident 2 over HTTP: 200 if it won, else 409')
      if (winner === '3') t.equal(viaR2.body.error, 'invalid_transition')
    } else if (winner === '3') {
      await r2.waitFor((m) => m.topic === 'users/2/calls/error' && m.json.call_id === callId)
    }

    t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
    await waitEnded(scene.service, callId)
    await flush(scene.service, ...everyone(scene))
    if (viaR2 === null) t.equal(refusalOf(r2, callId), winner === '3' ? 'invalid_transition' : null, 'resident 2 over MQTT: refused only if it lost')
    const loserLines = [`control cancelled reason=answered_elsewhere r=${winner} #2`, 'incoming #1']
    if (mixed && loser === '2') loserLines.unshift('error invalid_transition')
    t.same(lines(scene.device), ['control ringing #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`])
    t.same(lines(scene.residents[winner] as TestClient), ['incoming #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`])
    t.same(sorted(scene.residents[loser] as TestClient), loserLines.sort(), 'the loser is told the call was answered elsewhere')
    t.same(lines(scene.residents['4'] as TestClient), [], 'resident 4 was not rung')
    t.same(lines(scene.service), ['events ringing by=device/1 #1', `events answered by=resident/${winner} #2`, 'events hangup by=device/1 #3'])
  }
  t.same([...winners].sort(), ['2', '3'], 'both residents won some rounds')
})

t.test('an answer meets the ring timeout between read and write: exactly one wins, both outcomes occur', async (t) => {
  const meet = meetingPoint()
  const scene = await startScene(t, { env: { RING_TIMEOUT_MS: '400' }, callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const outcomes = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const chosen = round % 2 === 0 ? 'answer' : 'timer'
    const met = meet.arm((e) => e.type === 'action' && e.action === 'answered' ? 'answer' : e.type === 'timer' && e.timer === 'ring' ? 'timer' : null, chosen)
    const callId = (await callHttp(base, { target_resident_id: '2' })).call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming' && m.json.call_id === callId)
    const [answer] = await Promise.all([actHttp(base, 'resident/2', callId, 'answered'), met])
    const after = await session(base, callId)
    const outcome = after.status === 'connected' ? 'answer' : 'timer'
    outcomes.add(outcome)
    t.equal(outcome, chosen, `round ${round}: the write that went first won`)
    if (outcome === 'answer') {
      t.match(after, { status: 'connected', resident_id: '2', seq: 2 }, 'answered; the late ring timer changed nothing')
      t.equal(answer.status, 200)
      t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
    } else {
      t.match(after, { status: 'ended', end_reason: 'timeout', ended_by: 'system', seq: 2 }, 'timed out once')
      t.match(answer, { status: 409, body: { error: 'invalid_transition' } }, 'the late answer is refused')
    }
    await waitEnded(scene.service, callId)
    await flush(scene.service, ...everyone(scene))
    const expected = outcome === 'answer'
      ? ['control ringing #1', 'control answered r=2 #2', 'control hangup r=2 #3']
      : ['control ringing #1', 'control timeout #2']
    t.same(lines(scene.device), expected, 'the device hears one outcome')
    t.equal((await session(base, callId)).seq, expected.length)
  }
  t.same([...outcomes].sort(), ['answer', 'timer'])
})

t.test('a hangup meets the maximum duration between read and write: exactly one end, both outcomes occur', async (t) => {
  const meet = meetingPoint()
  const scene = await startScene(t, { env: { MAX_CALL_MS: '400' }, callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const outcomes = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const chosen = round % 2 === 0 ? 'hangup' : 'timer'
    const callId = (await callHttp(base, { target_resident_id: '3' })).call_id as string
    t.equal((await actHttp(base, 'resident/3', callId, 'answered')).status, 200)
    const met = meet.arm((e) => e.type === 'action' && e.action === 'hangup' ? 'hangup' : e.type === 'timer' && e.timer === 'max_duration' ? 'timer' : null, chosen)
    const [hangup] = await Promise.all([actHttp(base, 'device/1', callId, 'hangup'), met])
    await waitEnded(scene.service, callId)
    await flush(scene.service, ...everyone(scene))
    const ended = await session(base, callId)
    const outcome = ended.end_reason === 'hangup' ? 'hangup' : 'timer'
    outcomes.add(outcome)
    t.equal(outcome, chosen, `round ${round}: the write that went first won`)
    t.equal(ended.seq, 3, 'exactly one end')
    t.equal(ended.ended_by, outcome === 'hangup' ? 'device/1' : 'system')
    t.equal(hangup.status, outcome === 'hangup' ? 200 : 409, 'the device is told whether it ended the call')
    const endLine = outcome === 'hangup' ? 'control hangup r=3 #3' : 'control max_duration r=3 #3'
    t.same(lines(scene.device), ['control ringing #1', 'control answered r=3 #2', endLine], 'the device hears of the end once')
    t.same(lines(scene.residents['3'] as TestClient), ['incoming #1', 'control answered r=3 #2', endLine], 'so does the answerer')
  }
  t.same([...outcomes].sort(), ['hangup', 'timer'])
})

t.test('end-session crossing an answer: exactly one end', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const orders = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const overMqtt = round % 2 === 1
    const callId = (await callHttp(base)).call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming')
    const [answer, end] = await together(round,
      () => overMqtt ? actMqtt(r2, 'resident/2', callId, 'answered').then(() => null) : actHttp(base, 'resident/2', callId, 'answered'),
      () => request(base, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: callId, reason: 'maintenance' } }))
    t.equal(end.status, 200, `round ${round}: end-session always succeeds`)
    await waitEnded(scene.service, callId)
    await flush(scene.service, ...everyone(scene))

    const ended = await session(base, callId)
    const answeredFirst = ended.resident_id === '2'
    orders.add(answeredFirst ? 'answer first' : 'end first')
    t.match(ended, { status: 'ended', end_reason: 'forced', ended_by: 'service/ops' })
    t.equal(ended.seq, answeredFirst ? 3 : 2, 'one answer at most, one end')
    if (answer !== null) t.equal(answer.status, answeredFirst ? 200 : 409)
    else t.equal(refusalOf(r2, callId), answeredFirst ? null : 'invalid_transition')

    const forced = answeredFirst ? 'control forced reason=maintenance r=2 #3' : 'control forced reason=maintenance #2'
    const elsewhere = 'control cancelled reason=answered_elsewhere r=2 #2'
    t.same(lines(scene.device), answeredFirst ? ['control ringing #1', 'control answered r=2 #2', forced] : ['control ringing #1', forced])
    t.same(lines(r2).filter((l) => !l.startsWith('error')), answeredFirst ? ['incoming #1', 'control answered r=2 #2', forced] : ['incoming #1', forced])
    for (const r of ['3', '4']) {
      t.same(lines(scene.residents[r] as TestClient), ['incoming #1', answeredFirst ? elsewhere : forced], `resident ${r}: one end notice`)
    }
    t.same(lines(scene.service).filter((l) => l.startsWith('events forced')).length, 1, 'one forced event')
  }
  t.comment(`orders seen: ${[...orders].join(', ')}`)
})

/** Resident 2's `action` meets resident 3's answer between read and write; `chosen` writes first. */
async function answerMeets (t: tap.Test, action: 'decline_all' | 'unlock', endReason: string): Promise<void> {
  const meet = meetingPoint()
  const scene = await startScene(t, { callTestHooks: meet.hooks })
  const base = scene.node.httpUrl
  const outcomes = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const chosen = round % 2 === 0 ? action : 'answered'
    const callId = (await callHttp(base, { household_number: '101' })).call_id as string
    const met = meet.arm((e) => e.type === 'action' && (e.action === action || e.action === 'answered') ? e.action : null, chosen)
    const [mine, answer] = await Promise.all([actHttp(base, 'resident/2', callId, action), actHttp(base, 'resident/3', callId, 'answered'), met])
    const after = await session(base, callId)
    const outcome = after.status === 'connected' ? 'answered' : action
    outcomes.add(outcome)
    t.equal(outcome, chosen, `round ${round}: the write that went first won`)
    t.equal(after.seq, 2, 'one transition')
    if (outcome === 'answered') {
      t.match(mine, { status: 409, body: { error: 'invalid_transition' } }, `the late ${action} is refused`)
      t.equal(answer.status, 200)
      t.equal((await actHttp(base, 'device/1', callId, 'hangup')).status, 200)
    } else {
      t.match(after, { status: 'ended', end_reason: endReason, ended_by: 'resident/2' })
      t.equal(mine.status, 200)
      t.match(answer, { status: 409, body: { error: 'invalid_transition' } }, 'the late answer is refused')
    }
    await waitEnded(scene.service, callId)
    await flush(scene.service, ...everyone(scene))
    t.equal(lines(scene.device).filter((l) => l.includes('#2')).length, 1, 'the device hears one outcome')
  }
  t.same([...outcomes].sort(), [action, 'answered'].sort())
}

t.test('decline_all meets an answer between read and write: one wins, both outcomes occur', async (t) => {
  await answerMeets(t, 'decline_all', 'rejected')
})

t.test('unlock from the preview meets another resident\'s answer: one wins, both outcomes occur', async (t) => {
  await answerMeets(t, 'unlock', 'unlocked')
})

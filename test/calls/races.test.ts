import t from 'tap'
import { request } from '../helpers/http'
import { settle, type TestClient } from '../helpers/mqtt'
import { actHttp, actMqtt, callHttp, clear, lines, session, startScene, waitEnded, type Scene } from './helpers'

/**
 * Races provoked on purpose: the competing requests leave together
 * (Promise.all), over several rounds, and whatever the order the server
 * picks, exactly one transition wins and every party hears of it once.
 */

const ROUNDS = 8

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

t.test('two residents answer in the same tick: exactly one wins', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const winners = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const mixed = round % 2 === 1
    const callId = (await callHttp(base, { household_number: '101' })).call_id as string
    await r2.waitFor((m) => m.topic === 'users/2/calls/incoming')
    const [viaR2, viaR3] = await together(round,
      () => mixed ? actMqtt(r2, 'resident/2', callId, 'answered').then(() => null) : actHttp(base, 'resident/2', callId, 'answered'),
      () => actHttp(base, 'resident/3', callId, 'answered'))
    const connected = await session(base, callId)
    const winner = connected.resident_id as string
    const loser = winner === '2' ? '3' : '2'
    winners.add(winner)
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
    await settle()
    if (viaR2 === null) t.equal(refusalOf(r2, callId), winner === '3' ? 'invalid_transition' : null, 'resident 2 over MQTT: refused only if it lost')
    const loserLines = [`control cancelled reason=answered_elsewhere r=${winner} #2`, 'incoming #1']
    if (mixed && loser === '2') loserLines.unshift('error invalid_transition')
    t.same(lines(scene.device), ['control ringing #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`])
    t.same(lines(scene.residents[winner] as TestClient), ['incoming #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`])
    t.same(sorted(scene.residents[loser] as TestClient), loserLines.sort(), 'the loser is told the call was answered elsewhere')
    t.same(lines(scene.residents['4'] as TestClient), [], 'resident 4 was not rung')
    t.same(lines(scene.service), ['events ringing by=device/1 #1', `events answered by=resident/${winner} #2`, 'events hangup by=device/1 #3'])
  }
  t.comment(`winners seen: ${[...winners].join(', ')}`)
})

t.test('the device gives up just as the ring times out: exactly one end', async (t) => {
  const ringTimeoutMs = 300
  const scene = await startScene(t, { env: { RING_TIMEOUT_MS: String(ringTimeoutMs) } })
  const base = scene.node.httpUrl
  const ends = new Set<string>()
  for (let round = 0; round < ROUNDS; round++) {
    clear(...everyone(scene))
    const action = round % 2 === 0 ? 'cancelled' : 'hangup'
    const overMqtt = round % 3 === 2
    const callId = (await callHttp(base)).call_id as string
    // Aim around the deadline: some rounds the device is first, some the timer.
    await new Promise((resolve) => setTimeout(resolve, ringTimeoutMs - 60 + round * 20))
    const viaHttp = overMqtt ? null : await actHttp(base, 'device/1', callId, action)
    if (overMqtt) await actMqtt(scene.device, 'device/1', callId, action)
    await waitEnded(scene.service, callId)
    await settle()

    const ended = await session(base, callId)
    const reason = ended.end_reason as string
    ends.add(reason)
    t.ok(reason === 'cancelled' || reason === 'timeout', `round ${round}: ended ${reason}`)
    t.equal(ended.seq, 2, 'exactly one end transition')
    t.equal(ended.ended_by, reason === 'cancelled' ? 'device/1' : 'system')
    if (viaHttp !== null) t.equal(viaHttp.status, reason === 'cancelled' ? 200 : 409, 'the device is told whether it ended the call')
    else t.equal(refusalOf(scene.device, callId), reason === 'cancelled' ? null : 'invalid_transition')

    const endLine = `control ${reason} #2`
    t.same(lines(scene.device).filter((l) => !l.startsWith('error')), ['control ringing #1', endLine], 'the device hears of the end once')
    for (const [r, client] of Object.entries(scene.residents)) t.same(lines(client), ['incoming #1', endLine], `resident ${r} hears of the end once`)
    t.same(lines(scene.service), ['events ringing by=device/1 #1', `events ${reason === 'cancelled' ? action : 'timeout'} by=${ended.ended_by as string} #2`])
  }
  t.comment(`ends seen: ${[...ends].join(', ')}`)
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
    await settle()

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

import t from 'tap'
import { settle, type TestClient } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { actHttp, actMqtt, callMqtt, historyOf, lines, party, session, startClusterNode, startTwoNodes, waitAction, waitEnded } from './helpers'

/**
 * Real node processes on one real Redis: the parties of a call sit on different
 * nodes, and every message still reaches exactly whom it should, in order.
 */
if (requireRedis(t)) {
  t.test('device, residents and services on different nodes', async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url)
    const device = await party(t, a.mqttUrl, 'device/1', 'devices/1/#')
    const r4 = await party(t, b.mqttUrl, 'resident/4', 'users/4/#')
    const service = await party(t, b.mqttUrl, 'service/ops', 'calls/+/events')

    await t.test('two nodes: the device on A, the resident on B', async (t) => {
      const callId = await callMqtt(device, { target_resident_id: '4' })
      await r4.waitFor((m) => m.topic === 'users/4/calls/incoming' && m.json.call_id === callId, 10_000)
      await actMqtt(r4, 'resident/4', callId, 'answered')
      await waitAction(device, 'devices/1/calls/control', 'answered', callId)
      t.equal((await actHttp(a.httpUrl, 'resident/4', callId, 'unlock')).status, 200, 'an action over HTTP on the other node')
      await waitAction(device, 'devices/1/calls/control', 'unlock', callId)
      await actMqtt(device, 'device/1', callId, 'hangup')
      await waitEnded(service, callId)
      await settle(300)

      t.same(lines(device, callId), ['control ringing #1', 'control answered r=4 #2', 'control unlock r=4 #3', 'control hangup r=4 #4'])
      t.same(lines(r4, callId), ['incoming #1', 'control answered r=4 #2', 'control hangup r=4 #4'])
      t.same(lines(service, callId), ['events ringing by=device/1 #1', 'events answered by=resident/4 #2', 'events unlock by=resident/4 #3', 'events hangup by=device/1 #4'])
      t.match(await session(b.httpUrl, callId), { status: 'ended', end_reason: 'hangup', ended_by: 'device/1', resident_id: '4', seq: 4 })
    })

    await t.test('three nodes: answers at the same time through B (MQTT) and C (HTTP), one wins', async (t) => {
      const c = await startClusterNode(t, redis.url, 'node-c')
      const r2 = await party(t, b.mqttUrl, 'resident/2', 'users/2/#')
      const r3 = await party(t, c.mqttUrl, 'resident/3', 'users/3/#')
      const watcher = await party(t, a.mqttUrl, 'service/ops', 'calls/+/events', { clientId: 'ops-watcher-a' })
      const residents: Record<string, TestClient> = { 2: r2, 3: r3, 4: r4 }

      const callId = await callMqtt(device)
      for (const [id, client] of Object.entries(residents)) {
        await client.waitFor((m) => m.topic === `users/${id}/calls/incoming` && m.json.call_id === callId, 10_000)
      }
      const [, http] = await Promise.all([
        actMqtt(r2, 'resident/2', callId, 'answered'),
        actHttp(c.httpUrl, 'resident/3', callId, 'answered')
      ])
      t.ok(http.status === 200 || (http.status === 409 && http.body.error === 'invalid_transition'), `the HTTP answer won or got 409 (${http.status})`)
      const winner = http.status === 200 ? '3' : '2'
      const loser = winner === '2' ? '3' : '2'
      if (winner === '3') {
        const refusal = await r2.waitFor((m) => m.topic === 'users/2/calls/error' && m.json.call_id === callId, 10_000)
        t.match(refusal.json, { error: 'invalid_transition' }, 'the MQTT answer that lost is refused on its error topic')
      }
      await waitAction(device, 'devices/1/calls/control', 'answered', callId)

      await actMqtt(device, 'device/1', callId, 'hangup')
      await waitEnded(service, callId)
      await waitEnded(watcher, callId)
      await settle(300)

      const events = ['events ringing by=device/1 #1', `events answered by=resident/${winner} #2`, 'events hangup by=device/1 #3']
      const cancelled = `control cancelled reason=answered_elsewhere r=${winner} #2`
      const withoutErrors = (client: TestClient): string[] => lines(client, callId).filter((l) => !l.startsWith('error'))
      t.same(lines(device, callId), ['control ringing #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`], 'the device hears one answer')
      t.same(lines(residents[winner] as TestClient, callId), ['incoming #1', `control answered r=${winner} #2`, `control hangup r=${winner} #3`], 'the winner')
      t.same(withoutErrors(residents[loser] as TestClient), ['incoming #1', cancelled], 'the loser is cancelled')
      t.same(lines(r2, callId).filter((l) => l.startsWith('error')), winner === '2' ? [] : ['error invalid_transition'], 'only a losing MQTT answer is refused')
      t.same(lines(r4, callId), ['incoming #1', cancelled], 'the third target is cancelled')
      t.same(lines(service, callId), events, 'a service on B sees every transition once, in order')
      t.same(lines(watcher, callId), events, 'so does a service on A')

      const ended = await session(c.httpUrl, callId)
      t.same(historyOf(ended), ['ringing device/1 #1', `answered resident/${winner} #2`, 'hangup device/1 #3'])
      t.same(ended.legs, [
        { resident_id: '2', state: winner === '2' ? 'answered' : 'cancelled', delivery: 'online' },
        { resident_id: '3', state: winner === '3' ? 'answered' : 'cancelled', delivery: 'online' },
        { resident_id: '4', state: 'cancelled', delivery: 'online' }
      ])
      t.match(ended, { status: 'ended', end_reason: 'hangup', resident_id: winner, seq: 3 })
    })
  })
}

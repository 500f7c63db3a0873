import t from 'tap'
import { actHttp, actMqtt, callHttp, party, waitAction } from '../calls/helpers'
import { session } from '../calls/helpers'
import { startLoggedNode } from './helpers'

t.test('the logs of one call hold one info line per transition, an audit line per unlock, and the HTTP requests', async (t) => {
  const node = await startLoggedNode(t)
  const device = await party(t, node.mqttUrl, 'device/1', 'devices/1/#')
  const resident2 = await party(t, node.mqttUrl, 'resident/2', 'users/2/#')
  await party(t, node.mqttUrl, 'resident/3', 'users/3/#')

  const call = await callHttp(node.httpUrl, { household_number: '101' })
  const callId = call.call_id as string
  t.equal((await actHttp(node.httpUrl, 'resident/2', callId, 'answered')).status, 200)
  await actMqtt(resident2, 'resident/2', callId, 'unlock')
  await waitAction(device, 'devices/1/calls/control', 'unlock', callId)
  t.equal((await actHttp(node.httpUrl, 'device/1', callId, 'hangup')).status, 200)
  const final = await session(node.httpUrl, callId)

  const transitions = node.logs.filter((l) => l.call_id === callId && l.msg === 'call transition')
  t.same(transitions.map((l) => [l.action, l.actor, l.status, l.seq]), [
    ['ringing', 'device/1', 'ringing', 1],
    ['answered', 'resident/2', 'connected', 2],
    ['unlock', 'resident/2', 'connected', 3],
    ['hangup', 'device/1', 'ended', 4]
  ], 'exactly one line per transition, in order')
  t.same(transitions.map((l) => l.seq), final.history.map((h: { seq: number }) => h.seq), 'one line per history entry')
  t.ok(transitions.every((l) => l.level === 30), 'at info')

  const audit = node.logs.filter((l) => l.audit === 'door')
  t.equal(audit.length, 1, 'one door-audit line')
  t.match(audit[0], { level: 30, call_id: callId, device_id: '1', actor: 'resident/2' })

  const completed = node.logs.filter((l) => l.msg === 'request completed' && l.level === 30)
  t.ok(completed.length >= 4, 'HTTP requests logged at info')
  t.ok(completed.every((l) => typeof l.res?.statusCode === 'number' && typeof l.responseTime === 'number'), 'with status and time')
  t.notOk(JSON.stringify(node.logs).includes('res-2-secret'), 'no secret in the logs')
})

import t from 'tap'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { actHttp, callHttp, session } from './helpers'

t.test('a resident with a persistent session gets the invite queued while it was away', async (t) => {
  const node = await startTestNode(t)
  const persistent = { clean: false, clientId: 'resident-2-phone' }
  const first = await connect(t, node.mqttUrl, 'resident/2', persistent)
  t.same(await first.subscribe('users/2/#', 1), [1])
  await first.client.endAsync()

  const started = await callHttp(node.httpUrl, { target_resident_id: '2' })
  const callId = started.call_id as string

  const back = await connect(t, node.mqttUrl, 'resident/2', persistent)
  const invite = await back.waitFor((m) => m.topic === 'users/2/calls/incoming')
  t.match(invite.json, {
    call_id: callId,
    device_device_id: '1',
    target_resident_id: '2',
    seq: 1,
    tencen_rtc: { room_id: callId, user_id: 'resident_2' }
  }, 'the queued invite arrives on reconnect, without subscribing again')
  t.ok((invite.json.expires_at as number) > Date.now(), 'and it has not expired yet, so the app may ring')

  t.match(await actHttp(node.httpUrl, 'resident/2', callId, 'answered'), { status: 200, body: { data: { status: 'connected' } } })
  await back.waitFor((m) => m.topic === 'users/2/calls/control' && m.json.action === 'answered')
  t.equal((await session(node.httpUrl, callId)).resident_id, '2')
})

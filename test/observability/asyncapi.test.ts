import { Parser } from '@asyncapi/parser'
import Ajv from 'ajv'
import t from 'tap'
import { topics } from '../../lib/topics/names'
import { actHttp, callHttp, party, waitAction, waitEnded } from '../calls/helpers'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'

interface Doc {
  channels: Record<string, { address: string, messages: Record<string, { $ref: string }> }>
  operations: Record<string, { action: string, channel: { $ref: string } }>
  components: { messages: Record<string, { payload: object }> }
}

/** `users/{residentId}/calls/incoming` → `users/+/calls/incoming`. */
const asFilter = (address: string): string => address.replace(/\{\w+\}/g, '+')

t.test('/docs/asyncapi.json is a valid AsyncAPI 3 document naming every topic and direction', async (t) => {
  const node = await startTestNode(t)
  const response = await fetch(`${node.httpUrl}/docs/asyncapi.json`)
  t.equal(response.status, 200)
  const doc = await response.json() as Doc
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc))
  t.same(diagnostics.filter((d) => d.severity === 0).map((d) => `${d.path.join('.')}: ${d.message}`), [], 'no error from the AsyncAPI parser')
  t.ok(document, 'parsed')
  t.equal(document?.version(), '3.0.0')

  const addresses = Object.values(doc.channels).map((c) => asFilter(c.address)).sort()
  const contract = Object.values(topics).map((topic) => topic('+')).sort()
  t.same(addresses, contract, 'one channel per topic of the contract, no more')
  const direction = (address: string): string | undefined => {
    const name = Object.keys(doc.channels).find((key) => doc.channels[key]?.address === address)
    return Object.values(doc.operations).find((op) => op.channel.$ref === `#/channels/${name}`)?.action
  }
  t.equal(direction('calls/request/{deviceId}'), 'receive', 'requests are received by the server')
  t.equal(direction('users/{residentId}/calls/action'), 'receive')
  t.equal(direction('devices/{deviceId}/status/report'), 'receive')
  t.equal(direction('users/{residentId}/calls/incoming'), 'send', 'invites are sent by the server')
  t.equal(direction('calls/{callId}/events'), 'send')
})

t.test('the payload schemas of the document accept what a node really publishes and refuse bad requests', async (t) => {
  const node = await startTestNode(t)
  const doc = await (await fetch(`${node.httpUrl}/docs/asyncapi.json`)).json() as Doc
  const ajv = new Ajv({ strict: false })
  const payload = (message: string) => {
    const schema = doc.components.messages[message]?.payload
    if (schema === undefined) throw new Error(`no message ${message}`)
    return ajv.compile(schema)
  }
  const device = await party(t, node.mqttUrl, 'device/1', 'devices/1/#')
  const resident = await party(t, node.mqttUrl, 'resident/2', 'users/2/#')
  const service = await party(t, node.mqttUrl, 'service/ops', '#')
  await resident.subscribe('system/#')

  const call = await callHttp(node.httpUrl, { target_resident_id: '2' })
  await actHttp(node.httpUrl, 'resident/2', call.call_id, 'answered')
  await actHttp(node.httpUrl, 'device/1', call.call_id, 'hangup')
  await waitEnded(service, call.call_id)
  await resident.publish('users/2/calls/action', { call_id: 'call-20260101-000000000000', action: 'answered' })
  await resident.waitFor((m) => m.topic === 'users/2/calls/error')
  await request(node.httpUrl, 'POST', '/api/mqtt/system/message', { as: 'service/ops', body: { type: 'maintenance', level: 'info', message: 'lift out of order', data: { floor: 3 } } })
  await resident.waitFor((m) => m.topic === 'system/maintenance')
  await waitAction(device, 'devices/1/calls/control', 'hangup', call.call_id)
  await device.waitFor((m) => m.topic === 'devices/1/status')

  const checks: Array<[string, RegExp]> = [
    ['invite', /^users\/2\/calls\/incoming$/],
    ['control', /^(users\/2|devices\/1)\/calls\/control$/],
    ['errorReply', /^users\/2\/calls\/error$/],
    ['callEvent', /^calls\/[^/]+\/events$/],
    ['systemMessage', /^system\/maintenance$/],
    ['deviceStatus', /^devices\/1\/status$/]
  ]
  for (const [message, topic] of checks) {
    const validate = payload(message)
    const received = [...device.messages, ...resident.messages, ...service.messages].filter((m) => topic.test(m.topic))
    t.ok(received.length > 0, `${message}: messages seen`)
    for (const m of received) t.ok(validate(m.json), `${message} on ${m.topic} (${String(m.json.action ?? '')}) matches: ${ajv.errorsText(validate.errors)}`)
  }
  t.ok(payload('action')({ call_id: 'c', action: 'answered' }), 'a flat action is accepted')
  t.notOk(payload('action')({ call_info: { call_id: 'c', action: 'fly' } }), 'an unknown action is refused')
  t.ok(payload('callRequest')({ household_number: '101', request_id: 'r1' }))
  t.notOk(payload('statusReport')({ battery: 101 }), 'the request schemas are the ones that validate')
})

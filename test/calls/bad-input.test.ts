import t from 'tap'
import { request } from '../helpers/http'
import type { TestClient } from '../helpers/mqtt'
import { flush } from '../helpers/wait'
import { actHttp, callHttp, clear, party, session, startScene, waitAction, waitEnded } from './helpers'

/**
 * Every class of bad input, through both doors, against a ringing call: each
 * gets its own clear error, nothing reaches a topic but the sender's error
 * topic, the call does not move, and nobody is disconnected.
 */

const MAX_PAYLOAD_BYTES = 1024
const HUGE = 'x'.repeat(MAX_PAYLOAD_BYTES * 2)

interface HttpCase {
  name: string
  method?: string
  path: string
  as: string
  body?: unknown
  raw?: string
  status: number
  error: string
  message: RegExp
}

interface MqttCase {
  name: string
  topic: string
  /** An object gets `request_id` added; a string goes as it is (no id to echo). */
  payload: Record<string, unknown> | string
  error: string
  message: RegExp
}

function httpCases (callId: string): HttpCase[] {
  const resident = (body: unknown) => ({ path: '/api/mqtt/controller/resident', as: 'resident/2', body })
  const info = (extra: Record<string, unknown>) => resident({ call_info: { call_id: callId, action: 'answered', ...extra } })
  const start = (body: unknown) => ({ path: '/api/mqtt/call', as: 'device/1', body })
  const invalid = { status: 400, error: 'invalid_request' }
  return [
    { name: 'malformed JSON', path: '/api/mqtt/controller/resident', as: 'resident/2', raw: '{"call_info": {"call_id": ', ...invalid, message: /JSON/ },
    { name: 'empty JSON body', path: '/api/mqtt/controller/resident', as: 'resident/2', raw: '', ...invalid, message: /empty/ },
    { name: 'a JSON array', path: '/api/mqtt/controller/resident', as: 'resident/2', raw: '[]', ...invalid, message: /body must be object/ },
    { name: 'wrong type', ...resident({ call_info: { call_id: 42, action: 'answered' } }), ...invalid, message: /^call_info\.call_id must be string/ },
    { name: 'wrong type of timestamp', ...info({ timestamp: 'now' }), ...invalid, message: /^call_info\.timestamp must be integer/ },
    { name: 'missing call_id', ...resident({ call_info: { action: 'answered' } }), ...invalid, message: /^call_info\.call_id is required/ },
    { name: 'missing action (flat form)', ...resident({ call_id: callId }), ...invalid, message: /^action is required/ },
    { name: 'unknown action', ...resident({ call_info: { call_id: callId, action: 'dance' } }), ...invalid, message: /^call_info\.action must be/ },
    { name: 'unknown extra field', ...info({ colour: 'red' }), ...invalid, message: /^call_info\.colour is not a known field/ },
    { name: 'unknown top-level field', ...resident({ call_id: callId, action: 'answered', colour: 'red' }), ...invalid, message: /^colour is not a known field/ },
    { name: 'call_id with +', ...resident({ call_info: { call_id: 'call+1', action: 'answered' } }), ...invalid, message: /^call_info\.call_id must match/ },
    { name: 'call_id with #', ...resident({ call_info: { call_id: 'call#1', action: 'answered' } }), ...invalid, message: /^call_info\.call_id must match/ },
    { name: 'call_id with /', ...resident({ call_info: { call_id: `${callId}/x`, action: 'answered' } }), ...invalid, message: /^call_info\.call_id must match/ },
    { name: 'resident_id with /#', ...info({ resident_id: '2/#' }), ...invalid, message: /^call_info\.resident_id must match/ },
    { name: 'huge payload', ...info({ reason: HUGE }), status: 413, error: 'payload_too_large', message: /too large/ },
    { name: 'device action unknown', path: '/api/mqtt/controller/device', as: 'device/1', body: { call_info: { call_id: callId, action: 'explode' } }, ...invalid, message: /^call_info\.action must be/ },
    { name: 'start without device', ...start({}), ...invalid, message: /^device_device_id is required/ },
    { name: 'start with device id /#', ...start({ device_device_id: '1/#' }), ...invalid, message: /^device_device_id must match/ },
    { name: 'start with target +', ...start({ device_device_id: '1', target_resident_id: '+' }), ...invalid, message: /^target_resident_id must match/ },
    { name: 'start with household #', ...start({ device_device_id: '1', household_number: '#' }), ...invalid, message: /^household_number must match/ },
    { name: 'start with negative timestamp', ...start({ device_device_id: '1', timestamp: -1 }), ...invalid, message: /^timestamp must be >= 0/ },
    { name: 'start with a timestamp that is no date', ...start({ device_device_id: '1', timestamp: 1e300 }), ...invalid, message: /^timestamp must be <= 253402300799999/ },
    { name: 'action with a timestamp past 2^53', ...info({ timestamp: 2 ** 53 + 2 }), ...invalid, message: /^call_info\.timestamp must be <= 253402300799999/ },
    { name: 'start with extra field', ...start({ device_device_id: '1', video: true }), ...invalid, message: /^video is not a known field/ },
    { name: 'end-session without call_id', path: '/api/mqtt/end-session', as: 'service/ops', body: { reason: 'x' }, ...invalid, message: /^call_id is required/ },
    { name: 'session query with +', method: 'GET', path: '/api/mqtt/session?call_id=a%2Bb', as: 'resident/2', ...invalid, message: /^call_id must match/ }
  ]
}

function mqttCases (callId: string): MqttCase[] {
  const action = 'users/2/calls/action'
  const invalid = 'invalid_request'
  return [
    { name: 'malformed JSON', topic: action, payload: '{"call_id": ', error: invalid, message: /not valid JSON/ },
    { name: 'a JSON array', topic: action, payload: '[1, 2]', error: invalid, message: /JSON object/ },
    { name: 'huge payload', topic: action, payload: JSON.stringify({ call_id: callId, action: 'answered', reason: HUGE }), error: 'payload_too_large', message: /over the 1024-byte limit/ },
    { name: 'wrong type', topic: action, payload: { call_id: 42, action: 'answered' }, error: invalid, message: /^call_id must be string/ },
    { name: 'wrong type of request_id', topic: action, payload: { call_id: callId, action: 'answered', request_id: 7 }, error: invalid, message: /^request_id must be string/ },
    { name: 'missing call_id', topic: action, payload: { action: 'answered' }, error: invalid, message: /^call_id is required/ },
    { name: 'missing action', topic: action, payload: { call_info: { call_id: callId } }, error: invalid, message: /^call_info\.action is required/ },
    { name: 'unknown action', topic: action, payload: { call_id: callId, action: 'dance' }, error: invalid, message: /^action must be/ },
    { name: 'unknown extra field', topic: action, payload: { call_id: callId, action: 'answered', colour: 'red' }, error: invalid, message: /^colour is not a known field/ },
    { name: 'call_id with +', topic: action, payload: { call_id: 'call+1', action: 'answered' }, error: invalid, message: /^call_id must match/ },
    { name: 'call_id with /#', topic: action, payload: { call_id: 'call/#', action: 'answered' }, error: invalid, message: /^call_id must match/ },
    { name: 'resident_id with #', topic: action, payload: { call_info: { call_id: callId, action: 'answered', resident_id: '#' } }, error: invalid, message: /^call_info\.resident_id must match/ },
    { name: 'device action unknown', topic: 'devices/1/calls/action', payload: { call_id: callId, action: 'explode' }, error: invalid, message: /^action must be/ },
    { name: 'start with target /', topic: 'calls/request/1', payload: { target_resident_id: '2/3' }, error: invalid, message: /^target_resident_id must match/ },
    { name: 'start with household +', topic: 'calls/request/1', payload: { household_number: '+' }, error: invalid, message: /^household_number must match/ },
    { name: 'start with extra field', topic: 'calls/request/1', payload: { video: true }, error: invalid, message: /^video is not a known field/ }
  ]
}

t.test('bad input over HTTP and MQTT is refused clearly and changes nothing', async (t) => {
  const scene = await startScene(t, { env: { MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES) }, residents: ['2', '3'] })
  const base = scene.node.httpUrl
  const r2 = scene.residents['2'] as TestClient
  const everything = await party(t, scene.node.mqttUrl, 'service/ops', '#')
  const clients = [scene.device, r2, scene.residents['3'] as TestClient, scene.service, everything]
  let disconnects = 0
  for (const c of clients) c.client.on('close', () => { disconnects++ })

  const callId = (await callHttp(base, { household_number: '101' })).call_id as string
  await everything.waitFor((m) => m.topic === `calls/${callId}/events`)
  await flush(everything, ...clients)
  clear(...clients)

  t.test('over HTTP', async (t) => {
    for (const c of httpCases(callId)) {
      const result = await request(base, c.method ?? 'POST', c.path, { as: c.as, ...(c.raw === undefined ? { body: c.body } : { raw: c.raw }) })
      t.equal(result.status, c.status, `${c.name}: status`)
      t.match(result.body, { code: c.status, error: c.error, data: null }, `${c.name}: envelope`)
      t.match(result.body.message, c.message, `${c.name}: ${result.body.message}`)
    }
    await flush(everything, everything)
    t.same(everything.messages.map((m) => m.topic), [], 'no bad HTTP request reached a topic')
  })

  t.test('over MQTT', async (t) => {
    for (const [i, c] of mqttCases(callId).entries()) {
      const sender = c.topic.startsWith('users/') ? r2 : scene.device
      const errorTopic = c.topic.startsWith('users/') ? 'users/2/calls/error' : 'devices/1/calls/error'
      const requestId = `bad-${i}`
      const echoed = typeof c.payload !== 'string' && !('request_id' in c.payload)
      clear(sender)
      await sender.publish(c.topic, typeof c.payload === 'string' ? c.payload : echoed ? { request_id: requestId, ...c.payload } : c.payload)
      const reply = await sender.waitFor((m) => m.topic === errorTopic)
      t.equal(reply.json.error, c.error, `${c.name}: error`)
      t.match(reply.json.message, c.message, `${c.name}: ${String(reply.json.message)}`)
      if (echoed) t.equal(reply.json.request_id, requestId, `${c.name}: request_id echoed`)
      else t.notOk('request_id' in reply.json, `${c.name}: no request_id to echo`)
    }
    await flush(everything, everything)
    const seen = everything.messages.map((m) => m.topic)
    t.ok(seen.length > 0 && seen.every((topic) => /^(users\/2|devices\/1)\/calls\/error$/.test(topic)), 'bad MQTT requests reached only the sender\'s error topic')
  })

  t.test('over MQTT-over-WebSocket, a payload over the limit is refused the same way', async (t) => {
    const overWs = await party(t, scene.node.wsUrl, 'resident/3', 'users/3/#')
    await overWs.publish('users/3/calls/action', JSON.stringify({ request_id: 'ws', call_id: callId, action: 'answered', reason: HUGE }))
    t.match((await overWs.waitFor((m) => m.topic === 'users/3/calls/error')).json, { error: 'payload_too_large' })
    await flush(scene.service, overWs)
    t.ok(overWs.client.connected, 'still connected')
  })

  t.test('nothing changed and everyone is still connected', async (t) => {
    t.match(await session(base, callId), { status: 'ringing', seq: 1, call_info: { action: 'ringing' } }, 'the call did not move')
    t.equal(disconnects, 0, 'no client was disconnected')
    t.ok(clients.every((c) => c.client.connected))
    clear(...clients)
    t.match(await actHttp(base, 'resident/2', callId, 'answered'), { status: 200, body: { data: { status: 'connected', seq: 2 } } }, 'a valid action still works')
    await waitAction(scene.device, 'devices/1/calls/control', 'answered')
    await actHttp(base, 'device/1', callId, 'hangup')
    await waitEnded(scene.service, callId)
    const next = await callHttp(base, { target_resident_id: '3' })
    t.match(next, { status: 'ringing', seq: 1 }, 'a following call still works')
  })
})

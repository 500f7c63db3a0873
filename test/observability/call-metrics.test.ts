import t from 'tap'
import { request } from '../helpers/http'
import { actHttp, actMqtt, callHttp, callMqtt, party, waitAction, waitEnded } from '../calls/helpers'
import { startTestNode } from '../helpers/node'
import { eventually, samples, startLoggedNode } from './helpers'

t.test('a scrape after full calls finds the counters moved', async (t) => {
  const node = await startLoggedNode(t)
  const device1 = await party(t, node.mqttUrl, 'device/1', 'devices/1/#')
  const device5 = await party(t, node.mqttUrl, 'device/5', 'devices/5/#')
  const resident2 = await party(t, node.mqttUrl, 'resident/2', 'users/2/#')
  const service = await party(t, node.mqttUrl, 'service/ops', 'calls/+/events')

  const before = samples((await request(node.httpUrl, 'GET', '/metrics')).body.message)
  t.equal(before.get('intercom_calls_started_total'), undefined, 'no call counted yet')
  t.equal(before.get('intercom_mqtt_connections{kind="device"}'), 2)
  t.equal(before.get('intercom_mqtt_connections{kind="resident"}'), 1)
  t.equal(before.get('intercom_mqtt_connections{kind="service"}'), 1)
  t.equal(before.get('intercom_mqtt_connections{kind="client"}'), 0)

  // Over HTTP: rung, answered, unlocked, hung up by the device.
  const call = await callHttp(node.httpUrl, { household_number: '101' })
  t.equal((await actHttp(node.httpUrl, 'resident/2', call.call_id, 'answered')).status, 200)
  t.equal((await actHttp(node.httpUrl, 'resident/2', call.call_id, 'unlock')).status, 200)
  t.equal((await actHttp(node.httpUrl, 'device/1', call.call_id, 'hangup')).status, 200)
  // Over MQTT: rung, cancelled by the device.
  const mqttCall = await callMqtt(device5, {}, '5')
  await actMqtt(device5, 'device/5', mqttCall, 'cancelled')
  await waitEnded(service, mqttCall)
  await waitAction(device1, 'devices/1/calls/control', 'hangup', call.call_id)
  await resident2.end()

  const response = await request(node.httpUrl, 'GET', '/metrics')
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const after = samples(response.body.message)
  t.equal(after.get('intercom_calls_started_total{provider="trtc",door="http"}'), 1)
  t.equal(after.get('intercom_calls_started_total{provider="trtc",door="mqtt"}'), 1)
  t.equal(after.get('intercom_calls_ended_total{end_reason="hangup"}'), 1)
  t.equal(after.get('intercom_calls_ended_total{end_reason="cancelled"}'), 1)
  t.equal(after.get('intercom_call_setup_seconds_count'), 2, 'both set-ups timed')
  t.ok((after.get('intercom_call_setup_seconds_sum') ?? 0) > 0)
  t.equal(after.get('intercom_call_answer_seconds_count'), 1, 'the answered call timed')
  const residentsLeft = await eventually(async () => {
    const value = samples((await request(node.httpUrl, 'GET', '/metrics')).body.message).get('intercom_mqtt_connections{kind="resident"}')
    return value === 0 ? value : null
  })
  t.equal(residentsLeft, 0, 'a closed connection is no longer counted')
  t.equal(after.get('intercom_mqtt_connections{kind="device"}'), 2)
  t.equal(after.get('intercom_redis_up'), undefined, 'no Redis gauge for a node without Redis')
  t.ok(after.has('process_cpu_user_seconds_total'), 'process defaults')
  t.ok(after.has('nodejs_eventloop_lag_seconds'), 'Node defaults')
})

t.test('METRICS_TOKEN is required as a Bearer token when set', async (t) => {
  const token = 'scrape-token-0123456789'
  const node = await startTestNode(t, { METRICS_TOKEN: token })
  const missing = await request(node.httpUrl, 'GET', '/metrics')
  t.equal(missing.status, 401)
  t.match(missing.body, { code: 401, error: 'unauthorized', data: null })
  t.equal((await request(node.httpUrl, 'GET', '/metrics', { as: 'Bearer wrong-token-0123456789' })).status, 401)
  t.equal((await request(node.httpUrl, 'GET', '/metrics', { as: 'service/ops' })).status, 401, 'a directory identity is no scrape token')
  const granted = await request(node.httpUrl, 'GET', '/metrics', { as: `Bearer ${token}` })
  t.equal(granted.status, 200)
  t.match(granted.body.message, /^# HELP /m)
})

t.test('METRICS_ENABLED=false serves no /metrics', async (t) => {
  const node = await startTestNode(t, { METRICS_ENABLED: 'false' })
  const response = await request(node.httpUrl, 'GET', '/metrics')
  t.equal(response.status, 404)
  t.equal(response.body.error, 'not_found')
})

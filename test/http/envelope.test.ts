import t from 'tap'
import { basic, request } from '../helpers/http'
import { startTestNode } from '../helpers/node'

t.test('401 without credentials or with bad ones, with the envelope', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const cases: Array<[string, Record<string, string>]> = [
    ['no Authorization header', {}],
    ['wrong secret', { authorization: basic('device/1', 'nope') }],
    ['unknown identity', { authorization: basic('device/404', 'x') }],
    ['unknown bearer token', { authorization: 'Bearer nope' }],
    ['a secret as bearer token', { authorization: 'Bearer door-1-secret' }],
    ['unsupported scheme', { authorization: 'Digest abc' }],
    ['basic without colon', { authorization: `Basic ${Buffer.from('device/1').toString('base64')}` }]
  ]
  for (const [name, headers] of cases) {
    const res = await request(httpUrl, 'GET', '/api/mqtt/session?call_id=call-20260101-000000000000', { headers })
    t.equal(res.status, 401, name)
    t.same(res.body, { code: 401, message: res.body.message, error: 'unauthorized', data: null }, `${name}: envelope`)
    t.match(res.headers.get('www-authenticate'), /Basic/)
  }
})

t.test('a service authenticates with Bearer; identities with Basic', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const bearer = await request(httpUrl, 'POST', '/api/mqtt/end-session', { as: 'Bearer ops-token', body: { call_id: 'unknown-call' } })
  t.equal(bearer.status, 404, 'authenticated, then the call is unknown')
  t.equal(bearer.body.error, 'call_not_found')
  const basicService = await request(httpUrl, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: 'unknown-call' } })
  t.equal(basicService.status, 404)
})

t.test('403 for a known identity outside its rights', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const res = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/5', body: { device_device_id: '1' } })
  t.equal(res.status, 403)
  t.same(res.body, { code: 403, message: res.body.message, error: 'forbidden', data: null })
  t.match(res.body.message, /device\/5 may not start a call for device 1/)
  const resident = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'resident/2', body: { device_device_id: '1' } })
  t.equal(resident.status, 403)
})

t.test('400 invalid_request names the field', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const cases: Array<[unknown, RegExp]> = [
    [{ device_device_id: 7 }, /device_device_id must be string/],
    [{ device_device_id: 'a/b' }, /device_device_id must match pattern/],
    [{ device_device_id: '1', timestamp: 'now' }, /timestamp must be integer/],
    [{ device_device_id: '1', colour: 'red' }, /colour is not a known field/],
    [{}, /device_device_id is required/]
  ]
  for (const [body, message] of cases) {
    const res = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body })
    t.equal(res.status, 400, JSON.stringify(body))
    t.equal(res.body.error, 'invalid_request')
    t.match(res.body.message, message)
    t.equal(res.body.data, null)
  }
  const malformed = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', raw: '{"device_device_id": ' })
  t.equal(malformed.status, 400)
  t.equal(malformed.body.error, 'invalid_request')
  const query = await request(httpUrl, 'GET', '/api/mqtt/session', { as: 'device/1' })
  t.equal(query.status, 400)
  t.match(query.body.message, /call_id is required/)
})

t.test('413 payload_too_large over the body limit', async (t) => {
  const { httpUrl } = await startTestNode(t, { MAX_PAYLOAD_BYTES: '1024' })
  const res = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', raw: JSON.stringify({ device_device_id: '1', pad: 'x'.repeat(5000) }) })
  t.equal(res.status, 413)
  t.same(res.body, { code: 413, message: res.body.message, error: 'payload_too_large', data: null })
})

t.test('404 not_found envelope for unknown routes; /health needs no credentials', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const res = await request(httpUrl, 'GET', '/api/nothing-here')
  t.equal(res.status, 404)
  t.same(res.body, { code: 404, message: res.body.message, error: 'not_found', data: null })
  const health = await request(httpUrl, 'GET', '/health')
  t.equal(health.status, 200)
  t.same({ code: health.body.code, message: health.body.message, status: health.body.data.status }, { code: 0, message: 'success', status: 'ok' })
})

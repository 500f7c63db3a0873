import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { basic, request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

const APP = 'https://app.example.com'

t.test('CORS: a listed origin passes preflight and request; another origin gets no CORS headers', async (t) => {
  const node = await startTestNode(t, { CORS_ORIGINS: `${APP}, http://localhost:5173` })
  const preflight = await fetch(`${node.httpUrl}/api/mqtt/call`, {
    method: 'OPTIONS',
    headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' }
  })
  t.equal(preflight.status, 204)
  t.equal(preflight.headers.get('access-control-allow-origin'), APP)
  t.match(preflight.headers.get('access-control-allow-methods'), /POST/)
  t.match(preflight.headers.get('access-control-allow-headers'), /authorization/)
  const call = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1' }, headers: { origin: APP } })
  t.equal(call.status, 200)
  t.equal(call.headers.get('access-control-allow-origin'), APP, 'the answer may be read by the page')
  t.match(call.headers.get('vary'), /Origin/i)

  const foreign = await fetch(`${node.httpUrl}/api/mqtt/call`, {
    method: 'OPTIONS',
    headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' }
  })
  t.equal(foreign.headers.get('access-control-allow-origin'), null, 'no CORS headers for a foreign origin')
  const foreignGet = await request(node.httpUrl, 'GET', '/health', { headers: { origin: 'https://evil.example.net' } })
  t.equal(foreignGet.headers.get('access-control-allow-origin'), null)
})

t.test('without CORS_ORIGINS no CORS headers are sent', async (t) => {
  const node = await startTestNode(t)
  const response = await request(node.httpUrl, 'GET', '/health', { headers: { origin: APP } })
  t.equal(response.headers.get('access-control-allow-origin'), null)
})

/** A throw-away self-signed certificate for 127.0.0.1. */
function selfSigned (): { cert: string, key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

function httpsJson (port: number, ca: Buffer, method: string, urlPath: string, authorization?: string): Promise<{ status: number, body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, method, path: urlPath, ca, headers: authorization === undefined ? {} : { authorization } }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => { text += chunk.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('HTTPS_PORT serves the HTTP routes and MQTT over secure WebSocket', async (t) => {
  const files = selfSigned()
  const node = await startTestNode(t, { HTTPS_PORT: '0', TLS_CERT: files.cert, TLS_KEY: files.key })
  const port = node.node.ports.https
  if (port === undefined) throw new Error('no HTTPS port reported')
  t.not(port, node.node.ports.http, 'a port of its own; plain HTTP stays')
  const ca = readFileSync(files.cert)
  t.match(await httpsJson(port, ca, 'GET', '/health'), { status: 200, body: { data: { status: 'ok' } } })
  t.match(await httpsJson(port, ca, 'GET', '/api/mqtt/session?call_id=call-20260101-000000000000', basic('service/ops')), { status: 404, body: { error: 'call_not_found' } })
  t.match(await httpsJson(port, ca, 'GET', '/api/mqtt/session?call_id=x'), { status: 401 }, 'the same authentication')

  const device = await connect(t, `wss://127.0.0.1:${port}/mqtt`, 'device/1', { ca })
  t.same(await device.subscribe('devices/1/#'), [1], 'MQTT over WSS with the same rights')
  t.same(await device.subscribe('users/2/#'), [128])
  const resident = await connect(t, node.mqttUrl, 'resident/2')
  await resident.subscribe('users/2/#')
  const call = await request(node.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '2' } })
  t.equal(call.status, 200)
  const ringing = await device.waitFor((m) => m.topic === 'devices/1/calls/control' && m.json.action === 'ringing')
  t.equal(ringing.json.call_id, call.body.data.call_id, 'the WSS client receives its calls')
})

t.test('TLS files without a TLS port, or a TLS port without files, stop start-up', async (t) => {
  await t.rejects(startTestNode(t, { HTTPS_PORT: '0' }), /TLS_CERT and TLS_KEY must be set together, and with MQTTS_PORT and\/or HTTPS_PORT/)
  await t.rejects(startTestNode(t, { TLS_CERT: '/a.pem', TLS_KEY: '/b.pem' }), /TLS_CERT and TLS_KEY must be set together, and with MQTTS_PORT and\/or HTTPS_PORT/)
  await t.rejects(startTestNode(t, { CORS_ORIGINS: 'https://ok.example.com,app.example.com/path' }), /CORS_ORIGINS entry "app.example.com\/path" is not an origin/)
})

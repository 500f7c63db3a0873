import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

/** A throw-away self-signed certificate for 127.0.0.1. */
function selfSigned (): { cert: string, key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-tls-'))
  const cert = path.join(dir, 'cert.pem')
  const key = path.join(dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' })
  return { cert, key }
}

t.test('MQTT over TLS authenticates and applies the same rights', async (t) => {
  const files = selfSigned()
  const { node } = await startTestNode(t, { MQTTS_PORT: '0', TLS_CERT: files.cert, TLS_KEY: files.key })
  t.type(node.ports.mqtts, 'number', 'the TLS port is reported')
  const url = `mqtts://127.0.0.1:${node.ports.mqtts}`
  const ca = readFileSync(files.cert)
  const device = await connect(t, url, 'device/1', { ca })
  t.same(await device.subscribe('devices/1/#'), [1])
  t.same(await device.subscribe('users/2/#'), [128])
  await t.rejects(connect(t, url, 'device/1', { ca, secret: 'wrong' }), /Bad username or password/)
})

t.test('unreadable TLS files stop start-up with a clear message', async (t) => {
  await t.rejects(startTestNode(t, { MQTTS_PORT: '0', TLS_CERT: '/nonexistent/cert.pem', TLS_KEY: '/nonexistent/key.pem' }),
    /cannot read TLS_CERT\/TLS_KEY/)
})

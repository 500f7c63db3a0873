import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ConfigError, loadConfig } from '../../config/env'
import { DirectoryError, readDirectoryFile } from '../../lib/directory/load'
import { connect } from '../helpers/mqtt'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'
import { runBin, spawnNode } from '../helpers/spawn-node'

function tempFile (name: string, content: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'intercom-')), name)
  writeFileSync(file, content)
  return file
}

t.test('the demo node serves /health and accepts the demo device; SIGTERM and SIGINT close it cleanly with exit code 0', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const node = await spawnNode(t)
    const health = await request(`http://127.0.0.1:${node.ports.http}`, 'GET', '/health')
    t.equal(health.status, 200)
    t.equal(health.body.data.status, 'ok')
    const device = await connect(t, `mqtt://127.0.0.1:${node.ports.mqtt}`, 'device/1')
    t.pass('the demo device signs in')
    const closed = new Promise<void>((resolve) => device.client.once('close', () => resolve()))
    node.child.kill(signal)
    t.equal(await node.exited, 0, `${signal}: exit 0`)
    await closed
    t.pass(`${signal}: the connected client was closed`)
  }
})

// Each bad value is checked where start-up checks it (the same code the command
// runs, in this process); one of each kind goes through the command itself, to
// show the message reaches stderr and the exit code is 1. Starting a Node.js
// process costs about a second of CPU, so the command runs once per kind.

t.test('a bad configuration value stops start-up naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ MQTT_PORT: 'abc' }, /MQTT_PORT must be integer/],
    [{ HTTP_PORT: '70000' }, /HTTP_PORT must be <= 65535/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL .*\(fatal, error, warn, info, debug, trace, silent\)/],
    [{ RING_TIMEOUT_MS: '0' }, /RING_TIMEOUT_MS must be >= 1/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must match pattern/],
    [{ MQTTS_PORT: '8883' }, /TLS_CERT and TLS_KEY must be set together, and with MQTTS_PORT and\/or HTTPS_PORT/]
  ]
  for (const [env, message] of cases) t.throws(() => loadConfig(env), { name: ConfigError.name, message }, Object.keys(env).join())
  const result = await runBin([], { REDIS_URL: 'localhost:6379' })
  t.equal(result.code, 1, 'the command exits 1')
  t.match(result.stderr, /^intercom-broker: invalid configuration: REDIS_URL must match pattern/)
})

t.test('a broken directory file stops start-up naming the entry', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{ not json', /not valid JSON/],
    [JSON.stringify({ devices: [{ id: 'a/b', secret: 's', households: [] }] }), /devices\[0\]\.id must match pattern/],
    [JSON.stringify({ devices: [{ id: 'a', secret: 's', households: ['9'] }] }), /devices\[0\]\.households\[0\] names household "9"/],
    [JSON.stringify({ residents: [{ id: 'r', secret: 'scrypt$1$2' }] }), /residents\[0\]\.secret: malformed hashed secret/],
    [JSON.stringify({ clients: [{ name: 'c', secret: 's', publish: ['a/#/b'], subscribe: [] }] }), /clients\[0\]\.publish\[0\] "a\/#\/b" is not a valid MQTT topic filter/],
    [JSON.stringify({ residents: [{ id: 'r', secret: 's' }, { id: 'r', secret: 't' }] }), /residents\[1\] repeats "r"/]
  ]
  for (const [content, message] of cases) {
    t.throws(() => readDirectoryFile(tempFile('directory.json', content)), { name: DirectoryError.name, message })
  }
  t.throws(() => readDirectoryFile('/nonexistent/directory.json'), { name: DirectoryError.name, message: /cannot be read \(ENOENT\)/ })
  const result = await runBin([], { INTERCOM_DIRECTORY: tempFile('directory.json', cases[2]?.[0] ?? '') })
  t.equal(result.code, 1, 'the command exits 1')
  t.match(result.stderr, /^intercom-broker: .*directory\.json.*devices\[0\]\.households\[0\] names household "9"/)
})

t.test('hash-secret prints a hash the directory accepts', async (t) => {
  const fromArg = await runBin(['hash-secret', 'door-secret'])
  t.equal(fromArg.code, 0)
  t.match(fromArg.stdout, /^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+\n$/)
  const fromStdin = await runBin(['hash-secret'], {}, 'door-secret\n')
  t.match(fromStdin.stdout, /^scrypt\$/)
  const directory = tempFile('directory.json', JSON.stringify({
    devices: [{ id: 'd', secret: fromStdin.stdout.trim(), households: [] }]
  }))
  // The hash is checked by a node in this process: the same directory code as the command's.
  const node = await startTestNode(t, { INTERCOM_DIRECTORY: directory })
  await t.resolves(connect(t, node.mqttUrl, 'device/d', { secret: 'door-secret' }), 'the secret hashed from stdin signs in')
  const unknown = await runBin(['frobnicate'])
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /unknown command "frobnicate"/)
})

import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { hashSecret } from '../../lib/directory/secrets'
import { connect, rawConnect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'

t.test('every identity kind connects over TCP and WebSocket with its secret', async (t) => {
  const { mqttUrl, wsUrl } = await startTestNode(t)
  for (const url of [mqttUrl, wsUrl]) {
    for (const name of ['device/1', 'resident/2', 'service/ops', 'client/meter-gw']) {
      await t.resolves(connect(t, url, name).then((c) => c.end()), `${name} over ${url.split(':')[0]}`)
    }
  }
})

t.test('a hashed secret in the directory authenticates the clear secret', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-'))
  const file = path.join(dir, 'directory.json')
  writeFileSync(file, JSON.stringify({
    devices: [{ id: 'd1', secret: await hashSecret('s3cret'), households: [] }]
  }))
  const { mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  await t.resolves(connect(t, mqttUrl, 'device/d1', { secret: 's3cret' }), 'the clear secret signs in')
  await t.rejects(connect(t, mqttUrl, 'device/d1', { secret: 'wrong' }), /Bad username or password/)
  await t.resolves(connect(t, mqttUrl, 'device/d1', { secret: 's3cret' }), 'a second connect with the same secret works (cached check)')
})

t.test('wrong password, unknown user and anonymous are refused at CONNACK', async (t) => {
  const { mqttUrl, wsUrl } = await startTestNode(t)
  for (const url of [mqttUrl, wsUrl]) {
    await t.rejects(connect(t, url, 'device/1', { secret: 'nope' }), /Bad username or password/, 'wrong password')
    await t.rejects(connect(t, url, 'device/999', { secret: 'x' }), /Bad username or password/, 'unknown user')
    await t.rejects(connect(t, url, 'service/ops', { secret: 'res-2-secret' }), /Bad username or password/, 'another identity\'s secret')
    await t.rejects(connect(t, url, null), /Not authorized/, 'anonymous')
  }
})

t.test('an empty client id without a clean session is refused with 0x02', async (t) => {
  const { node } = await startTestNode(t)
  const credentials = { username: 'resident/2', password: 'res-2-secret' }
  t.equal(await rawConnect(node.ports.mqtt, { clientId: '', clean: false, ...credentials }), 2)
  t.equal(await rawConnect(node.ports.mqtt, { clientId: '', clean: true, ...credentials }), 0, 'an empty client id with a clean session is fine')
})

import t from 'tap'
import { ConfigSchema } from '../../config/env'
import { runBin, spawnNode } from '../helpers/spawn-node'

t.test('--help lists every environment variable with its default', async (t) => {
  const help = await runBin(['--help'])
  t.equal(help.code, 0)
  for (const name of Object.keys(ConfigSchema.properties)) t.match(help.stdout, new RegExp(`^  ${name} `, 'm'), `${name} listed`)
  t.match(help.stdout, /RING_TIMEOUT_MS +A ringing call ends with timeout after this\. \(default 30000\)/)
})

t.test('a port in use or a foreign HOST stops start-up with one line naming the variable', async (t) => {
  const running = await spawnNode(t)
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ MQTT_PORT: String(running.ports.mqtt) }, new RegExp(`^intercom-broker: cannot listen: MQTT_PORT ${running.ports.mqtt} is already in use on 127\\.0\\.0\\.1`)],
    [{ HTTP_PORT: String(running.ports.http) }, new RegExp(`^intercom-broker: cannot listen: HTTP_PORT ${running.ports.http} is already in use`)],
    // TEST-NET-1: never an address of this machine.
    [{ HOST: '192.0.2.1' }, /^intercom-broker: cannot listen: HOST 192\.0\.2\.1 is not an address of this machine/]
  ]
  for (const [env, message] of cases) {
    const result = await runBin([], { LOG_LEVEL: 'silent', ...env })
    t.equal(result.code, 1, `${Object.keys(env).join()} exits 1`)
    t.match(result.stderr, message)
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line, no stack trace')
  }
})

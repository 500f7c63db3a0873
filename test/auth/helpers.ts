import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfig } from '../../config/env'
import { hashSecret } from '../../lib/directory/secrets'
import { startNode, type IntercomNode } from '../../lib/node'
import { DEMO_DIRECTORY } from '../helpers/node'

interface Teardown { teardown (fn: () => unknown): void }

export interface LoggedNode {
  node: IntercomNode
  mqttUrl: string
  wsUrl: string
  httpUrl: string
  /** Every log line at warn and above, parsed. */
  logs: Array<Record<string, unknown>>
  /** Every log line as written. */
  rawLogs: string[]
}

/** A real node whose warnings are kept for the test to read. */
export async function startLoggedNode (t: Teardown, env: Record<string, string> = {}): Promise<LoggedNode> {
  const rawLogs: string[] = []
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      const line = chunk.toString()
      rawLogs.push(line)
      logs.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', INTERCOM_DIRECTORY: DEMO_DIRECTORY, ...env })
  const node = await startNode({ config, logger: pino({ level: 'warn' }, sink) })
  t.teardown(() => node.close())
  return {
    node,
    logs,
    rawLogs,
    mqttUrl: `mqtt://127.0.0.1:${node.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${node.ports.http}/mqtt`,
    httpUrl: `http://127.0.0.1:${node.ports.http}`
  }
}

/** A directory file with one device whose secret is stored as a hash, as in production. */
export async function hashedDirectory (deviceId: string, secret: string): Promise<string> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'intercom-auth-')), 'directory.json')
  writeFileSync(file, JSON.stringify({ devices: [{ id: deviceId, secret: await hashSecret(secret), households: [] }] }))
  return file
}

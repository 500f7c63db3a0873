import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfig } from '../../config/env'
import { startNode } from '../../lib/node'
import { DEMO_DIRECTORY, LOCAL_STAND_INS, type TestNode } from '../helpers/node'

interface Teardown { teardown (fn: () => unknown): void }

export type LogLine = Record<string, any>

/** A node like startTestNode's, whose JSON log lines the test reads. */
export async function startLoggedNode (t: Teardown, env: Record<string, string> = {}): Promise<TestNode & { logs: LogLine[] }> {
  const logs: LogLine[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine)
      done()
    }
  })
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', INTERCOM_DIRECTORY: DEMO_DIRECTORY, OUTBOUND_ALLOW_NETWORKS: LOCAL_STAND_INS, ...env })
  const node = await startNode({ config, logger: pino({ level: 'info' }, sink) })
  t.teardown(() => node.close())
  return {
    node,
    logs,
    mqttUrl: `mqtt://127.0.0.1:${node.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${node.ports.http}/mqtt`,
    httpUrl: `http://127.0.0.1:${node.ports.http}`
  }
}

/** Prometheus text → `name{labels}` → value, for the samples a test looks at. */
export function samples (text: string): Map<string, number> {
  const found = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    found.set(line.slice(0, space), Number(line.slice(space + 1)))
  }
  return found
}

/** Polls until `check` gives a value (the server notices a closed socket in its own time); throws after `timeoutMs`. */
export async function eventually<T> (check: () => Promise<T | null>, timeoutMs = 10_000): Promise<T> {
  const giveUp = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== null) return value
    if (Date.now() > giveUp) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

import path from 'node:path'
import pino from 'pino'
import { loadConfig } from '../../config/env'
import { startNode, type IntercomNode } from '../../lib/node'

export const DEMO_DIRECTORY = path.resolve(__dirname, '..', '..', '..', 'config', 'demo-directory.json')

/** Demo secrets, by identity name. */
export const SECRETS: Record<string, string> = {
  'device/1': 'door-1-secret',
  'device/5': 'door-5-secret',
  'resident/2': 'res-2-secret',
  'resident/3': 'res-3-secret',
  'resident/4': 'res-4-secret',
  'resident/6': 'res-6-secret',
  'service/ops': 'ops-token',
  'client/meter-gw': 'gw-secret'
}

export interface TestNode {
  node: IntercomNode
  mqttUrl: string
  wsUrl: string
  httpUrl: string
}

interface Teardown { teardown (fn: () => unknown): void }

/** A real node on ephemeral ports, closed when the test ends. */
export async function startTestNode (t: Teardown, env: Record<string, string> = {}): Promise<TestNode> {
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', INTERCOM_DIRECTORY: DEMO_DIRECTORY, ...env })
  const node = await startNode({ config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }) })
  t.teardown(() => node.close())
  return {
    node,
    mqttUrl: `mqtt://127.0.0.1:${node.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${node.ports.http}/mqtt`,
    httpUrl: `http://127.0.0.1:${node.ports.http}`
  }
}

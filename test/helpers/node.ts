import path from 'node:path'
import { Redis } from 'ioredis'
import pino from 'pino'
import { loadConfig } from '../../config/env'
import { startNode, type IntercomNode, type NodeOptions } from '../../lib/node'

export const DEMO_DIRECTORY = path.resolve(__dirname, '..', '..', '..', 'config', 'demo-directory.json')

/** The push and webhook stand-ins of the tests listen on loopback: the outbound guard lets the node reach them. */
export const LOCAL_STAND_INS = '127.0.0.1/32'

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

/** A fresh cluster state for a suite re-run on Redis (see on-redis.ts): tests run one after the other. */
async function freshRedis (url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true })
  try {
    await redis.connect()
    await redis.flushall()
  } finally {
    redis.disconnect()
  }
}

/**
 * A real node on ephemeral ports, closed when the test ends. Inside a suite
 * re-run on Redis, the node uses a freshly flushed Redis.
 */
export async function startTestNode (t: Teardown, env: Record<string, string> = {}, hooks: Pick<NodeOptions, 'callTestHooks'> = {}): Promise<TestNode> {
  const suiteRedis = process.env.INTERCOM_TEST_REDIS_URL
  if (suiteRedis !== undefined && env.REDIS_URL === undefined) {
    await freshRedis(suiteRedis)
    env = { ...env, REDIS_URL: suiteRedis }
  }
  const config = loadConfig({ MQTT_PORT: '0', HTTP_PORT: '0', HOST: '127.0.0.1', INTERCOM_DIRECTORY: DEMO_DIRECTORY, OUTBOUND_ALLOW_NETWORKS: LOCAL_STAND_INS, ...env })
  const node = await startNode({ config, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), ...hooks })
  t.teardown(() => node.close())
  return {
    node,
    mqttUrl: `mqtt://127.0.0.1:${node.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${node.ports.http}/mqtt`,
    httpUrl: `http://127.0.0.1:${node.ports.http}`
  }
}

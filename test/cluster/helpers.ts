import { randomUUID } from 'node:crypto'
import { request, type HttpResult } from '../helpers/http'
import { line } from '../calls/helpers'
import { connect, type Received, type TestClient } from '../helpers/mqtt'
import { spawnNode, type SpawnedNode } from '../helpers/spawn-node'
import type { IClientOptions } from 'mqtt'

interface Teardown { teardown (fn: () => unknown): void }

/** One real node process of a cluster. */
export interface ClusterNode {
  id: string
  process: SpawnedNode
  mqttUrl: string
  httpUrl: string
}

/**
 * Spawns the real bin on the cluster's Redis. The ports line is logged at info,
 * so nodes keep LOG_LEVEL info: at warn the helper would never see their ports.
 */
export async function startClusterNode (t: Teardown, redisUrl: string, id: string, env: Record<string, string> = {}): Promise<ClusterNode> {
  const spawned = await spawnNode(t, { REDIS_URL: redisUrl, NODE_ID: id, ...env })
  return {
    id,
    process: spawned,
    mqttUrl: `mqtt://127.0.0.1:${spawned.ports.mqtt}`,
    httpUrl: `http://127.0.0.1:${spawned.ports.http}`
  }
}

/** Nodes A and B on one Redis, started side by side. */
export async function startTwoNodes (t: Teardown, redisUrl: string, env: Record<string, string> = {}): Promise<[ClusterNode, ClusterNode]> {
  return Promise.all([startClusterNode(t, redisUrl, 'node-a', env), startClusterNode(t, redisUrl, 'node-b', env)])
}

/** Kills a node at once (no goodbye to Redis, no wills sent by itself) and waits until it is gone. */
export async function killNode (node: ClusterNode, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  node.process.child.kill(signal)
  await node.process.exited
}

/** Connects and subscribes at QoS 1; throws if the filter is refused. */
export async function party (t: Teardown, url: string, name: string, filter: string, options: IClientOptions = {}): Promise<TestClient> {
  const client = await connect(t, url, name, options)
  const [granted] = await client.subscribe(filter, 1)
  if (granted !== 1) throw new Error(`${name} could not subscribe to ${filter}`)
  return client
}

/** Every call message a client received, in order; retained device statuses are presence, not calls. */
export function lines (client: TestClient, callId?: string): string[] {
  return client.messages
    .filter((m) => !/^devices\/[^/]+\/status$/.test(m.topic))
    .filter((m) => callId === undefined || m.json.call_id === callId)
    .map(line)
}

export function waitAction (client: TestClient, topic: string, action: string, callId: string, timeoutMs = 10_000): Promise<Received> {
  return client.waitFor((m) => m.topic === topic && m.json.action === action && m.json.call_id === callId, timeoutMs)
}

/** The event that ended the call, as services see it. */
export function waitEnded (service: TestClient, callId: string, timeoutMs = 15_000): Promise<Received> {
  return service.waitFor((m) => m.topic === `calls/${callId}/events` && m.json.status === 'ended', timeoutMs)
}

/** Starts a call from device 1 over MQTT; resolves with the call id of its `ringing`. */
export async function callMqtt (device: TestClient, body: Record<string, unknown> = {}): Promise<string> {
  const known = new Set(device.messages.map((m) => m.json.call_id))
  await device.publish('calls/request/1', { request_id: `start-${randomUUID()}`, ...body })
  const ringing = await device.waitFor((m) => m.topic === 'devices/1/calls/control' && m.json.action === 'ringing' && !known.has(m.json.call_id), 10_000)
  return String(ringing.json.call_id)
}

/** Starts a call from device 1 over HTTP. */
export function callHttp (base: string, body: Record<string, unknown> = {}): Promise<HttpResult> {
  return request(base, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', ...body } })
}

/** A device's or resident's action over HTTP. */
export function actHttp (base: string, as: string, callId: string, action: string): Promise<HttpResult> {
  const side = as.startsWith('device/') ? 'device' : 'resident'
  return request(base, 'POST', `/api/mqtt/controller/${side}`, { as, body: { call_info: { call_id: callId, action } } })
}

/** A device's or resident's action over MQTT; resolves once the broker acknowledged the publish. */
export function actMqtt (client: TestClient, as: string, callId: string, action: string): Promise<void> {
  const [kind, id] = as.split('/')
  const topic = kind === 'device' ? `devices/${id}/calls/action` : `users/${id}/calls/action`
  return client.publish(topic, { call_id: callId, action })
}

/** The stored session as a service reads it. */
export async function session (base: string, callId: string): Promise<Record<string, any>> {
  const result = await request(base, 'GET', `/api/mqtt/session?call_id=${encodeURIComponent(callId)}`, { as: 'service/ops' })
  if (result.status !== 200) throw new Error(`session ${callId}: ${result.status} ${JSON.stringify(result.body)}`)
  return result.body.data
}

/** `action actor #seq` for each transition of a stored session. */
export function historyOf (s: Record<string, any>): string[] {
  return (s.history as Array<Record<string, unknown>>).map((h) => `${String(h.action)} ${String(h.actor)} #${String(h.seq)}`)
}

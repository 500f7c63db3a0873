import { randomUUID } from 'node:crypto'
import { request, type HttpResult } from '../helpers/http'
import { connect, type Received, type TestClient } from '../helpers/mqtt'
import { startTestNode, type TestNode } from '../helpers/node'
import type { NodeOptions } from '../../lib/node'

interface Teardown { teardown (fn: () => unknown): void }

/** A node with device 1, residents and a service listening as the contract says they would. */
export interface Scene {
  node: TestNode
  device: TestClient
  residents: Record<string, TestClient>
  service: TestClient
}

export interface SceneOptions {
  env?: Record<string, string>
  /** Residents connected on `users/R/#`; 2, 3 and 4 by default. */
  residents?: string[]
  /** Connect over MQTT-over-WebSocket instead of TCP. */
  websocket?: boolean
  /** Test-only seams of the call service (see `beforeWrite`). */
  callTestHooks?: NodeOptions['callTestHooks']
}

export async function startScene (t: Teardown, options: SceneOptions = {}): Promise<Scene> {
  const node = await startTestNode(t, options.env, options.callTestHooks === undefined ? {} : { callTestHooks: options.callTestHooks })
  const url = options.websocket === true ? node.wsUrl : node.mqttUrl
  const device = await party(t, url, 'device/1', 'devices/1/#')
  const residents: Record<string, TestClient> = {}
  for (const id of options.residents ?? ['2', '3', '4']) residents[id] = await party(t, url, `resident/${id}`, `users/${id}/#`)
  const service = await party(t, url, 'service/ops', 'calls/+/events')
  return { node, device, residents, service }
}

/** Connects and subscribes at QoS 1. */
export async function party (t: Teardown, url: string, name: string, filter: string): Promise<TestClient> {
  const client = await connect(t, url, name)
  const [granted] = await client.subscribe(filter, 1)
  if (granted !== 1) throw new Error(`${name} could not subscribe to ${filter}`)
  return client
}

/** Device status is presence, not call signalling: the presence tests cover it. */
const isStatus = (m: Received): boolean => /^devices\/[^/]+\/status$/.test(m.topic)

/**
 * One line per call message, easy to compare whole:
 * `<last topic level> <action> [reason=..] [r=resident_id] [by=actor] #seq`.
 */
export function line (m: Received): string {
  const kind = m.topic.split('/').pop() ?? m.topic
  if (kind === 'incoming') return `incoming #${String(m.json.seq)}`
  if (kind === 'error') return `error ${String(m.json.error)}`
  const parts = [kind, String(m.json.action)]
  if (m.json.reason !== null && m.json.reason !== undefined) parts.push(`reason=${String(m.json.reason)}`)
  if (typeof m.json.resident_id === 'string') parts.push(`r=${m.json.resident_id}`)
  if (kind === 'events') parts.push(`by=${String(m.json.actor)}`)
  parts.push(`#${String(m.json.seq)}`)
  return parts.join(' ')
}

/** Every call message a client received, in order. */
export function lines (client: TestClient): string[] {
  return client.messages.filter((m) => !isStatus(m)).map(line)
}

export function clear (...clients: TestClient[]): void {
  for (const client of clients) client.messages.length = 0
}

/** The message on `topic` carrying this action (and call). */
export function waitAction (client: TestClient, topic: string, action: string, callId?: string): Promise<Received> {
  return client.waitFor((m) => m.topic === topic && m.json.action === action && (callId === undefined || m.json.call_id === callId))
}

/** The transition of the call that ended it, as services see it. */
export function waitEnded (service: TestClient, callId: string): Promise<Received> {
  return service.waitFor((m) => m.topic === `calls/${callId}/events` && m.json.status === 'ended')
}

/** Starts a call over HTTP as `as` (device/1 by default) and returns its session; throws on refusal. */
export async function callHttp (base: string, body: Record<string, unknown> = {}, as = 'device/1'): Promise<Record<string, any>> {
  const result = await request(base, 'POST', '/api/mqtt/call', { as, body: { device_device_id: '1', ...body } })
  if (result.status !== 200) throw new Error(`call refused: ${result.status} ${JSON.stringify(result.body)}`)
  return result.body.data
}

/** Starts a call over MQTT from device 1 and returns the call id from its `ringing`. */
export async function callMqtt (device: TestClient, body: Record<string, unknown> = {}, deviceId = '1'): Promise<string> {
  const known = new Set(device.messages.map((m) => m.json.call_id))
  await device.publish(`calls/request/${deviceId}`, { request_id: `start-${randomUUID()}`, ...body })
  const ringing = await device.waitFor((m) => m.topic === `devices/${deviceId}/calls/control` && m.json.action === 'ringing' && !known.has(m.json.call_id))
  return String(ringing.json.call_id)
}

/** A device's or resident's action over HTTP. */
export function actHttp (base: string, as: string, callId: string, action: string, extra: Record<string, unknown> = {}): Promise<HttpResult> {
  const side = as.startsWith('device/') ? 'device' : 'resident'
  return request(base, 'POST', `/api/mqtt/controller/${side}`, { as, body: { call_info: { call_id: callId, action, ...extra } } })
}

/** A device's or resident's action over MQTT; resolves once the server acknowledged (handled) it. */
export function actMqtt (client: TestClient, as: string, callId: string, action: string, extra: Record<string, unknown> = {}): Promise<void> {
  const [kind, id] = as.split('/')
  const topic = kind === 'device' ? `devices/${id}/calls/action` : `users/${id}/calls/action`
  return client.publish(topic, { call_id: callId, action, ...extra })
}

export function getSession (base: string, as: string, callId: string): Promise<HttpResult> {
  return request(base, 'GET', `/api/mqtt/session?call_id=${encodeURIComponent(callId)}`, { as })
}

/** The stored session as a service sees it; throws if it cannot be read. */
export async function session (base: string, callId: string): Promise<Record<string, any>> {
  const result = await getSession(base, 'service/ops', callId)
  if (result.status !== 200) throw new Error(`session ${callId}: ${result.status} ${JSON.stringify(result.body)}`)
  return result.body.data
}

import http from 'node:http'
import type { MqttClient } from 'mqtt'
import { benchDevice, ringsSequentially } from './call-directory'
import { connected, createClient } from './client'
import type { CallsSpec } from './protocol'

/** HTTP sockets kept open per generator: more than the calls in flight at the highest rate and a few ms each. */
const MAX_SOCKETS = 64
/** Households being connected at once (a device and its residents each). */
const LANES = 10

export interface Resident {
  id: string
  client: MqttClient
}

export interface Device {
  id: string
  client: MqttClient
  /** `Basic …` header for the HTTP API. */
  authorization: string
  residents: Resident[]
  /** Rings one resident after the other: only the first is rung before the bench moves on. */
  sequential: boolean
}

export interface HttpAnswer {
  status: number
  body: { data?: { call_id?: string }, error?: string } | null
}

async function connectAs (port: number, username: string, password: string, filter: string): Promise<MqttClient> {
  const client = createClient({ port, username, password }, { clientId: `bench-${username.replace('/', '-')}` })
  await connected(client)
  const granted = await client.subscribeAsync(filter, { qos: 1 })
  if (granted[0]?.qos !== 1) throw new Error(`${username}: subscription to ${filter} refused (granted ${JSON.stringify(granted)})`)
  return client
}

/** Every device and resident of the spec, logged in with its own credentials and subscribed to its own topics. */
export async function connectParties (spec: CallsSpec): Promise<Device[]> {
  const devices: Device[] = []
  const jobs = spec.devices.map((index) => async () => {
    const d = benchDevice(index)
    const residents = spec.residentsOffline === true
      ? []
      : await Promise.all(d.residents.map(async (r) => ({
        id: r.id,
        client: await connectAs(spec.mqttPort, `resident/${r.id}`, r.secret, `users/${r.id}/#`)
      })))
    devices.push({
      id: d.id,
      client: await connectAs(spec.mqttPort, `device/${d.id}`, d.secret, `devices/${d.id}/#`),
      authorization: `Basic ${Buffer.from(`device/${d.id}:${d.secret}`).toString('base64')}`,
      residents,
      sequential: ringsSequentially(index, spec.mix ?? 'plain')
    })
  })
  const lane = async (): Promise<void> => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) await job()
  }
  await Promise.all(Array.from({ length: LANES }, lane))
  devices.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))
  return devices
}

/** `POST /api/mqtt/call` over keep-alive sockets (Node's client sockets have Nagle off by default). */
export function httpCaller (port: number): (device: Device, done: (answer: HttpAnswer | Error) => void) => void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
  return (device, done) => {
    const body = JSON.stringify({ device_device_id: device.id })
    const request = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/mqtt/call',
      agent,
      headers: { authorization: device.authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
    }, (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        let parsed: HttpAnswer['body'] = null
        try {
          parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as HttpAnswer['body']
        } catch {
          // A body that is not JSON still has its status.
        }
        done({ status: response.statusCode ?? 0, body: parsed })
      })
    })
    request.on('error', done)
    request.end(body)
  }
}

import type { TSchema } from 'typebox'
import { ActionBodySchema, StartCallBodySchema } from '../calls/request-bodies'
import { DeviceStatusSchema } from '../presence/device-status'
import { StatusReportSchema } from '../presence/status-requests'
import { CallEventSchema, ControlMessageSchema, ErrorReplySchema, InviteMessageSchema, SystemMessageSchema } from './mqtt-messages'

type Direction = 'send' | 'receive'

interface ChannelSpec {
  address: string
  /** `send`: the server publishes; `receive`: clients publish and the server consumes. */
  action: Direction
  message: string
  schema: TSchema
  summary: string
  retained?: boolean
}

const ID = { description: 'a device id, resident id or call id of the directory' }

/** Every topic of the contract, the one list the document is made from. */
export const MQTT_CHANNELS: Record<string, ChannelSpec> = {
  residentInvite: { address: 'users/{residentId}/calls/incoming', action: 'send', message: 'invite', schema: InviteMessageSchema, summary: 'A call rings this resident.' },
  residentControl: { address: 'users/{residentId}/calls/control', action: 'send', message: 'control', schema: ControlMessageSchema, summary: 'The calls of this resident move on.' },
  residentError: { address: 'users/{residentId}/calls/error', action: 'send', message: 'errorReply', schema: ErrorReplySchema, summary: 'A request of this resident was refused.' },
  residentAction: { address: 'users/{residentId}/calls/action', action: 'receive', message: 'action', schema: ActionBodySchema, summary: 'The resident answers, rejects, unlocks, hangs up, or gives up ringing (timeout).' },
  residentSystem: { address: 'users/{residentId}/system', action: 'send', message: 'systemMessage', schema: SystemMessageSchema, summary: 'A system message addressed to this resident.' },
  deviceControl: { address: 'devices/{deviceId}/calls/control', action: 'send', message: 'control', schema: ControlMessageSchema, summary: 'The calls of this device move on; the first message of a call is `ringing`.' },
  deviceError: { address: 'devices/{deviceId}/calls/error', action: 'send', message: 'errorReply', schema: ErrorReplySchema, summary: 'A request of this device was refused.' },
  deviceAction: { address: 'devices/{deviceId}/calls/action', action: 'receive', message: 'action', schema: ActionBodySchema, summary: 'The device cancels a ringing call or hangs up.' },
  callRequest: { address: 'calls/request/{deviceId}', action: 'receive', message: 'callRequest', schema: StartCallBodySchema, summary: 'The device rings its residents (one, a household, or all).' },
  statusReport: { address: 'devices/{deviceId}/status/report', action: 'receive', message: 'statusReport', schema: StatusReportSchema, summary: 'The device reports battery and properties.' },
  deviceStatus: { address: 'devices/{deviceId}/status', action: 'send', message: 'deviceStatus', schema: DeviceStatusSchema, summary: 'The full status of a device, retained.', retained: true },
  deviceSystem: { address: 'devices/{deviceId}/system', action: 'send', message: 'systemMessage', schema: SystemMessageSchema, summary: 'A system message addressed to this device.' },
  callEvents: { address: 'calls/{callId}/events', action: 'send', message: 'callEvent', schema: CallEventSchema, summary: 'Every transition of a call, for services.' },
  system: { address: 'system/{type}', action: 'send', message: 'systemMessage', schema: SystemMessageSchema, summary: 'A system message to everyone.' }
}

/** TypeBox schemas are JSON Schema; this drops anything that is not plain JSON. */
function plain (schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
}

function parametersOf (address: string): Record<string, unknown> {
  const parameters: Record<string, unknown> = {}
  for (const [, name] of address.matchAll(/\{(\w+)\}/g)) if (name !== undefined) parameters[name] = ID
  return parameters
}

/** The MQTT half of the contract as an AsyncAPI 3 document, seen from the server. */
export function asyncApiDocument (version: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {}
  const operations: Record<string, unknown> = {}
  const messages: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(MQTT_CHANNELS)) {
    messages[spec.message] = { name: spec.message, contentType: 'application/json', payload: plain(spec.schema) }
    channels[name] = {
      address: spec.address,
      parameters: parametersOf(spec.address),
      messages: { [spec.message]: { $ref: `#/components/messages/${spec.message}` } },
      bindings: { mqtt: { bindingVersion: '0.2.0' } }
    }
    operations[`${spec.action}${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`] = {
      action: spec.action,
      channel: { $ref: `#/channels/${name}` },
      summary: spec.summary,
      messages: [{ $ref: `#/channels/${name}/messages/${spec.message}` }],
      bindings: { mqtt: { qos: 1, retain: spec.retained === true, bindingVersion: '0.2.0' } }
    }
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'intercom-broker MQTT',
      version,
      description: 'Call signalling over MQTT 3.1.1. `send`: the server publishes; `receive`: a client publishes and the server consumes it (never forwarded). ' +
        'Each identity may use only its own topics: a device `devices/<id>/#`, a resident `users/<id>/#`, services everything. Payloads are JSON; QoS 1.'
    },
    defaultContentType: 'application/json',
    servers: {
      mqtt: { host: 'localhost:1883', protocol: 'mqtt', description: 'MQTT over TCP (MQTT_PORT)', security: [{ $ref: '#/components/securitySchemes/identity' }] },
      ws: { host: 'localhost:3000', pathname: '/mqtt', protocol: 'ws', description: 'MQTT over WebSocket (HTTP_PORT)', security: [{ $ref: '#/components/securitySchemes/identity' }] }
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        identity: { type: 'userPassword', description: 'username: identity name (device/1, resident/2, service/ops); password: its secret or token' }
      }
    }
  }
}

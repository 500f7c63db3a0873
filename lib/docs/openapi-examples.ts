/**
 * One working request per HTTP operation, against the demo directory, sent as the
 * demo service (`Authorization: Bearer ops-token`). `CALL_ID_EXAMPLE` stands for the
 * id of a call that is ringing: start one with the `POST /api/mqtt/call` example.
 */
export const CALL_ID_EXAMPLE = 'call-20261129-0123456789abcdef'
/** Stand for the id the `POST` example of the same collection created. */
export const WEBHOOK_ID_EXAMPLE = 'wh_0123456789abcdef'
export const SUBSCRIPTION_ID_EXAMPLE = 'sub_0123456789abcdef'

export interface OperationExample {
  body?: Record<string, unknown>
  query?: Record<string, string>
  params?: Record<string, string>
}

/** A browser's subscription keys: an uncompressed P-256 point and 16 random bytes, base64url. */
const WEB_PUSH_KEYS = {
  p256dh: 'BM8xBBhcXF1y7D-70pRCJ7PO2qPMRX9QjGe_rnyvd543oZLzmKJovktfgYUhZyXhMaH7sL-5YiJ7hjkqQAVpTqE',
  auth: 'lIPwK7zKg4Wxg9XiZrt3yg'
}

export const OPERATION_EXAMPLES: Record<string, OperationExample> = {
  'POST /api/mqtt/call': { body: { device_device_id: '1', household_number: '101' } },
  'POST /api/mqtt/controller/device': { body: { call_info: { call_id: CALL_ID_EXAMPLE, action: 'cancelled' } } },
  'POST /api/mqtt/controller/resident': { body: { call_info: { call_id: CALL_ID_EXAMPLE, action: 'answered', resident_id: '2' } } },
  'GET /api/mqtt/session': { query: { call_id: CALL_ID_EXAMPLE } },
  'POST /api/mqtt/end-session': { body: { call_id: CALL_ID_EXAMPLE, reason: 'operator' } },
  'POST /api/mqtt/device/status': { body: { device_id: '1', battery: 87, properties: { firmware: '2.4.1' } } },
  'GET /api/mqtt/device/status': { query: { device_id: '1' } },
  'POST /api/mqtt/system/message': { body: { type: 'maintenance', level: 'info', message: 'The lift is serviced on Monday morning' } },
  'POST /api/trtc/usersig': { body: { user_id: 'resident_2' } },
  'POST /api/rtc/token': { body: { user_id: 'resident_2', channel_id: CALL_ID_EXAMPLE } },
  'POST /api/trtc/call': { body: { device_id: '1', resident_id: '2' } },
  'POST /api/rtc/call': { body: { device_id: '5', resident_id: '6' } },
  'GET /health': {},
  'GET /health/live': {},
  'GET /health/ready': {},
  'GET /metrics': {},
  'GET /api/calls': { query: { device_id: '1', limit: '20' } },
  'POST /api/webhooks': { body: { url: 'https://integrator.example.com/intercom/events', events: ['call.ended', 'device.offline'] } },
  'GET /api/webhooks': {},
  'DELETE /api/webhooks/{id}': { params: { id: WEBHOOK_ID_EXAMPLE } },
  'GET /api/push/vapid-public-key': {},
  'POST /api/push/subscriptions': { body: { kind: 'webpush', endpoint: 'https://push.example.com/send/d8f2c1', keys: WEB_PUSH_KEYS, resident_id: '2' } },
  'GET /api/push/subscriptions': { query: { resident_id: '2' } },
  'DELETE /api/push/subscriptions/{id}': { params: { id: SUBSCRIPTION_ID_EXAMPLE } },
  // Resident 4 is rung by no other example: its DND changes none of them.
  'PUT /api/residents/{id}/dnd': { params: { id: '4' }, body: { enabled: true } },
  'GET /api/residents/{id}/dnd': { params: { id: '4' } },
  'GET /api/admin/directory': {},
  'PUT /api/admin/directory': {
    query: { dry_run: 'true' },
    body: {
      devices: [{ id: '1', households: ['101', '102'] }, { id: '5', households: ['201'] }],
      households: [{ number: '101', residents: ['2', '3'] }, { number: '102', residents: ['4'] }, { number: '201', residents: ['6'] }],
      residents: [{ id: '2' }, { id: '3' }, { id: '4' }, { id: '6' }, { id: '7', secret: 'res-7-secret' }],
      services: [{ name: 'ops' }],
      clients: [{ name: 'meter-gw', publish: ['meters/#'], subscribe: ['meters/#', 'system/#'] }]
    }
  },
  'PUT /api/admin/devices/{id}': { params: { id: '9' }, body: { secret: 'door-9-secret', households: ['201'] } },
  'DELETE /api/admin/devices/{id}': { params: { id: '9' } },
  'PUT /api/admin/households/{number}': { params: { number: '202' }, body: { residents: ['6'] } },
  'DELETE /api/admin/households/{number}': { params: { number: '202' } },
  'PUT /api/admin/residents/{id}': { params: { id: '7' }, body: { secret: 'res-7-secret' } },
  'DELETE /api/admin/residents/{id}': { params: { id: '7' } },
  'PUT /api/admin/clients/{name}': { params: { name: 'lift-gw' }, body: { secret: 'lift-gw-secret', publish: ['lifts/#'], subscribe: ['lifts/#'] } },
  'DELETE /api/admin/clients/{name}': { params: { name: 'lift-gw' } }
}

interface Operation {
  parameters?: Array<{ in: string, name: string, example?: unknown }>
  requestBody?: { content?: Record<string, { example?: unknown }> }
}

/** Puts each example into the generated OpenAPI document, where "Try it out" picks it up. */
export function addExamples (openapi: { paths?: Record<string, Record<string, Operation>> }): void {
  for (const [path, operations] of Object.entries(openapi.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const example = OPERATION_EXAMPLES[`${method.toUpperCase()} ${path}`]
      if (example === undefined) continue
      const json = operation.requestBody?.content?.['application/json']
      if (json !== undefined && example.body !== undefined) json.example = example.body
      for (const parameter of operation.parameters ?? []) {
        const value = parameter.in === 'query' ? example.query?.[parameter.name] : parameter.in === 'path' ? example.params?.[parameter.name] : undefined
        if (value !== undefined) parameter.example = value
      }
    }
  }
}

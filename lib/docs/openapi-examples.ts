/**
 * One working request per HTTP operation, against the demo directory, sent as the
 * demo service (`Authorization: Bearer ops-token`). `CALL_ID_EXAMPLE` stands for the
 * id of a call that is ringing: start one with the `POST /api/mqtt/call` example.
 */
export const CALL_ID_EXAMPLE = 'call-20261129-0123456789abcdef'

export interface OperationExample {
  body?: Record<string, unknown>
  query?: Record<string, string>
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
  'GET /metrics': {}
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
        const value = parameter.in === 'query' ? example.query?.[parameter.name] : undefined
        if (value !== undefined) parameter.example = value
      }
    }
  }
}

import Ajv from 'ajv'
import t from 'tap'
import { CALL_ID_EXAMPLE, SUBSCRIPTION_ID_EXAMPLE, WEBHOOK_ID_EXAMPLE } from '../../lib/docs/openapi-examples'
import { directoryCopy } from '../directory/helpers'
import { request, type HttpResult } from '../helpers/http'
import { startTestNode } from '../helpers/node'

interface Operation {
  parameters?: Array<{ in: string, name: string, required?: boolean, example?: string }>
  requestBody?: { content: Record<string, { example?: Record<string, unknown> }> }
  responses: Record<string, { content?: Record<string, { schema: object }> }>
}
type Paths = Record<string, Record<string, Operation>>

const AS = 'Bearer ops-token'
const CALL_ROUTES = new Set(['POST /api/mqtt/call', 'POST /api/trtc/call', 'POST /api/rtc/call'])

/** Placeholder → the id a previous example created (a call, a webhook, a push subscription). */
function withIds<T> (value: T, ids: Map<string, string>): T {
  let text = JSON.stringify(value)
  for (const [placeholder, id] of ids) text = text.split(placeholder).join(id)
  return JSON.parse(text) as T
}

t.test('every OpenAPI operation carries an example that succeeds against the demo directory', async (t) => {
  // A copy: the admin examples write the directory back to its file.
  const node = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  const doc = await (await fetch(`${node.httpUrl}/docs/json`)).json() as { paths: Paths }
  const created = new Map<string, string>()
  const send = (method: string, path: string, operation: Operation, callId: string | null): Promise<HttpResult> => {
    const ids = new Map(created)
    if (callId !== null) ids.set(CALL_ID_EXAMPLE, callId)
    const example = operation.requestBody?.content['application/json']?.example
    const query = new URLSearchParams()
    let url = path
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in === 'query' && parameter.example !== undefined) query.set(parameter.name, parameter.example)
      if (parameter.in === 'path' && parameter.example !== undefined) url = url.replace(`{${parameter.name}}`, encodeURIComponent(parameter.example))
    }
    if (query.size > 0) url = `${url}?${query.toString()}`
    return request(node.httpUrl, method.toUpperCase(), withIds(url, ids), {
      as: AS,
      ...(example === undefined ? {} : { body: withIds(example, ids) })
    })
  }
  const startCall = doc.paths['/api/mqtt/call']?.post
  if (startCall === undefined) throw new Error('POST /api/mqtt/call is not documented')
  // Each example that acts on a call gets a call of its own; each call ends after its example, so the device is free again.
  const endCall = (callId: string): Promise<HttpResult> => request(node.httpUrl, 'POST', '/api/mqtt/end-session', { as: AS, body: { call_id: callId } })

  let operations = 0
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations++
      const name = `${method.toUpperCase()} ${path}`
      if (operation.requestBody !== undefined) t.ok(operation.requestBody.content['application/json']?.example, `${name}: body example`)
      for (const parameter of operation.parameters ?? []) {
        if (parameter.required === true) t.ok(parameter.example, `${name}: example for ${parameter.name}`)
      }
      const needsCall = JSON.stringify(operation).includes(CALL_ID_EXAMPLE)
      const callId = needsCall ? (await send('post', '/api/mqtt/call', startCall, null)).body.data.call_id as string : null
      const result = await send(method, path, operation, callId)
      t.ok(result.status >= 200 && result.status < 300, `${name}: ${result.status} ${result.status >= 300 ? JSON.stringify(result.body) : ''}`)
      if (typeof result.body.data?.webhook_id === 'string') created.set(WEBHOOK_ID_EXAMPLE, result.body.data.webhook_id)
      if (typeof result.body.data?.subscription_id === 'string') created.set(SUBSCRIPTION_ID_EXAMPLE, result.body.data.subscription_id)
      const started = CALL_ROUTES.has(name) ? result.body.data?.call_id as string | undefined : undefined
      for (const id of [callId, started]) {
        if (typeof id === 'string') t.ok([200, 409].includes((await endCall(id)).status), `${name}: its call ended`)
      }
    }
  }
  t.ok(operations >= 16, `${operations} operations tried`)
})

t.test('the documented error responses have the shape of real errors', async (t) => {
  const node = await startTestNode(t, { METRICS_TOKEN: 'scrape-token-0123456789' })
  const doc = await (await fetch(`${node.httpUrl}/docs/json`)).json() as { paths: Paths }
  const ajv = new Ajv({ strict: false })
  const schemaOf = (path: string, method: string, status: string): object => {
    const schema = doc.paths[path]?.[method]?.responses[status]?.content?.['application/json']?.schema
    if (schema === undefined) throw new Error(`${method} ${path} documents no ${status}`)
    return schema
  }
  const cases: Array<[string, string, string, () => Promise<HttpResult>, number]> = [
    ['/api/mqtt/call', 'post', '4XX', () => request(node.httpUrl, 'POST', '/api/mqtt/call', { as: AS, body: { household_number: '101' } }), 400],
    ['/api/mqtt/call', 'post', '4XX', () => request(node.httpUrl, 'POST', '/api/mqtt/call', { body: { device_device_id: '1' } }), 401],
    ['/api/mqtt/session', 'get', '4XX', () => request(node.httpUrl, 'GET', `/api/mqtt/session?call_id=${CALL_ID_EXAMPLE}`, { as: AS }), 404],
    ['/metrics', 'get', '401', () => request(node.httpUrl, 'GET', '/metrics'), 401]
  ]
  for (const [path, method, status, send, expected] of cases) {
    const result = await send()
    t.equal(result.status, expected)
    const validate = ajv.compile(schemaOf(path, method, status))
    t.ok(validate(result.body), `${expected} matches the documented ${status} of ${method.toUpperCase()} ${path}: ${ajv.errorsText(validate.errors)}`)
  }
})

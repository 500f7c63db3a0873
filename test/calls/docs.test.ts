import t from 'tap'
import { startTestNode } from '../helpers/node'

const CALL_ROUTES: Array<[string, string, string[]]> = [
  ['post', '/api/mqtt/call', ['device_device_id', 'device_id', 'target_resident_id', 'household_number', 'timestamp']],
  ['post', '/api/mqtt/controller/device', ['call_info', 'call_id', 'action']],
  ['post', '/api/mqtt/controller/resident', ['call_info', 'call_id', 'action', 'resident_id']],
  ['post', '/api/mqtt/end-session', ['call_id', 'reason']]
]

t.test('the OpenAPI document lists the call routes with their schemas; /docs serves HTML', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const response = await fetch(`${httpUrl}/docs/json`)
  t.equal(response.status, 200)
  const doc = await response.json() as { openapi: string, paths: Record<string, Record<string, any>> }
  t.match(doc.openapi, /^3\./, 'an OpenAPI 3 document')

  for (const [method, route, fields] of CALL_ROUTES) {
    const operation = doc.paths[route]?.[method]
    t.ok(operation, `${method.toUpperCase()} ${route} is listed`)
    const schema = operation?.requestBody?.content?.['application/json']?.schema
    t.same(Object.keys(schema?.properties ?? {}).filter((f) => fields.includes(f)).sort(), [...fields].sort(), `${route}: request fields`)
    t.equal(schema?.additionalProperties, false, `${route}: unknown fields are refused`)
    t.ok(operation?.responses?.['200'], `${route}: success response documented`)
  }
  const actions = doc.paths['/api/mqtt/controller/resident']?.post.requestBody.content['application/json'].schema.properties.call_info.properties.action
  t.match(JSON.stringify(actions), /answered.*rejected.*cancelled.*hangup.*timeout.*unlock/, 'the actions are listed')
  const session = doc.paths['/api/mqtt/session']?.get
  t.match(session?.parameters, [{ in: 'query', name: 'call_id', required: true }], 'GET /api/mqtt/session takes call_id')

  const html = await fetch(`${httpUrl}/docs`)
  t.equal(html.status, 200)
  t.match(html.headers.get('content-type'), /text\/html/)
  t.match(await html.text(), /<html/i)
})

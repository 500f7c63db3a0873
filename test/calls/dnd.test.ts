import t from 'tap'
import { request } from '../helpers/http'
import { settle, type TestClient } from '../helpers/mqtt'
import { actHttp, callHttp, lines, session, startScene, waitEnded } from './helpers'

const dnd = (base: string, as: string, id: string, body?: unknown) =>
  request(base, body === undefined ? 'GET' : 'PUT', `/api/residents/${id}/dnd`, body === undefined ? { as } : { as, body })

t.test('do not disturb: the resident gets a dnd leg and no invite; the others ring', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  t.match(await dnd(base, 'resident/3', '3', { enabled: true }), { status: 200, body: { data: { resident_id: '3', enabled: true, until: null } } })
  t.match(await dnd(base, 'service/ops', '3'), { status: 200, body: { data: { resident_id: '3', enabled: true, until: null } } }, 'a service reads it')
  const call = await callHttp(base, { household_number: '101' })
  t.same(call.legs, [{ resident_id: '2', state: 'ringing', delivery: 'online' }, { resident_id: '3', state: 'dnd' }])
  t.match(await actHttp(base, 'resident/3', call.call_id, 'answered'), { status: 403, body: { error: 'forbidden' } }, 'a dnd resident is no party')
  t.equal((await actHttp(base, 'resident/2', call.call_id, 'rejected')).status, 200)
  await waitEnded(scene.service, call.call_id)
  await settle()
  t.match(await session(base, call.call_id), { status: 'ended', end_reason: 'rejected', legs: [{ state: 'rejected' }, { state: 'dnd' }] })
  t.same(lines(scene.residents['3'] as TestClient), [], 'no invite, nothing at all')
  const listed = await request(base, 'GET', '/api/calls?resident_id=3', { as: 'resident/3' })
  t.equal(listed.status, 200)
  t.same(listed.body.data.items, [], 'a call that never rang it is not in its call records')
  t.equal((await request(base, 'GET', '/api/calls?resident_id=2', { as: 'resident/2' })).body.data.items.length, 1)

  t.match(await dnd(base, 'resident/3', '3', { enabled: false }), { status: 200, body: { data: { enabled: false, until: null } } })
  const next = await callHttp(base, { household_number: '101' })
  t.same(next.legs.map((l: { state: string }) => l.state), ['ringing', 'ringing'], 'turned off: it rings again')
})

t.test('nobody to ring: every resident in DND (or busy) refuses the call 409 residents_unavailable', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  await dnd(base, 'service/ops', '2', { enabled: true, until: Date.now() + 3_600_000 })
  await dnd(base, 'resident/3', '3', { enabled: true })
  const refused = await request(base, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', household_number: '101' } })
  t.match(refused, { status: 409, body: { error: 'residents_unavailable', message: /in a call or in do not disturb/ } })
  t.same(lines(scene.device), [], 'nothing rang')
  await dnd(base, 'resident/3', '3', { enabled: false })
  const call = await callHttp(base, { household_number: '101' })
  t.equal((await actHttp(base, 'resident/3', call.call_id, 'answered')).status, 200)
  await dnd(base, 'resident/3', '3', { enabled: true })
  // 3 is now busy and in DND, 2 in DND: still nobody to ring.
  const second = await request(base, 'POST', '/api/mqtt/call', { as: 'service/ops', body: { device_device_id: '1', household_number: '101' } })
  t.match(second, { status: 409 })
})

t.test('until: DND lapses by itself; bounded to the future and DND_MAX_MS ahead', async (t) => {
  const scene = await startScene(t, { env: { DND_MAX_MS: '120000' } })
  const base = scene.node.httpUrl
  const soon = Date.now() + 60_000
  t.match(await dnd(base, 'resident/2', '2', { enabled: true, until: soon }), { status: 200, body: { data: { enabled: true, until: soon } } })
  t.match(await dnd(base, 'resident/2', '2', { enabled: true, until: Date.now() - 1 }), { status: 400, body: { error: 'invalid_request', message: /not in the future/ } })
  t.match(await dnd(base, 'resident/2', '2', { enabled: true, until: Date.now() + 600_000 }), { status: 400, body: { message: /at most 120000 ms ahead/ } })
  t.match(await dnd(base, 'resident/2', '2', { enabled: false, until: soon }), { status: 400, body: { message: /until goes with enabled: true/ } })
  t.match(await dnd(base, 'resident/2', '2'), { status: 200, body: { data: { enabled: true, until: soon } } }, 'the refusals changed nothing')
})

t.test('the worst client: foreign identities, unknown residents, bad bodies', async (t) => {
  const scene = await startScene(t)
  const base = scene.node.httpUrl
  t.match(await dnd(base, 'resident/2', '3', { enabled: true }), { status: 403, body: { error: 'forbidden', message: /manages only its own/ } })
  t.match(await dnd(base, 'resident/2', '3'), { status: 403 }, 'nor read another resident\'s')
  t.match(await dnd(base, 'device/1', '2', { enabled: true }), { status: 403 }, 'a device has no say')
  t.match(await dnd(base, 'service/ops', 'nobody', { enabled: true }), { status: 404, body: { error: 'not_found' } })
  t.match(await dnd(base, 'service/ops', 'no%2Fslash', { enabled: true }), { status: 400 }, 'an id that is no id')
  t.match(await request(base, 'PUT', '/api/residents/2/dnd', { as: 'resident/2', body: { enabled: true } }), { status: 200 })
  t.match(await request(base, 'PUT', '/api/residents/2/dnd', { body: { enabled: true } }), { status: 401 }, 'no credentials')
  t.match(await request(base, 'PUT', '/api/residents/2/dnd', { as: 'resident/2', raw: '{"enabled": tru' }), { status: 400 }, 'bad JSON')
  t.match(await dnd(base, 'resident/2', '2', { enabled: 'yes' }), { status: 400 }, 'wrong type')
  t.match(await dnd(base, 'resident/2', '2', {}), { status: 400 }, 'enabled is required')
  t.match(await dnd(base, 'resident/2', '2', { enabled: true, until: 1e300 }), { status: 400 }, 'no date')
  t.match(await dnd(base, 'resident/2', '2', { enabled: true, mode: 'night' }), { status: 400 }, 'unknown fields are refused')
  t.match(await request(base, 'PUT', '/api/residents/2/dnd', { as: 'resident/2', raw: JSON.stringify({ enabled: true, pad: 'x'.repeat(2_000_000) }) }), { status: 413 }, 'huge body')
})

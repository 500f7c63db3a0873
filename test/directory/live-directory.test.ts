import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { request } from '../helpers/http'
import { connect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { admin, closed, directoryCopy } from './helpers'

t.test('only services administer the directory; what they read carries no secret', async (t) => {
  const { httpUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  for (const who of ['resident/2', 'device/1', 'client/meter-gw']) {
    t.equal((await request(httpUrl, 'GET', '/api/admin/directory', { as: who })).status, 403, `${who} may not read it`)
    const put = await request(httpUrl, 'PUT', '/api/admin/residents/9', { as: who, body: {} })
    t.match(put, { status: 403, body: { error: 'forbidden' } }, `${who} may not change it`)
  }
  t.equal((await request(httpUrl, 'GET', '/api/admin/directory')).status, 401)
  const read = await admin(httpUrl, 'GET', '/api/admin/directory')
  t.equal(read.status, 200)
  t.same(read.body.data.residents.map((r: { id: string }) => r.id), ['2', '3', '4', '6'])
  const text = JSON.stringify(read.body.data)
  t.notMatch(text, /secret|token/, 'no secret, no token field')
})

t.test('a resident added over HTTP signs in at once, its secret stored only as a hash, and the change survives a restart', async (t) => {
  const file = directoryCopy(t)
  const first = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  const put = await admin(first.httpUrl, 'PUT', '/api/admin/residents/7', { secret: 'res-7-secret' })
  t.same(put.body, { code: 0, message: 'success', data: { id: '7' } }, 'the secret is not returned')
  t.match(await admin(first.httpUrl, 'PUT', '/api/admin/households/101', { residents: ['2', '3', '7'] }), { status: 200, body: { data: { number: '101', residents: ['2', '3', '7'] } } })
  await t.resolves(connect(t, first.mqttUrl, 'resident/7', { secret: 'res-7-secret' }).then((seven) => seven.end()), 'the new resident signs in')
  const stored = readFileSync(file, 'utf8')
  t.notOk(stored.includes('res-7-secret'), 'the clear secret is not in the file')
  t.match(JSON.parse(stored).residents.find((r: { id: string }) => r.id === '7'), { secret: /^scrypt\$/ })

  await first.node.close()
  const second = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  await t.resolves(connect(t, second.mqttUrl, 'resident/7', { secret: 'res-7-secret' }), 'kept across the restart')
  t.same((await admin(second.httpUrl, 'GET', '/api/admin/directory')).body.data.households[0], { number: '101', residents: ['2', '3', '7'] })
})

t.test('a put naming a household or resident that does not exist is a 400 and changes nothing', async (t) => {
  const file = directoryCopy(t)
  const { httpUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  const before = readFileSync(file, 'utf8')
  const household = await admin(httpUrl, 'PUT', '/api/admin/households/101', { residents: ['2', 'ghost'] })
  t.match(household, { status: 400, body: { error: 'invalid_request', message: /residents\[1\] names resident "ghost", which does not exist/ } })
  const device = await admin(httpUrl, 'PUT', '/api/admin/devices/9', { secret: 'x', households: ['999'] })
  t.match(device, { status: 400, body: { message: /households\[0\] names household "999"/ } })
  const badField = await admin(httpUrl, 'PUT', '/api/admin/residents/9', { secret: 'x', flat: '4B' })
  t.match(badField, { status: 400, body: { message: /flat is not a known field/ } })
  const tooLong = await admin(httpUrl, 'PUT', `/api/admin/residents/${'r'.repeat(24)}`, { secret: 'x' })
  t.match(tooLong, { status: 400, body: { message: /exceed 32 characters/ } })
  t.match(await admin(httpUrl, 'DELETE', '/api/admin/residents/ghost'), { status: 404, body: { error: 'not_found' } })
  t.equal(readFileSync(file, 'utf8'), before, 'the file is untouched')
  t.same((await admin(httpUrl, 'GET', '/api/admin/directory')).body.data.households[0], { number: '101', residents: ['2', '3'] })
})

t.test('a bad replace changes nothing; a dry run reports the diff and changes nothing', async (t) => {
  const file = directoryCopy(t)
  const { httpUrl, mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  const before = readFileSync(file, 'utf8')
  const current = (await admin(httpUrl, 'GET', '/api/admin/directory')).body.data
  const bad = { ...current, households: [...current.households, { number: '301', residents: ['nobody'] }] }
  const refused = await admin(httpUrl, 'PUT', '/api/admin/directory', bad)
  t.match(refused, { status: 400, body: { message: /households\[3\]\.residents\[0\] names resident "nobody"/ } })
  const extra = await admin(httpUrl, 'PUT', '/api/admin/directory', { ...current, devices: [{ id: '1', households: [], location: 'gate' }] })
  t.match(extra, { status: 400, body: { message: /devices\[0\]\.location is not a known field/ } })

  const next = { ...current, residents: [...current.residents.filter((r: { id: string }) => r.id !== '6'), { id: '8', secret: 'res-8-secret' }], households: current.households.map((h: { number: string }) => (h.number === '201' ? { number: '201', residents: ['8'] } : h)) }
  const dry = await admin(httpUrl, 'PUT', '/api/admin/directory?dry_run=true', next)
  t.same(dry.body.data, { added: ['resident/8'], removed: ['resident/6'], changed: ['household/201'] })
  t.equal(readFileSync(file, 'utf8'), before, 'nothing written')
  await t.rejects(connect(t, mqttUrl, 'resident/8', { secret: 'res-8-secret' }), /Bad username or password/, 'nothing applied')

  const applied = await admin(httpUrl, 'PUT', '/api/admin/directory', next)
  t.same(applied.body.data, dry.body.data, 'applied as announced')
  await t.resolves(connect(t, mqttUrl, 'resident/8', { secret: 'res-8-secret' }), 'connects')
  await t.resolves(connect(t, mqttUrl, 'device/1'), 'entries sent without a secret keep theirs')
})

t.test('a deleted resident is disconnected and refused; a re-keyed device too, and its new secret works', async (t) => {
  const { httpUrl, mqttUrl, wsUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  const resident = await connect(t, mqttUrl, 'resident/4')
  const residentWs = await connect(t, wsUrl, 'resident/4')
  const other = await connect(t, mqttUrl, 'resident/2')
  t.same((await admin(httpUrl, 'DELETE', '/api/admin/residents/4')).body.data, { deleted: 'resident/4' })
  await closed(resident)
  await closed(residentWs)
  await t.rejects(connect(t, mqttUrl, 'resident/4'), /Bad username or password/)
  t.same((await admin(httpUrl, 'GET', '/api/admin/directory')).body.data.households[1], { number: '102', residents: [] }, 'it left its household')

  const device = await connect(t, mqttUrl, 'device/1')
  t.match(await admin(httpUrl, 'PUT', '/api/admin/devices/1', { secret: 'door-1-new', households: ['101', '102'] }), { status: 200, body: { data: { id: '1', households: ['101', '102'] } } })
  await closed(device)
  await t.rejects(connect(t, mqttUrl, 'device/1'), /Bad username or password/, 'the old secret is refused')
  t.equal((await request(httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'device/1' })).status, 401, 'over HTTP too')
  await t.resolves(connect(t, mqttUrl, 'device/1', { secret: 'door-1-new' }), 'connects')
  t.ok(other.client.connected, 'other identities keep their connections')
})

t.test('household changes apply to the next call; a deleted device\'s call ends forced with device_removed', async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  await admin(httpUrl, 'PUT', '/api/admin/households/101', { residents: ['3'] })
  const first = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', household_number: '101' } })
  t.same(first.body.data.target_resident_ids, ['3'])
  await request(httpUrl, 'POST', '/api/mqtt/end-session', { as: 'service/ops', body: { call_id: first.body.data.call_id } })

  const service = await connect(t, mqttUrl, 'service/ops')
  await service.subscribe('calls/+/events')
  const call = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1' } })
  const callId = call.body.data.call_id as string
  t.same(call.body.data.target_resident_ids, ['3', '4'])
  await admin(httpUrl, 'DELETE', '/api/admin/devices/1')
  const ended = await service.waitFor((m) => m.topic === `calls/${callId}/events` && m.json.status === 'ended')
  t.match(ended.json, { status: 'ended' })
  const stored = await request(httpUrl, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'service/ops' })
  t.match(stored.body.data, { status: 'ended', end_reason: 'forced', ended_by: 'system' })
  t.match(stored.body.data.history.at(-1), { action: 'forced', reason: 'device_removed' })
})

t.test('an integration client whose filters change is disconnected and gets the new rights when it reconnects', async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  const gateway = await connect(t, mqttUrl, 'client/meter-gw')
  t.same(await gateway.subscribe('water/#'), [0x80], 'not yet allowed')
  const put = await admin(httpUrl, 'PUT', '/api/admin/clients/meter-gw', { publish: ['meters/#'], subscribe: ['meters/#', 'water/#'] })
  t.same(put.body.data, { name: 'meter-gw', publish: ['meters/#'], subscribe: ['meters/#', 'water/#'] })
  await closed(gateway)
  const again = await connect(t, mqttUrl, 'client/meter-gw')
  t.same(await again.subscribe('water/#'), [1], 'the new filter is granted, with the same secret')
})

t.test('a change that cannot be written back is refused and not applied', async (t) => {
  const file = directoryCopy(t)
  const { httpUrl, mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: file })
  rmSync(path.dirname(file), { recursive: true, force: true })
  const put = await admin(httpUrl, 'PUT', '/api/admin/residents/7', { secret: 'res-7-secret' })
  t.match(put, { status: 500, body: { error: 'internal', message: /cannot be written \(ENOENT\); nothing was changed/ } })
  await t.rejects(connect(t, mqttUrl, 'resident/7', { secret: 'res-7-secret' }), /Bad username or password/)
})

t.test('a deleted resident\'s ringing leg ends cancelled with reason removed; the others ring on, and the last leg ends the call', async (t) => {
  const { httpUrl, mqttUrl } = await startTestNode(t, { INTERCOM_DIRECTORY: directoryCopy(t) })
  const door = await connect(t, mqttUrl, 'device/1')
  await door.subscribe('devices/1/#')
  const call = await request(httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', household_number: '101' } })
  const callId = call.body.data.call_id as string
  t.same(call.body.data.target_resident_ids, ['2', '3'])

  await admin(httpUrl, 'DELETE', '/api/admin/residents/3')
  const afterThree = await waitForLeg(httpUrl, callId, '3', 'cancelled')
  t.match(afterThree, { status: 'ringing' }, 'resident 2 still rings')
  t.match(afterThree.history.at(-1), { reason: 'removed' })

  const told = await door.waitFor((m) => m.topic === 'devices/1/calls/control' && m.json.call_id === callId && m.json.action === 'cancelled')
  t.match(told.json, { reason: 'removed', resident_id: '3' }, 'the door hears whose ring stopped, and why')

  await admin(httpUrl, 'DELETE', '/api/admin/residents/2')
  const ended = await waitForLeg(httpUrl, callId, '2', 'cancelled')
  t.match(ended, { status: 'ended' }, 'no leg rings any more: the call is over')
})

/** The call as a service reads it, once the resident's leg is in `state`. */
async function waitForLeg (httpUrl: string, callId: string, residentId: string, state: string): Promise<{ status: string, history: Array<{ reason: string | null }> }> {
  for (let tries = 0; tries < 100; tries++) {
    const session = (await request(httpUrl, 'GET', `/api/mqtt/session?call_id=${callId}`, { as: 'service/ops' })).body.data
    if (session.legs.some((l: { resident_id: string, state: string }) => l.resident_id === residentId && l.state === state)) return session
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`leg ${residentId} of ${callId} never reached ${state}`)
}

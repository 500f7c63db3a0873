import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { basic, request, type HttpResult } from '../helpers/http'
import { startTestNode } from '../helpers/node'

/**
 * `GET /api/calls` over real HTTP: rights, `missed`, filters, cursors and bad
 * input. Re-run on Redis by test/on-redis/call-records.test.ts.
 */

type Test = tap.Test
type Call = Record<string, any>

/** Door 7 serves flat 101 too, so that a resident of 101 can be busy in its call when door 1 rings. */
const DIRECTORY = {
  devices: [
    { id: '1', secret: 'd1', households: ['101', '102'] },
    { id: '5', secret: 'd5', households: ['201'] },
    { id: '7', secret: 'd7', households: ['101'] }
  ],
  households: [
    { number: '101', residents: ['2', '3'] },
    { number: '102', residents: ['4'] },
    { number: '201', residents: ['6'] }
  ],
  residents: ['2', '3', '4', '6'].map((id) => ({ id, secret: `r${id}` })),
  services: [{ name: 'ops', token: 'ops-token' }],
  clients: [{ name: 'gw', secret: 'gw', publish: ['meters/#'], subscribe: ['meters/#'] }]
}

const AUTH: Record<string, string> = {
  'device/1': basic('device/1', 'd1'),
  'device/5': basic('device/5', 'd5'),
  'device/7': basic('device/7', 'd7'),
  'resident/2': basic('resident/2', 'r2'),
  'resident/3': basic('resident/3', 'r3'),
  'resident/4': basic('resident/4', 'r4'),
  'resident/6': basic('resident/6', 'r6'),
  'service/ops': 'Bearer ops-token',
  'client/gw': basic('client/gw', 'gw')
}

interface World {
  base: string
  /** Every call, newest first, as the service lists it. */
  calls: Call[]
  byName: Record<string, Call>
}

function directoryFile (t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-records-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'directory.json')
  writeFileSync(file, JSON.stringify(DIRECTORY))
  return file
}

async function ok (what: string, result: Promise<HttpResult>): Promise<Call> {
  const r = await result
  if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.data
}

function list (base: string, as: string, query = ''): Promise<HttpResult> {
  return request(base, 'GET', `/api/calls${query === '' ? '' : `?${query}`}`, { as: AUTH[as] ?? as })
}

/**
 * Seven calls, one of each outcome that matters for rights and `missed`:
 * rejected by all, cancelled by the door, answered elsewhere, a resident's own
 * timeout, live and connected, live and ringing, and one with a busy resident.
 */
async function world (t: Test): Promise<World> {
  const node = await startTestNode(t, { INTERCOM_DIRECTORY: directoryFile(t) })
  const base = node.httpUrl
  const call = (door: string, body: Record<string, unknown> = {}): Promise<Call> =>
    ok(`ring from ${door}`, request(base, 'POST', '/api/mqtt/call', { as: AUTH[`device/${door}`], body: { device_device_id: door, ...body } }))
  const act = (as: string, callId: string, action: string): Promise<Call> => {
    const side = as.startsWith('device/') ? 'device' : 'resident'
    return ok(`${as} ${action}`, request(base, 'POST', `/api/mqtt/controller/${side}`, { as: AUTH[as], body: { call_info: { call_id: callId, action } } }))
  }
  const byName: Record<string, Call> = {}
  const rejected = await call('1', { household_number: '101' })
  await act('resident/2', rejected.call_id, 'rejected')
  byName.rejected = await act('resident/3', rejected.call_id, 'rejected')
  const cancelled = await call('1', { household_number: '101' })
  byName.cancelled = await act('device/1', cancelled.call_id, 'cancelled')
  const elsewhere = await call('1')
  await act('resident/3', elsewhere.call_id, 'answered')
  byName.elsewhere = await act('device/1', elsewhere.call_id, 'hangup')
  const timedOut = await call('1', { household_number: '102' })
  byName.timedOut = await act('resident/4', timedOut.call_id, 'timeout')
  const connected = await call('7')
  byName.connected = await act('resident/2', connected.call_id, 'answered')
  byName.ringing = await call('5')
  const busy = await call('1', { household_number: '101' })
  byName.busy = await act('resident/3', busy.call_id, 'rejected')
  const all = await ok('list all', list(base, 'service/ops', 'limit=200'))
  return { base, calls: all.items, byName }
}

const idsOf = (calls: Call[]): string[] => calls.map((c) => c.call_id)
/** The world's calls that pass `keep`, in listing order. */
const where = (w: World, keep: (c: Call) => boolean): string[] => idsOf(w.calls.filter(keep))
const name = (w: World, id: string): string => Object.entries(w.byName).find(([, c]) => c.call_id === id)?.[0] ?? id

/** Follows next_cursor to the end. */
async function listAll (t: Test, base: string, as: string, query: string): Promise<Call[]> {
  const items: Call[] = []
  let cursor: string | null = null
  for (let page = 0; page < 100; page++) {
    const r = await list(base, as, `${query}${cursor === null ? '' : `&cursor=${cursor}`}`)
    t.equal(r.status, 200, `${as} ${query}: page ${page + 1}`)
    items.push(...r.body.data.items)
    cursor = r.body.data.next_cursor
    if (cursor === null) return items
  }
  throw new Error('the listing never ended')
}

t.test('GET /api/calls', async (t) => {
  const w = await world(t)
  const { base } = w

  t.test('a service sees every call, newest first, without media credentials', async (t) => {
    t.equal(w.calls.length, 7)
    const order = [...w.calls].sort((a, b) => b.start_time - a.start_time || (b.call_id < a.call_id ? -1 : 1))
    t.same(idsOf(w.calls), idsOf(order), 'newest first')
    t.same(new Set(idsOf(w.calls)), new Set(Object.values(w.byName).map((c) => c.call_id)))
    for (const c of w.calls) {
      t.notOk('tencen_rtc' in c || 'rtc' in c, `${name(w, c.call_id)}: no credentials`)
      t.notOk('missed' in c, 'missed is for residents')
      t.notOk('version' in c || 'deadlines' in c, 'no store bookkeeping')
    }
    const ended = w.calls.find((c) => c.call_id === w.byName.elsewhere?.call_id)
    t.match(ended, { status: 'ended', end_reason: 'hangup', resident_id: '3', device_device_id: '1', provider: 'trtc' })
    t.equal(ended?.history.length, 3, 'with its history')
  })

  t.test('a device sees its own calls; naming another device is refused', async (t) => {
    t.same(idsOf(await listAll(t, base, 'device/1', 'limit=2')), where(w, (c) => c.device_device_id === '1'))
    t.same(idsOf(await listAll(t, base, 'device/5', 'device_id=5')), [w.byName.ringing?.call_id])
    const refused = await list(base, 'device/1', 'device_id=5')
    t.equal(refused.status, 403)
    t.equal(refused.body.error, 'forbidden')
    t.match(refused.body.message, /only its own calls/)
  })

  t.test('a resident sees the calls that rang it, busy ones excluded, each with missed', async (t) => {
    const missed = async (as: string): Promise<Record<string, boolean>> =>
      Object.fromEntries((await listAll(t, base, as, 'limit=3')).map((c) => [name(w, c.call_id), c.missed]))
    t.same(await missed('resident/2'), { rejected: false, cancelled: true, elsewhere: false, connected: false },
      'rejected by it: not missed; cancelled by the door: missed; answered by another: not missed; the busy call is not listed')
    t.same(await missed('resident/3'), { rejected: false, cancelled: true, elsewhere: false, connected: false, busy: false })
    t.same(await missed('resident/4'), { elsewhere: false, timedOut: true }, 'its own leg timed out: missed')
    t.same(await missed('resident/6'), { ringing: false }, 'still ringing: not missed yet')
    t.same(idsOf(await listAll(t, base, 'resident/2', 'resident_id=2&status=connected')), [w.byName.connected?.call_id])
    const refused = await list(base, 'resident/2', 'resident_id=3')
    t.equal(refused.status, 403)
    t.match(refused.body.message, /only the calls that rang it/)
  })

  t.test('an integration client may not list calls; nobody may without credentials', async (t) => {
    t.match(await list(base, 'client/gw'), { status: 403, body: { error: 'forbidden' } })
    const anonymous = await request(base, 'GET', '/api/calls')
    t.equal(anonymous.status, 401)
  })

  t.test('each filter', async (t) => {
    const check = async (query: string, keep: (c: Call) => boolean): Promise<void> => {
      t.same(idsOf(await listAll(t, base, 'service/ops', `limit=2&${query}`)), where(w, keep), query)
    }
    await check('device_id=1', (c) => c.device_device_id === '1')
    await check('resident_id=2', (c) => c.legs.some((l: Call) => l.resident_id === '2' && l.state !== 'busy'))
    await check('household_number=101', (c) => c.household_number === '101')
    await check('status=ringing', (c) => c.status === 'ringing')
    await check('status=connected', (c) => c.status === 'connected')
    await check('status=ended', (c) => c.status === 'ended')
    await check('end_reason=rejected', (c) => c.end_reason === 'rejected')
    await check('end_reason=timeout', (c) => c.end_reason === 'timeout')
    await check('device_id=1&status=ended&end_reason=rejected', (c) => c.device_device_id === '1' && c.end_reason === 'rejected')
    const middle = w.calls[3] as Call
    await check(`since=${middle.start_time}`, (c) => c.start_time >= middle.start_time)
    await check(`until=${middle.start_time}`, (c) => c.start_time < middle.start_time)
    await check(`since=${middle.start_time}&until=${middle.start_time + 1}`, (c) => c.start_time === middle.start_time)
  })

  t.test('limit and cursor: pages chain to the end, the default page is 50', async (t) => {
    const first = await list(base, 'service/ops', 'limit=3')
    t.equal(first.body.data.items.length, 3)
    t.type(first.body.data.next_cursor, 'string')
    const second = await list(base, 'service/ops', `limit=3&cursor=${first.body.data.next_cursor}`)
    t.same(idsOf([...first.body.data.items, ...second.body.data.items]), idsOf(w.calls.slice(0, 6)))
    const whole = await list(base, 'service/ops')
    t.equal(whole.body.data.items.length, 7)
    t.equal(whole.body.data.next_cursor, null)
  })

  t.test('bad values answer 400 naming the field', async (t) => {
    const cases: Array<[string, RegExp]> = [
      ['limit=0', /^limit must be >= 1/],
      ['limit=201', /^limit must be <= 200/],
      ['limit=ten', /^limit must be integer/],
      ['since=-5', /^since must be integer/],
      ['until=1.5', /^until must be integer/],
      ['since=1&since=2', /^since must be integer/],
      ['status=lost', /^status must be equal to one of the allowed values \(ringing, connected, ended\)/],
      ['end_reason=bored', /^end_reason must be equal to one of the allowed values/],
      ['device_id=a%2Fb', /^device_id must match pattern/],
      ['cursor=%21%21', /^cursor must match pattern/],
      [`cursor=${Buffer.from('not a cursor').toString('base64url')}`, /^cursor is not one this server gave/],
      ['colour=red', /^colour is not a known field/]
    ]
    for (const [query, message] of cases) {
      const r = await list(base, 'service/ops', query)
      t.equal(r.status, 400, query)
      t.equal(r.body.error, 'invalid_request', query)
      t.match(r.body.message, message, query)
    }
  })
})

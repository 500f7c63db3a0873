import t from 'tap'
import { request } from '../helpers/http'
import { startTestNode } from '../helpers/node'

/** Without Redis, a door looping ring/cancel cannot grow the node's memory past MEMORY_MAX_ENDED_CALLS. */
t.test('the memory store keeps at most MEMORY_MAX_ENDED_CALLS ended calls, dropping the oldest; active calls stay', async (t) => {
  const { httpUrl: base } = await startTestNode(t, { MEMORY_MAX_ENDED_CALLS: '3' })
  const ok = async (as: string, path: string, body: unknown): Promise<Record<string, any>> => {
    const r = await request(base, 'POST', path, { as, body })
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body.data
  }
  const active = await ok('device/5', '/api/mqtt/call', { device_device_id: '5' })
  const looped: string[] = []
  for (let i = 0; i < 6; i++) {
    const call = await ok('device/1', '/api/mqtt/call', { device_device_id: '1' })
    await ok('device/1', '/api/mqtt/controller/device', { call_info: { call_id: call.call_id, action: 'cancelled' } })
    looped.push(call.call_id)
  }
  const statuses = await Promise.all(looped.map(async (id) => (await request(base, 'GET', `/api/mqtt/session?call_id=${id}`, { as: 'service/ops' })).status))
  t.same(statuses, [404, 404, 404, 200, 200, 200], 'the three oldest ended calls are gone')
  const kept = await request(base, 'GET', `/api/mqtt/session?call_id=${active.call_id}`, { as: 'service/ops' })
  t.match(kept, { status: 200, body: { data: { status: 'ringing' } } }, 'the active call, older than all of them, stays')
})

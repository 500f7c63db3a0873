import t from 'tap'
import { observe } from '../../lib/webhooks/producer'

const session = { call_id: 'call-20261204-0123456789abcdef', status: 'ended', legs: [], history: [] }

t.test('an ended call is call.ended once: a door\'s unlock_result after the end is not a second end', async (t) => {
  const end = observe('calls/call-20261204-0123456789abcdef/events', { action: 'unlocked', status: 'ended', seq: 4, session })
  t.same(end.map((o) => o.kind === 'event' ? o.type : o.kind), ['call.ended'])
  const result = observe('calls/call-20261204-0123456789abcdef/events', { action: 'unlock_result', ok: true, status: 'ended', seq: 5, session })
  t.same(result, [], 'nothing for webhooks')
})

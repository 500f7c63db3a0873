import t from 'tap'
import { nextAttemptAt } from '../../lib/webhooks/backoff'

const POLICY = { baseMs: 1000, maxDelayMs: 8000, windowMs: 60_000 }

t.test('retries wait twice as long each time, up to the longest wait', async (t) => {
  const waits = [1, 2, 3, 4, 5, 6].map((attempts) => (nextAttemptAt(POLICY, 0, attempts, 10_000) ?? NaN) - 10_000)
  t.same(waits, [1000, 2000, 4000, 8000, 8000, 8000])
})

t.test('no retry falls outside the window after the event', async (t) => {
  t.equal(nextAttemptAt(POLICY, 0, 1, 59_000), 60_000, 'the last one may land on the window\'s end')
  t.equal(nextAttemptAt(POLICY, 0, 1, 59_001), null, 'one past it gives up')
  t.equal(nextAttemptAt({ ...POLICY, windowMs: 0 }, 0, 1, 0), null, 'a zero window means the first attempt is the only one')
})

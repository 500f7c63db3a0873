import t from 'tap'
import { ConnectionCounts } from '../../lib/limits/connection-gate'
import { createMemoryRateLimiter, enforceRateLimit } from '../../lib/limits/rate-limiter'

/** The bookkeeping behind the limits, without sockets or Redis: fast enough to run against every mutant. */

t.test('connection counts: caps per address and in total, places freed on close', async (t) => {
  const counts = new ConnectionCounts({ maxTotal: 3, maxPerAddress: 2 })
  t.equal(counts.open('a'), null)
  t.equal(counts.open('a'), null)
  t.equal(counts.open('a'), 'address_full', 'the third from one address')
  t.equal(counts.total, 2, 'a refused connection is not counted')
  t.equal(counts.open('b'), null)
  t.equal(counts.open('c'), 'node_full', 'the fourth in all')
  t.equal(counts.open('a'), 'node_full', 'a full node is reported before a full address')
  counts.close('a')
  t.equal(counts.total, 2)
  t.equal(counts.open('a'), null, 'a closed connection frees its place at its address')
  counts.close('unknown')
  t.equal(counts.total, 3, 'closing an address never seen changes nothing')
  counts.close('b')
  counts.close('b')
  t.equal(counts.total, 2, 'closing an address twice counts once')
  counts.close('a')
  counts.close('a')
  t.equal(counts.total, 0)
  t.equal(counts.open('a'), null)
  t.equal(counts.open('a'), null, 'an address closed to zero starts again from zero')
})

t.test('memory rate limiter: perSecond actions per key in each one-second window', async (t) => {
  let clock = Date.UTC(2024, 0, 2, 3, 4, 5, 900)
  const limiter = createMemoryRateLimiter({ perSecond: 2, now: () => clock })
  t.same([await limiter.take('a'), await limiter.take('a'), await limiter.take('a')], [true, true, false], 'the third in a second is refused')
  t.equal(await limiter.take('b'), true, 'each key has its own allowance')
  clock += 99
  t.equal(await limiter.take('a'), false, 'still the same window')
  clock += 1
  t.same([await limiter.take('a'), await limiter.take('a'), await limiter.take('a')], [true, true, false], 'a new second, a new allowance')
  await limiter.close()
})

t.test('enforceRateLimit throws 429 rate_limited once the allowance is used', async (t) => {
  const limiter = createMemoryRateLimiter({ perSecond: 1, now: () => 0 })
  await t.resolves(enforceRateLimit(limiter, 'device/1', 1))
  await t.rejects(enforceRateLimit(limiter, 'device/1', 1), { code: 'rate_limited', message: /more than 1 control actions per second from device\/1; slow down/ })
})

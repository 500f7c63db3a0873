import t from 'tap'
import { Redis } from 'ioredis'
import { killNode, startTwoNodes } from '../cluster/helpers'
import { request } from '../helpers/http'
import { requireRedis, startRedis } from '../helpers/redis'
import { startReceiver } from './receiver'

const SECRET = 'a-webhook-secret-for-tests'
/** A short lease (timeout + 5 s) and quick retries, so the survivor takes over soon. */
const ENV = { WEBHOOK_RETRY_BASE_MS: '100', WEBHOOK_TIMEOUT_MS: '1000' }

/** Resolves once `check` holds; polls Redis, which the test reads as an observer. */
async function until (check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const giveUp = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > giveUp) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

if (requireRedis(t)) {
  t.test('a delivery queued by a node that dies is delivered by another node', async (t) => {
    const redis = await startRedis(t)
    const [a, b] = await startTwoNodes(t, redis.url, ENV)
    // a port with nobody listening yet: the receiver is down
    const probe = await startReceiver(t, SECRET)
    await probe.close()
    const created = await request(a.httpUrl, 'POST', '/api/webhooks', { as: 'service/ops', body: { url: probe.url, events: ['call.ringing'], secret: SECRET } })
    t.equal(created.status, 200)

    const started = await request(a.httpUrl, 'POST', '/api/mqtt/call', { as: 'device/1', body: { device_device_id: '1', target_resident_id: '2' } })
    t.equal(started.status, 200, 'node A rang the call, so node A queues its webhook event')
    const callId = started.body.data.call_id as string
    const observer = new Redis(redis.url)
    t.teardown(() => observer.disconnect())
    await until(async () => await observer.zcard('intercom:{webhooks}:due') === 1)

    await killNode(a)
    const receiver = await startReceiver(t, SECRET, () => 200, probe.port)
    const delivered = await receiver.waitFor((x) => x.body.data.call_id === callId, 30_000)
    t.match(delivered, { type: 'call.ringing', signatureValid: true, answered: 200 }, 'node B delivered it, signed')
    await until(async () => await observer.zcard('intercom:{webhooks}:due') === 0)
    t.same(receiver.attempts.map((x) => x.type), ['call.ringing'], 'and then nothing is left to deliver')
    t.ok(b.process.child.exitCode === null, 'node B is still up')
  })
}

import t from 'tap'
import { connect, type TestClient } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { requireRedis, startRedis } from '../helpers/redis'
import { flush } from '../helpers/wait'

const LIMITS = { MQTT_RETAINED_MAX_BYTES: '64', MQTT_RETAINED_MAX_PER_IDENTITY: '2', MQTT_RETAINED_MAX_TOTAL: '3' }

function publishRetained (client: TestClient, topic: string, payload: string): Promise<void> {
  return client.client.publishAsync(topic, payload, { qos: 1, retain: true }).then(() => undefined)
}

/**
 * What a subscriber arriving now receives as retained, by topic: the expected
 * messages are waited for, then a flush lets any unexpected one arrive.
 */
async function retainedNow (t: tap.Test, mqttUrl: string, filter: string, expected: Record<string, string>): Promise<Record<string, string>> {
  const late = await connect(t, mqttUrl, 'service/ops', { clientId: `late-${Math.random()}` })
  await late.subscribe(filter)
  for (const [topic, payload] of Object.entries(expected)) {
    await late.waitFor((m) => m.retain && m.topic === topic && m.payload.toString() === payload).catch(() => {})
  }
  await flush(late, late)
  const seen: Record<string, string> = {}
  for (const m of late.messages) if (m.retain) seen[m.topic] = m.payload.toString()
  await late.end()
  return seen
}

function retainedSuite (t: tap.Test, env: () => Record<string, string>): void {
  t.test('a client\'s retained publishes are bounded in size and count; an empty one frees a slot', async (t) => {
    const { mqttUrl } = await startTestNode(t, { ...env(), ...LIMITS })
    const gw = await connect(t, mqttUrl, 'client/meter-gw')
    const ops = await connect(t, mqttUrl, 'service/ops')
    let expected: Record<string, string>
    await publishRetained(gw, 'meters/a', 'x'.repeat(65))
    expected = {}
    t.same(await retainedNow(t, mqttUrl, 'meters/#', expected), expected, 'a payload over the size bound is not retained')
    await publishRetained(gw, 'meters/a', 'a1')
    await publishRetained(gw, 'meters/b', 'b1')
    await publishRetained(gw, 'meters/c', 'c1')
    t.ok(gw.client.connected, 'a refused retained publish is acknowledged and the client kept')
    expected = { 'meters/a': 'a1', 'meters/b': 'b1' }
    t.same(await retainedNow(t, mqttUrl, 'meters/#', expected), expected, 'the third topic is past the per-identity bound')
    await publishRetained(gw, 'meters/a', 'a2')
    expected = { 'meters/a': 'a2', 'meters/b': 'b1' }
    t.same(await retainedNow(t, mqttUrl, 'meters/#', expected), expected, 'replacing its own retained message is fine')
    await publishRetained(gw, 'meters/b', '')
    await publishRetained(gw, 'meters/c', 'c2')
    expected = { 'meters/a': 'a2', 'meters/c': 'c2' }
    t.same(await retainedNow(t, mqttUrl, 'meters/#', expected), expected, 'an empty retained publish freed a slot')
    await publishRetained(ops, 'system/one', 'o1')
    await publishRetained(ops, 'system/two', 'o2')
    expected = { 'system/one': 'o1' }
    t.same(await retainedNow(t, mqttUrl, 'system/#', expected), expected, 'past the total bound, another identity is refused too')
  })
}

retainedSuite(t, () => ({}))

if (requireRedis(t)) {
  let url = ''
  t.before(async () => { url = (await startRedis(t)).url })
  t.test('on Redis', async (t) => { retainedSuite(t, () => ({ REDIS_URL: url })) })
}

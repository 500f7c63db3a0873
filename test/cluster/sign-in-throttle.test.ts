import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from '../helpers/http'
import { rawConnect } from '../helpers/mqtt'
import { startTestNode } from '../helpers/node'
import { requireRedis, startRedis } from '../helpers/redis'

const signIn = (port: number, username: string, password: string) => rawConnect(port, { clientId: '', clean: true, username, password })

t.test('failed sign-ins on one node throttle the identity on every node of the cluster', async (t) => {
  if (!requireRedis(t)) return
  const redis = await startRedis(t)
  const env = { REDIS_URL: redis.url, SIGN_IN_FAILURES_PER_IDENTITY: '3', SIGN_IN_THROTTLE_MS: '1500' }
  const [a, b] = await Promise.all([startTestNode(t, env), startTestNode(t, env)])
  for (let i = 0; i < 3; i++) t.equal(await signIn(a.node.ports.mqtt, 'resident/2', 'guess'), 4, `wrong secret ${i + 1} on node A`)
  t.equal(await signIn(b.node.ports.mqtt, 'resident/2', 'res-2-secret'), 5, 'node B refuses the right secret while throttled')
  const http = await request(b.httpUrl, 'GET', '/api/mqtt/device/status?device_id=1', { as: 'resident/2' })
  t.equal(http.status, 429, 'over HTTP too')
  t.equal(await signIn(b.node.ports.mqtt, 'resident/3', 'res-3-secret'), 0, 'another identity signs in on node B')
  await sleep(Number(http.headers.get('retry-after')) * 1000)
  t.equal(await signIn(b.node.ports.mqtt, 'resident/2', 'res-2-secret'), 0, 'the right secret works on node B after the window')
})

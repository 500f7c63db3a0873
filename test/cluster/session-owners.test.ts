import t from 'tap'
import { connect } from '../helpers/mqtt'
import { requireRedis, startRedis } from '../helpers/redis'
import { startClusterNode } from './helpers'

if (requireRedis(t)) {
  t.test('a persistent session made on one node cannot be taken by another identity on another node', async (t) => {
    const redis = await startRedis(t)
    const a = await startClusterNode(t, redis.url, 'node-a')
    const b = await startClusterNode(t, redis.url, 'node-b')
    const door = await connect(t, a.mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
    await t.rejects(connect(t, b.mqttUrl, 'resident/2', { clientId: 'door-1', clean: false }), /Identifier rejected/)
    await t.rejects(connect(t, b.mqttUrl, 'resident/2', { clientId: 'door-1', clean: true }), /Identifier rejected/)
    t.ok(door.client.connected, 'the door keeps its connection on node A')
    const closed = new Promise<void>((resolve) => door.client.once('close', () => resolve()))
    const moved = await connect(t, b.mqttUrl, 'device/1', { clientId: 'door-1', clean: false })
    await closed
    t.ok(moved.client.connected, 'the door itself may move its session to node B')
  })
}

import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Aedes, type AedesPublishPacket } from 'aedes'
import { Redis } from 'ioredis'
import pino from 'pino'
import { createRedisBrokerParts, type RedisBrokerParts } from '../../lib/cluster/redis-broker-parts'
import { requireRedis, startRedis, type RedisServer } from '../helpers/redis'

interface Node { broker: Aedes, parts: RedisBrokerParts, close: () => Promise<void> }

async function startBroker (url: string): Promise<Node> {
  const parts = createRedisBrokerParts({ address: url, logger: pino({ level: 'silent' }) })
  const broker = await Aedes.createBroker({ id: `node-${randomBytes(3).toString('hex')}`, ...parts })
  return {
    broker,
    parts,
    close: async () => {
      await new Promise<void>(resolve => broker.close(() => resolve()))
      await parts.close()
    }
  }
}

/**
 * Connections to the server other than `control` itself, once none is left or after
 * a few seconds: the server notices a closed socket a moment after the client.
 */
async function otherClients (control: Redis): Promise<number> {
  let others = 0
  for (let tries = 0; tries < 100; tries++) {
    const list = await control.client('LIST') as string
    others = list.trim().split('\n').length - 1
    if (others === 0) break
    await sleep(50)
  }
  return others
}

if (requireRedis(t)) {
  let server: RedisServer
  t.before(async () => { server = await startRedis(t) })

  t.test('two brokers on one Redis route each other\'s messages, and close every connection', async t => {
    const control = new Redis(server.url)
    t.teardown(() => control.disconnect())
    const [a, b] = await Promise.all([startBroker(server.url), startBroker(server.url)])
    if (a === undefined || b === undefined) throw new Error('two brokers expected')
    t.equal(a.parts.heartbeatInterval, 1_000, 'a dead node is noticed in seconds')

    const received = new Promise<AedesPublishPacket>(resolve => {
      b.broker.subscribe('devices/1/status', (packet, done) => { resolve(packet); done() }, () => {
        a.broker.publish({ cmd: 'publish', topic: 'devices/1/status', payload: Buffer.from('{"online":true}'), qos: 0, retain: false, dup: false }, () => {})
      })
    })
    t.equal((await received).payload.toString(), '{"online":true}', 'published on one node, delivered on the other')

    await Promise.all([a.close(), b.close()])
    await a.parts.close()
    t.equal(await otherClients(control), 0, 'no connection left open; closing twice is harmless')
  })

  t.test('closing while Redis is down does not hang', async t => {
    const node = await startBroker(server.url)
    await server.stop()
    await node.close()
    await server.restart()
    t.pass('closed')
  })
}

import { createServer } from 'node:http'
import { once } from 'node:events'
import t from 'tap'
import { createOutboundGuard, parseNetworks, type OutboundGuard } from '../../lib/outbound/address-guard'
import { createWebhookSender } from '../../lib/webhooks/sender'
import { watchConnections } from '../push/connection-watch'
import { startReceiver } from './receiver'

const SECRET = 'a-webhook-secret-for-tests'
const allowing = createOutboundGuard({ allow: parseNetworks('127.0.0.1/32') })
const delivery = (url: string, id: string) => ({ url, secret: SECRET, id, type: 'call.ringing', body: JSON.stringify({ id, type: 'call.ringing', created_at: 0, data: {} }) })

t.test('deliveries to one receiver share a kept-alive connection, which close() ends', async (t) => {
  const receiver = await startReceiver(t, SECRET)
  const send = createWebhookSender({ timeoutMs: 5000, outbound: allowing })
  t.teardown(() => send.close())
  for (const id of ['d1', 'd2', 'd3']) t.same(await send(delivery(receiver.url, id)), { ok: true, outcome: '200' })
  t.same(receiver.attempts.map((a) => [a.id, a.signatureValid]), [['d1', true], ['d2', true], ['d3', true]], 'signed, in order')
  t.equal(receiver.connections.opened(), 1, 'one connection for three deliveries')
  send.close()
  await receiver.connections.allClosed()
  t.pass('close() ends the kept connection')
})

t.test('a name is looked up once, through the guard, and the checked address is the one connected to', async (t) => {
  const receiver = await startReceiver(t, SECRET)
  const looked: string[] = []
  // A name that first points to the receiver, then (rebinding) to a refused address; the system resolver knows it not at all.
  const rebinding: OutboundGuard = {
    ...allowing,
    lookup (hostname, options, callback) {
      looked.push(hostname)
      if (looked.length > 1) {
        callback(Object.assign(new Error(`${hostname}: 10.0.0.1 is a loopback, private, link-local or multicast address`), { code: 'EOUTBOUNDREFUSED' }), [])
        return
      }
      if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }])
      else callback(null, '127.0.0.1', 4)
    }
  }
  const send = createWebhookSender({ timeoutMs: 5000, outbound: rebinding })
  t.teardown(() => send.close())
  const url = receiver.url.replace('127.0.0.1', 'hooks.example.invalid')
  t.same(await send(delivery(url, 'd1')), { ok: true, outcome: '200' }, 'delivered to the address the guard checked: no second lookup')
  t.same(looked, ['hooks.example.invalid'])
  send.close()
  await receiver.connections.allClosed()
  t.same(await send(delivery(url, 'd2')), { ok: false, outcome: 'EOUTBOUNDREFUSED' }, 'a new connection looks the name up again, through the guard')
  t.same(receiver.attempts.map((a) => a.id), ['d1'])
})

t.test('with a kept-alive connection open, a refused address is still refused', async (t) => {
  const receiver = await startReceiver(t, SECRET)
  let guard = allowing
  const outbound: OutboundGuard = {
    refusal: (address) => guard.refusal(address),
    lookup: (hostname, options, callback) => guard.lookup(hostname, options, callback),
    checkUrl: (url, field) => guard.checkUrl(url, field)
  }
  const send = createWebhookSender({ timeoutMs: 5000, outbound })
  t.teardown(() => send.close())
  t.same(await send(delivery(receiver.url, 'd1')), { ok: true, outcome: '200' })
  guard = createOutboundGuard({ allow: parseNetworks('') })
  t.same(await send(delivery(receiver.url, 'd2')), { ok: false, outcome: 'EOUTBOUNDREFUSED' }, 'checked before every delivery')
  t.same(receiver.attempts.map((a) => a.id), ['d1'])
})

t.test('a receiver that never answers, or sends a body without end, costs one timeout', async (t) => {
  const server = createServer((request, response) => {
    if (request.url === '/silent') return
    response.writeHead(200)
    const drip = setInterval(() => response.write('x'), 20)
    response.once('close', () => clearInterval(drip))
  })
  const connections = watchConnections(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as { port: number }
  const send = createWebhookSender({ timeoutMs: 300, outbound: allowing })
  t.teardown(() => send.close())
  t.same(await send(delivery(`http://127.0.0.1:${port}/silent`, 'd1')), { ok: false, outcome: 'ETIMEDOUT' })
  t.same(await send(delivery(`http://127.0.0.1:${port}/drip`, 'd2')), { ok: true, outcome: '200' }, 'the status counts; the body is not waited for')
  await connections.allClosed()
  t.pass('the endless body lost its connection at the deadline')
})

t.test('a URL that is not http or https is not sent', async (t) => {
  const send = createWebhookSender({ timeoutMs: 1000, outbound: allowing })
  t.teardown(() => send.close())
  t.same(await send(delivery('ftp://127.0.0.1/hook', 'd1')), { ok: false, outcome: 'EPROTOCOL' })
})

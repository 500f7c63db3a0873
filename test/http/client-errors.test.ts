import net from 'node:net'
import t from 'tap'
import { basic } from '../helpers/http'
import { startTestNode } from '../helpers/node'

t.test('431 for headers too large, in the error envelope', async (t) => {
  const { httpUrl } = await startTestNode(t)
  const response = await fetch(`${httpUrl}/health`, { headers: { 'x-big': 'h'.repeat(20_000) } })
  t.equal(response.status, 431)
  t.same(await response.json(), { code: 431, message: 'request headers are too large; send fewer or shorter headers', error: 'headers_too_large', data: null })
})

t.test('408 for a request not received in time, in the error envelope', async (t) => {
  const { node } = await startTestNode(t, { HTTP_REQUEST_TIMEOUT_MS: '500', HTTP_IDLE_TIMEOUT_MS: '600000' })
  const socket = net.connect(node.ports.http, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString() })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  socket.write(`POST /api/mqtt/call HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic('device/1')}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`)
  await closed
  t.match(received, /^HTTP\/1\.1 408 /)
  t.match(received, /"error":"request_timeout"/)
})

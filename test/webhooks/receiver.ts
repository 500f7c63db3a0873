import { createHmac, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { watchConnections, type ConnectionWatch } from '../push/connection-watch'

interface Teardown { teardown (fn: () => unknown): void }

/** One POST as the receiver saw it, its signature checked with the secret the test chose. */
export interface Attempt {
  id: string
  type: string
  body: { id: string, type: string, created_at: number, data: Record<string, any> }
  signatureValid: boolean
  signedAt: number
  answered: number
}

export interface Receiver {
  url: string
  port: number
  attempts: Attempt[]
  /** Resolves with the first attempt (past or future) that matches. */
  waitFor (match: (a: Attempt) => boolean, timeoutMs?: number): Promise<Attempt>
  /** Idle connections are never closed by this side: the node closes its own. */
  connections: ConnectionWatch
  close (): Promise<void>
}

/** Checks `t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` the way an integrator would. */
export function verifySignature (secret: string, header: string | undefined, raw: string): { valid: boolean, t: number } {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '')
  if (match === null) return { valid: false, t: 0 }
  const t = Number(match[1])
  const expected = createHmac('sha256', secret).update(`${t}.${raw}`).digest()
  return { valid: timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex')), t }
}

function readBody (request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = ''
    request.setEncoding('utf8')
    request.on('data', (chunk: string) => { raw += chunk })
    request.on('end', () => resolve(raw))
    request.on('error', reject)
  })
}

/**
 * A webhook receiver on a real port: `answer` picks the status of each attempt
 * (200 by default). `port` reuses a port, to bring back a receiver that was down.
 */
export async function startReceiver (t: Teardown, secret: string, answer: (a: Omit<Attempt, 'answered'>, attempts: Attempt[]) => number = () => 200, port = 0): Promise<Receiver> {
  const attempts: Attempt[] = []
  const waiters: Array<{ match: (a: Attempt) => boolean, resolve: (a: Attempt) => void }> = []
  const server: Server = createServer((request, response) => {
    readBody(request).then((raw) => {
      const signature = verifySignature(secret, request.headers['x-intercom-signature'] as string | undefined, raw)
      const seen = {
        id: String(request.headers['x-intercom-delivery']),
        type: String(request.headers['x-intercom-event']),
        body: JSON.parse(raw) as Attempt['body'],
        signatureValid: signature.valid,
        signedAt: signature.t
      }
      const attempt = { ...seen, answered: answer(seen, attempts) }
      attempts.push(attempt)
      response.writeHead(attempt.answered).end()
      for (const w of [...waiters]) {
        if (w.match(attempt)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(attempt)
        }
      }
    }).catch(() => response.writeHead(400).end())
  })
  server.keepAliveTimeout = 0
  const connections = watchConnections(server)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  const close = async (): Promise<void> => {
    if (!server.listening) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  t.teardown(close)
  return {
    url: `http://127.0.0.1:${address.port}/hook`,
    port: address.port,
    attempts,
    waitFor (match, timeoutMs = 15_000) {
      const past = attempts.find(match)
      if (past !== undefined) return Promise.resolve(past)
      return new Promise((resolve, reject) => {
        const waiter = { match, resolve: (a: Attempt) => { clearTimeout(timer); resolve(a) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          reject(new Error(`no matching webhook attempt within ${timeoutMs} ms; saw ${attempts.map((a) => `${a.type}:${a.answered}`).join(', ')}`))
        }, timeoutMs)
        waiters.push(waiter)
      })
    },
    connections,
    close
  }
}

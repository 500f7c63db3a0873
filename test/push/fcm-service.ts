import { createReceivedLog } from './received-log'
import { randomBytes, verify, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:https'
import { throwAwayCertificate } from './web-push-service'

interface Teardown { teardown (fn: () => unknown): void }

/** One message as the FCM stand-in received it, after checking its bearer. */
export interface FcmMessage {
  project: string
  bearerValid: boolean
  message: Record<string, any>
  answered: number
}

export interface FcmService {
  origin: string
  tokenUri: string
  certPath: string
  /** Assertions checked at the token endpoint, valid or not. */
  exchanges: Array<{ valid: boolean }>
  received: FcmMessage[]
  waitFor (match: (m: FcmMessage) => boolean, timeoutMs?: number): Promise<FcmMessage>
}

/** RFC 7523 assertion: RS256, our account as issuer, the messaging scope, this token endpoint as audience. */
function checkAssertion (assertion: string, publicKey: KeyObject, clientEmail: string, audience: string): boolean {
  const [head, claims, signature] = assertion.split('.') as [string, string, string]
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg: string }
  const body = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss: string, scope: string, aud: string, iat: number, exp: number }
  const now = Date.now() / 1000
  return verify('sha256', Buffer.from(`${head}.${claims}`), publicKey, Buffer.from(signature, 'base64url')) &&
    header.alg === 'RS256' && body.iss === clientEmail && body.aud === audience &&
    body.scope === 'https://www.googleapis.com/auth/firebase.messaging' && body.exp > now && body.exp - body.iat <= 3600
}

/**
 * An OAuth2 token endpoint and an FCM HTTP v1 endpoint on one HTTPS port: an
 * access token is issued only for a valid assertion, a send is accepted only with one.
 */
export async function startFcmService (t: Teardown, account: { publicKey: KeyObject, clientEmail: string }, answer: (token: string) => [number, string?] = () => [200]): Promise<FcmService> {
  const certificate = throwAwayCertificate(t)
  const issued = new Set<string>()
  const exchanges: Array<{ valid: boolean }> = []
  const log = createReceivedLog<FcmMessage>('FCM message', (all) => String(all.length), 20_000)
  const received = log.received
  let origin = ''
  const server = createServer({ key: certificate.key, cert: certificate.cert }, (request, response) => {
    let raw = ''
    request.setEncoding('utf8')
    request.on('data', (c: string) => { raw += c })
    request.on('end', () => {
      if (request.url === '/token') {
        const form = new URLSearchParams(raw)
        const valid = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer' &&
          checkAssertion(form.get('assertion') ?? '', account.publicKey, account.clientEmail, `${origin}/token`)
        exchanges.push({ valid })
        if (!valid) return response.writeHead(400).end('{"error":"invalid_grant"}')
        const token = `ya29.${randomBytes(16).toString('hex')}`
        issued.add(token)
        return response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }))
      }
      const project = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(request.url ?? '')?.[1]
      if (project === undefined) return response.writeHead(404).end()
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''
      const message = (JSON.parse(raw) as { message: Record<string, any> }).message
      const bearerValid = issued.has(bearer)
      const [status, body] = bearerValid ? answer(String(message.token)) : [401]
      const got = { project, bearerValid, message, answered: status }
      log.record(got)
      response.writeHead(status, { 'content-type': 'application/json' }).end(body ?? '{"name":"projects/p/messages/1"}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  origin = `https://127.0.0.1:${address.port}`
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return {
    origin,
    tokenUri: `${origin}/token`,
    certPath: certificate.certPath,
    exchanges,
    received,
    waitFor: log.waitFor
  }
}

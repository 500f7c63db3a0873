import { createReceivedLog } from './received-log'
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { once } from 'node:events'
import { constants, createSecureServer, type IncomingHttpHeaders } from 'node:http2'
import { throwAwayCertificate } from './web-push-service'

interface Teardown { teardown (fn: () => unknown): void }

/** One push as the APNs stand-in received it, its provider token checked. */
export interface ApnsPush {
  token: string
  headers: IncomingHttpHeaders
  tokenValid: boolean
  body: Record<string, any>
  answered: number
}

export interface ApnsService {
  host: string
  /** For NODE_EXTRA_CA_CERTS of the node under test. */
  certPath: string
  received: ApnsPush[]
  waitFor (match: (p: ApnsPush) => boolean, timeoutMs?: number): Promise<ApnsPush>
}

/** ES256 provider token: `{alg: ES256, kid}` `{iss, iat}`, signed by the team's key, issued within the hour. */
function checkToken (authorization: string | undefined, publicKey: KeyObject, keyId: string, teamId: string): boolean {
  const match = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/.exec(authorization ?? '')
  if (match === null) return false
  const [head, claims, signature] = [match[1] as string, match[2] as string, match[3] as string]
  const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg: string, kid: string }
  const body = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { iss: string, iat: number }
  const signed = verify('sha256', Buffer.from(`${head}.${claims}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  return signed && header.alg === 'ES256' && header.kid === keyId && body.iss === teamId && Math.abs(Date.now() / 1000 - body.iat) < 3600
}

/** An APNs stand-in: HTTP/2 over TLS, `POST /3/device/<token>`; `answer` gives each push's status and reason. */
export async function startApnsService (t: Teardown, team: { publicKey: KeyObject | string, keyId: string, teamId: string }, answer: (token: string) => [number, string?] = () => [200]): Promise<ApnsService> {
  const certificate = throwAwayCertificate(t)
  const publicKey = typeof team.publicKey === 'string' ? createPublicKey(team.publicKey) : team.publicKey
  const log = createReceivedLog<ApnsPush>('APNs push', (all) => all.map((p) => `${p.token.slice(0, 6)}:${String(p.body.type)}`).join(', '), 20_000)
  const received = log.received
  const server = createSecureServer({ key: certificate.key, cert: certificate.cert })
  server.on('stream', (stream, headers) => {
    let raw = ''
    stream.setEncoding('utf8')
    stream.on('data', (c: string) => { raw += c })
    stream.on('end', () => {
      const token = String(headers[constants.HTTP2_HEADER_PATH]).replace(/^\/3\/device\//, '')
      const [status, reason] = answer(token)
      const push: ApnsPush = { token, headers, tokenValid: checkToken(headers.authorization, publicKey, team.keyId, team.teamId), body: JSON.parse(raw) as Record<string, any>, answered: status }
      log.record(push)
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: status, 'content-type': 'application/json' })
      stream.end(reason === undefined ? '' : JSON.stringify({ reason }))
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return {
    host: `https://127.0.0.1:${address.port}`,
    certPath: certificate.certPath,
    received,
    waitFor: log.waitFor
  }
}

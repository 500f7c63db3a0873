import { watchConnections, type ConnectionWatch } from './connection-watch'
import { createReceivedLog } from './received-log'
import { spawnSync } from 'node:child_process'
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, globalAgent } from 'node:https'
import { tmpdir } from 'node:os'
import path from 'node:path'

interface Teardown { teardown (fn: () => unknown): void }

/** One push as the push service received it: VAPID checked, payload decrypted with the browser's key. */
export interface ReceivedPush {
  subscription: string
  headers: Record<string, string | string[] | undefined>
  vapid: { valid: boolean, audience: string, publicKey: string, expiresIn: number }
  payload: Record<string, any>
  answered: number
}

export interface BrowserSubscription {
  endpoint: string
  keys: { p256dh: string, auth: string }
}

export interface WebPushService {
  origin: string
  received: ReceivedPush[]
  /** What a browser's PushManager.subscribe() makes: its own key pair and auth secret, kept here to decrypt. */
  subscribe (name: string): BrowserSubscription
  waitFor (match: (p: ReceivedPush) => boolean, timeoutMs?: number): Promise<ReceivedPush>
  /** Idle connections are never closed by this side, as a push service may keep them: the node closes its own. */
  connections: ConnectionWatch
}

/** A throw-away certificate for 127.0.0.1, made with openssl; `certPath` is for NODE_EXTRA_CA_CERTS. */
export function throwAwayCertificate (t: Teardown): { key: Buffer, cert: Buffer, certPath: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'intercom-push-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const certPath = path.join(dir, 'cert.pem')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', certPath])
  if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr.toString()}`)
  return { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(certPath), certPath }
}

/** The certificate, trusted by this process's HTTPS client (which web-push uses), beside those of other stand-ins running. */
function trustedCertificate (t: Teardown): { key: Buffer, cert: Buffer } {
  const made = throwAwayCertificate(t)
  const previous = globalAgent.options.ca
  globalAgent.options.ca = [...(previous === undefined ? [] : [previous].flat()), made.cert]
  t.teardown(() => { globalAgent.options.ca = previous })
  return made
}

const b64u = (s: string) => Buffer.from(s, 'base64url')

/** RFC 8292: `Authorization: vapid t=<ES256 JWT>, k=<public key>`, checked as a push service does. */
function checkVapid (header: string | undefined, origin: string): ReceivedPush['vapid'] {
  const match = /^vapid t=([^,]+),\s*k=([A-Za-z0-9_-]+)$/.exec(header ?? '')
  if (match === null) return { valid: false, audience: '', publicKey: '', expiresIn: 0 }
  const [jwt, k] = [match[1] as string, match[2] as string]
  const [head, body, signature] = jwt.split('.') as [string, string, string]
  const point = b64u(k)
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33, 65).toString('base64url') }, format: 'jwk' })
  const signed = verify('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }, b64u(signature))
  const header0 = JSON.parse(b64u(head).toString()) as { alg: string }
  const claims = JSON.parse(b64u(body).toString()) as { aud: string, exp: number, sub: string }
  const expiresIn = claims.exp - Date.now() / 1000
  return {
    valid: signed && header0.alg === 'ES256' && claims.aud === origin && expiresIn > 0 && expiresIn <= 24 * 3600 && /^(mailto:|https:)/.test(claims.sub),
    audience: claims.aud,
    publicKey: k,
    expiresIn
  }
}

/** RFC 8291 `aes128gcm`, decrypted with the browser's private key and auth secret. */
function decrypt (body: Buffer, browser: { ecdh: ReturnType<typeof createECDH>, auth: Buffer }): Record<string, any> {
  const salt = body.subarray(0, 16)
  const idlen = body.readUInt8(20)
  const serverPublic = body.subarray(21, 21 + idlen)
  const record = body.subarray(21 + idlen)
  const shared = browser.ecdh.computeSecret(serverPublic)
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), browser.ecdh.getPublicKey(), serverPublic])
  const ikm = Buffer.from(hkdfSync('sha256', shared, browser.auth, info, 32))
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16))
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12))
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce)
  decipher.setAuthTag(record.subarray(record.length - 16))
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()])
  // the last record ends with the delimiter 0x02, then padding zeros
  let end = padded.length - 1
  while (end > 0 && padded[end] === 0) end--
  if (padded[end] !== 2) throw new Error('bad padding delimiter')
  return JSON.parse(padded.subarray(0, end).toString('utf8')) as Record<string, any>
}

/**
 * A Web Push service on a real HTTPS port. `answer` picks each push's status
 * (201 by default), per subscription name. Start it before the node: the node's
 * Web Push channel takes the process's trusted certificates when it is made.
 */
export async function startWebPushService (
  t: Teardown,
  answer: (subscription: string, received: ReceivedPush[]) => number = () => 201,
  /** When given, each push's answer waits until the test calls `release`. */
  hold?: (release: () => void) => void
): Promise<WebPushService> {
  const browsers = new Map<string, { ecdh: ReturnType<typeof createECDH>, auth: Buffer }>()
  const log = createReceivedLog<ReceivedPush>('push', (all) => all.map((p) => `${p.subscription}:${String(p.payload.type)}`).join(', '), 15_000)
  const received = log.received
  let origin = ''
  const server = createServer(trustedCertificate(t), (request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (c: Buffer) => chunks.push(c))
    request.on('end', () => {
      const name = (request.url ?? '').replace(/^\/push\//, '')
      const browser = browsers.get(name)
      let payload: Record<string, any> = {}
      try {
        if (browser !== undefined && request.headers['content-encoding'] === 'aes128gcm') payload = decrypt(Buffer.concat(chunks), browser)
      } catch {
        payload = { undecryptable: true }
      }
      const push = { subscription: name, headers: request.headers, vapid: checkVapid(request.headers.authorization, origin), payload, answered: 0 }
      push.answered = answer(name, received)
      log.record(push)
      if (hold === undefined) response.writeHead(push.answered).end()
      else hold(() => response.writeHead(push.answered).end())
    })
  })
  server.keepAliveTimeout = 0
  const connections = watchConnections(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  origin = `https://127.0.0.1:${address.port}`
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return {
    origin,
    received,
    subscribe (name) {
      const ecdh = createECDH('prime256v1')
      ecdh.generateKeys()
      const auth = randomBytes(16)
      browsers.set(name, { ecdh, auth })
      return { endpoint: `${origin}/push/${name}`, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } }
    },
    waitFor: log.waitFor,
    connections
  }
}

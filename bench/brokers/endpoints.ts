import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'

/** A local receiver that answers every POST at once and counts what arrived. */
export interface Receiver {
  readonly origin: string
  /** Requests received so far. */
  received (): number
  /** Resolves once no request arrived for quietMs, or at the deadline; the count then. */
  quiet (quietMs: number, timeoutMs: number): Promise<number>
  /** A file with the receiver's certificate, for the node's NODE_EXTRA_CA_CERTS (HTTPS only). */
  readonly certPath?: string
  close (): Promise<void>
}

function listen (server: http.Server, scheme: string, status: number, cleanup: () => void, certPath?: string): Promise<Receiver> {
  let count = 0
  let last = Date.now()
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume()
    req.on('end', () => {
      count++
      last = Date.now()
      res.writeHead(status).end()
    })
  })
  // Keep-alive sockets would hold close() up; the node reconnects as it needs.
  server.keepAliveTimeout = 5000
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({
        origin: `${scheme}://127.0.0.1:${port}`,
        received: () => count,
        async quiet (quietMs, timeoutMs) {
          const deadline = Date.now() + timeoutMs
          while (Date.now() - last < quietMs && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
          return count
        },
        ...(certPath === undefined ? {} : { certPath }),
        close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { cleanup(); resolve() }) })
      })
    })
  })
}

/**
 * A stand-in push service: HTTPS (web-push speaks nothing else) with a
 * throw-away certificate for 127.0.0.1, answering 201 as a push service
 * accepting a message does. It does not decrypt: the tests check the protocol,
 * the bench measures the node.
 */
export function pushService (): Promise<Receiver> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'intercom-bench-push-'))
  const certPath = path.join(dir, 'cert.pem')
  const keyPath = path.join(dir, 'key.pem')
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyPath, '-out', certPath])
  if (made.status !== 0) throw new Error(`openssl could not make a certificate for the push stand-in: ${made.stderr?.toString() ?? made.error?.message}`)
  const server = https.createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath) })
  return listen(server, 'https', 201, () => rmSync(dir, { recursive: true, force: true }), certPath)
}

/** A webhook receiver answering 200. */
export function webhookReceiver (): Promise<Receiver> {
  return listen(http.createServer(), 'http', 200, () => {})
}

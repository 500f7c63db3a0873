import { Agent as HttpAgent, request as httpRequest, type AgentOptions } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import { isIP } from 'node:net'
import type { OutboundGuard } from '../outbound/address-guard'
import { signatureHeader } from './signer'

export interface WebhookRequest {
  url: string
  secret: string
  id: string
  type: string
  body: string
}

/** How an attempt ended: `ok` for any 2xx. */
export interface AttemptResult {
  ok: boolean
  /** HTTP status, or the network error's code. */
  outcome: string
}

export type SendWebhook = (request: WebhookRequest) => Promise<AttemptResult>

/** A connection to a receiver idle this long is closed. */
const IDLE_MS = 30_000

function failure (code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code })
}

/**
 * One signed POST. Redirects are not followed (a service chose the URL, not
 * where it points to) and the response body is never read, only drained.
 *
 * Connections are kept alive and opened through the outbound guard's lookup:
 * the address a name resolves to is checked and connected to in one step, so
 * no second lookup can swap it for a refused one. An address in the URL is
 * checked before every attempt. `close()` ends the kept connections.
 */
export function createWebhookSender (options: { timeoutMs: number, now?: () => number, outbound?: OutboundGuard }): SendWebhook & { close (): void } {
  const now = options.now ?? Date.now
  const { outbound } = options
  const agentOptions: AgentOptions = { keepAlive: true, timeout: IDLE_MS, ...(outbound === undefined ? {} : { lookup: outbound.lookup }) }
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) }

  function post (url: URL, request: WebhookRequest): Promise<number> {
    const secure = url.protocol === 'https:'
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(request.body),
          'user-agent': 'intercom-broker-webhooks',
          'x-intercom-event': request.type,
          'x-intercom-delivery': request.id,
          'x-intercom-signature': signatureHeader(request.secret, request.body, Math.floor(now() / 1000))
        }
      }, (response) => {
        resolve(response.statusCode ?? 0)
        // Drained within the same deadline: a receiver that streams a body forever loses its connection.
        response.resume()
        response.once('end', () => clearTimeout(deadline))
      })
      const deadline = setTimeout(() => req.destroy(failure('ETIMEDOUT', `no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
      req.once('error', (err) => {
        clearTimeout(deadline)
        reject(err)
      })
      req.end(request.body)
    })
  }

  const send: SendWebhook = async (request) => {
    try {
      const url = new URL(request.url)
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw failure('EPROTOCOL', `${url.protocol} is not http: or https:`)
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
      // An address is not looked up, so it is checked here; a name is checked by the agent's lookup, at connect.
      const refused = outbound === undefined || isIP(host) === 0 ? null : outbound.refusal(host)
      if (refused !== null) throw failure('EOUTBOUNDREFUSED', refused)
      const status = await post(url, request)
      return { ok: status >= 200 && status < 300, outcome: String(status) }
    } catch (err) {
      return { ok: false, outcome: (err as NodeJS.ErrnoException).code ?? (err as Error).name }
    }
  }
  return Object.assign(send, {
    close () {
      agents.http.destroy()
      agents.https.destroy()
    }
  })
}

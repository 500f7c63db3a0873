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

/**
 * The URL's host, as an address or through every address its name has now:
 * a name that has come to point to this host or a private network is refused.
 */
async function checkDestination (outbound: OutboundGuard, url: string): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
  const reason = isIP(host) !== 0
    ? outbound.refusal(host)
    : await new Promise<string | null>((resolve) => {
      outbound.lookup(host, { all: true }, (err) => resolve(err === null ? null : err.message))
    })
  if (reason !== null) throw Object.assign(new Error(reason), { cause: { code: 'EOUTBOUNDREFUSED' } })
}

/**
 * One signed POST. Redirects are not followed (a service chose the URL, not
 * where it points to) and the response body is never read.
 */
export function createWebhookSender (options: { timeoutMs: number, now?: () => number, outbound?: OutboundGuard }): SendWebhook {
  const now = options.now ?? Date.now
  const { outbound } = options
  return async (request) => {
    try {
      if (outbound !== undefined) await checkDestination(outbound, request.url)
      const response = await fetch(request.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'intercom-broker-webhooks',
          'x-intercom-event': request.type,
          'x-intercom-delivery': request.id,
          'x-intercom-signature': signatureHeader(request.secret, request.body, Math.floor(now() / 1000))
        },
        body: request.body
      })
      await response.body?.cancel()
      return { ok: response.status >= 200 && response.status < 300, outcome: String(response.status) }
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      return { ok: false, outcome: cause?.code ?? (err as Error).name }
    }
  }
}
